package config_test

import (
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge/config"
)

// The slack: section: secrets from the environment, strict checks of every
// id, and a section without a signing secret refused.
func TestSlackConfig(t *testing.T) {
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5", "SLACK_BOT_TOKEN": "xoxb-1-2-abc"}[k]
		return v, ok
	}
	good := "slack:\n  signing_secret: ${SLACK_SIGNING_SECRET}\n  bot_token: ${SLACK_BOT_TOKEN}\n  team_id: T0123ABCD\n  app_id: A0123ABCD\n"
	cfg, err := config.Parse("drawbridge.yaml", []byte(good+"  email_domains: [example.com]\n  approval_channel: C0APPROVALS\n"), env)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Slack; !s.Enabled() || s.SigningSecret != "8f742231b10e8888abcd99yyyzzz85a5" || s.BotToken != "xoxb-1-2-abc" ||
		s.Command != "/boundary" || s.EmailDomains[0] != "example.com" || s.ApprovalChannel != "C0APPROVALS" {
		t.Errorf("parsed %+v", s)
	}
	if cfg, err := config.Parse("drawbridge.yaml", []byte("server:\n  listen: 127.0.0.1:9\n"), env); err != nil || cfg.Slack.Enabled() {
		t.Errorf("no slack section: %v, enabled %v", err, cfg.Slack.Enabled())
	}
	for src, want := range map[string]string{
		"slack:\n  team_id: T0123ABCD\n":                         "slack: signing_secret is missing",
		"slack:\n  signing_secret: ${NOPE}\n":                    "NOPE",
		good + "  signing_secret_typo: x\n":                      "signing_secret_typo",
		strings.Replace(good, "T0123ABCD", "t0123", 1):           `slack.team_id "t0123"`,
		strings.Replace(good, "A0123ABCD", "", 1):                `slack.app_id ""`,
		strings.Replace(good, "${SLACK_BOT_TOKEN}", "xoxp-1", 1): "slack.bot_token: give the app's bot token (xoxb-",
		good + "  enterprise_id: grid\n":                         `slack.enterprise_id "grid"`,
		good + "  command: boundary\n":                           `slack.command "boundary"`,
		good + "  approval_channel: '#approvals'\n":              `slack.approval_channel "#approvals"`,
		good + "  email_domains: ['@example.com']\n":             `slack.email_domains[0] "@example.com"`,
		good + "  email_domains: [Example.COM]\n":                `slack.email_domains[0] "Example.COM"`,
		good + "notify:\n  - {kind: log, name: slack}\n":         "notify[0]: the name slack is the Slack channel's own notifier",
		good + "  access_url: http://portal\n":                   `slack.access_url "http://portal"`,
		good + "  next_signing_secret: short\n":                  "slack.next_signing_secret: a Slack signing secret is at least 16",
	} {
		if _, err := config.Parse("drawbridge.yaml", []byte(src), env); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}

// slack.mode: socket takes an app-level token instead of needing a
// signing secret; the token is refused in HTTP mode and required in
// socket mode, and an unknown mode is named.
func TestSlackSocketModeConfig(t *testing.T) {
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"SLACK_APP_TOKEN": "xapp-1-A0123ABCD-1-abc", "SLACK_BOT_TOKEN": "xoxb-1-2-abc"}[k]
		return v, ok
	}
	socket := "slack:\n  mode: socket\n  app_token: ${SLACK_APP_TOKEN}\n  bot_token: ${SLACK_BOT_TOKEN}\n  team_id: T0123ABCD\n  app_id: A0123ABCD\n"
	cfg, err := config.Parse("drawbridge.yaml", []byte(socket), env)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Slack; !s.Enabled() || !s.SocketMode() || s.AppToken != "xapp-1-A0123ABCD-1-abc" || s.SigningSecret != "" {
		t.Errorf("parsed %+v", s)
	}
	for src, want := range map[string]string{
		strings.Replace(socket, "  app_token: ${SLACK_APP_TOKEN}\n", "", 1): "slack.app_token: Socket Mode needs the app-level token (xapp-…",
		strings.Replace(socket, "${SLACK_APP_TOKEN}", "xoxb-1-2", 1):        "slack.app_token: Socket Mode needs the app-level token (xapp-…",
		strings.Replace(socket, "mode: socket", "mode: websocket", 1):       `slack.mode "websocket": give http (Slack calls /slack/commands, /slack/interactions and /slack/events) or socket`,
		strings.Replace(socket, "mode: socket", "mode: http", 1):            "slack.app_token is used only with mode: socket",
	} {
		if _, err := config.Parse("drawbridge.yaml", []byte(src), env); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}
