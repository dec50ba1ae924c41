package main

import (
	"log/slog"

	slackapi "github.com/slack-go/slack"

	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/notify"
	"github.com/drawbridge-jit/drawbridge/slack"
)

// slackHandler wires the Slack channel from cfg.Slack onto the app's
// broker, with the store's replay memory and the server's metrics, and
// adds its notifier (approval messages, their updates, DMs) to the app's
// delivery workers, woken by the broker's writes like the others.
func slackHandler(a *app, cfg config.Slack, publicURL string, logger *slog.Logger) *slack.Handler {
	var secrets []string
	for _, s := range []string{cfg.SigningSecret, cfg.NextSigningSecret} {
		if s != "" {
			secrets = append(secrets, s)
		}
	}
	var opts []slackapi.Option
	if cfg.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(cfg.APIURL))
	}
	if cfg.SocketMode() {
		// apps.connections.open takes the app-level token; every other
		// call the bot token.
		opts = append(opts, slackapi.OptionAppLevelToken(cfg.AppToken))
	}
	h := &slack.Handler{
		Broker:            a.broker,
		Verifier:          &slack.Verifier{Secrets: secrets, Clock: clock.Real{}, Replay: a.db},
		Workspace:         slack.Workspace{TeamID: cfg.TeamID, AppID: cfg.AppID, EnterpriseID: cfg.EnterpriseID},
		API:               slackapi.New(cfg.BotToken, opts...),
		EmailDomains:      cfg.EmailDomains,
		Command:           cfg.Command,
		ApprovalChannel:   cfg.ApprovalChannel,
		DashboardURL:      publicURL,
		AccessURL:         cfg.AccessURL,
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
	w := &notify.Worker{Name: "slack", Notifier: h, Store: a.store, Clock: clock.Real{}, Logger: logger, Holder: notify.NewHolder() + "/slack"}
	if a.metrics != nil {
		a.metrics.NotifierConfigured(w.Name)
		w.OnDelivery, w.OnLag = a.metrics.NotifyDelivery, a.metrics.NotifyLag
	}
	a.notifiers = append(a.notifiers, w)
	a.broker.Store = notify.Wake(a.broker.Store, w.Wake)
	// What runs after Slack was answered ends before the store closes.
	a.closers = append(a.closers, func() error { h.Wait(); return nil })
	return h
}
