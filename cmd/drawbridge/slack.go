package main

import (
	"log/slog"

	slackapi "github.com/slack-go/slack"

	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/slack"
)

// slackHandler wires the Slack channel from cfg.Slack onto the app's
// broker, with the store's replay memory and the server's metrics.
func slackHandler(a *app, cfg config.Slack, logger *slog.Logger) *slack.Handler {
	secrets := []string{cfg.SigningSecret}
	if cfg.NextSigningSecret != "" {
		secrets = append(secrets, cfg.NextSigningSecret)
	}
	var opts []slackapi.Option
	if cfg.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(cfg.APIURL))
	}
	h := &slack.Handler{
		Broker:            a.broker,
		Verifier:          &slack.Verifier{Secrets: secrets, Clock: clock.Real{}, Replay: a.db},
		Workspace:         slack.Workspace{TeamID: cfg.TeamID, AppID: cfg.AppID, EnterpriseID: cfg.EnterpriseID},
		API:               slackapi.New(cfg.BotToken, opts...),
		EmailDomains:      cfg.EmailDomains,
		Command:           cfg.Command,
		ApprovalChannel:   cfg.ApprovalChannel,
		Clock:             clock.Real{},
		Logger:            logger,
		ResponseURLPrefix: cfg.ResponseURLPrefix,
	}
	if cfg.AnyWorkspace {
		h.Workspace = slack.Workspace{}
	}
	if a.metrics != nil {
		h.OnReject = a.metrics.SlackRejected
	}
	// What runs after Slack was answered ends before the store closes.
	a.closers = append(a.closers, func() error { h.Wait(); return nil })
	return h
}
