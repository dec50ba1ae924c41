package config

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/drawbridge-jit/drawbridge"
)

// Slack configures the Slack channel (docs/slack-setup.md). It is on when
// signing_secret is set (HTTP endpoints) or mode is socket; then team_id,
// app_id and bot_token are required, so that no request from another
// workspace or app is ever served.
type Slack struct {
	// Mode is how Slack reaches Drawbridge: "http" (the default; Slack
	// posts to /slack/commands, /slack/interactions and /slack/events) or
	// "socket" (Drawbridge opens a WebSocket to Slack with AppToken, for
	// deployments that cannot expose a URL to the internet).
	Mode string `yaml:"mode"`
	// AppToken is the app-level token (xapp-…, Basic Information →
	// App-Level Tokens, scope connections:write) Socket Mode connects with.
	AppToken string `yaml:"app_token"`
	// SigningSecret is the app's signing secret (Basic Information →
	// App Credentials); write it as ${SLACK_SIGNING_SECRET}.
	SigningSecret string `yaml:"signing_secret"`
	// NextSigningSecret is accepted beside SigningSecret while the app's
	// secret is being rotated.
	NextSigningSecret string `yaml:"next_signing_secret"`
	// BotToken (xoxb-…) calls Slack's Web API: users.info for e-mail
	// mapping, and the messages Drawbridge posts.
	BotToken string `yaml:"bot_token"`
	// TeamID, AppID and EnterpriseID are the workspace (T…), the app
	// (A…) and, on Enterprise Grid, the organisation (E…) whose requests
	// are served; any other is refused and audited.
	TeamID       string `yaml:"team_id"`
	AppID        string `yaml:"app_id"`
	EnterpriseID string `yaml:"enterprise_id"`
	// ApprovalChannel is the channel (its id, C…) where requests waiting
	// for approval are posted with Approve and Deny buttons; invite the
	// app there. Without it no approval messages are posted.
	ApprovalChannel string `yaml:"approval_channel"`
	// AccessURL is where people use granted access (the AWS access
	// portal), put in the DM that says access is active.
	AccessURL string `yaml:"access_url"`
	// Command is the slash command's name as configured in the app
	// (default /boundary), shown in help and error messages.
	Command string `yaml:"command"`
	// EmailDomains, when set, map a Slack user without a linked identity
	// through the e-mail Slack reports (users.info, scope
	// users:read.email) — only addresses on these domains. This trusts
	// the workspace's admins, who can change members' e-mails.
	EmailDomains []string `yaml:"email_domains"`

	// Set by drawbridge dev only, never from the file: its loopback Web
	// API, where response_url may point, and no workspace check.
	APIURL            string `yaml:"-"`
	ResponseURLPrefix string `yaml:"-"`
	AnyWorkspace      bool   `yaml:"-"`
}

// Modes of the Slack channel.
const (
	SlackHTTP   = "http"
	SlackSocket = "socket"
)

// Enabled reports whether the Slack channel is configured.
func (s Slack) Enabled() bool { return s.SigningSecret != "" || s.SocketMode() }

// SocketMode reports whether Slack is served over Socket Mode.
func (s Slack) SocketMode() bool { return s.Mode == SlackSocket }

// HTTPEndpoints reports whether Slack's HTTP endpoints are served: they
// need the signing secret, in either mode.
func (s Slack) HTTPEndpoints() bool { return s.SigningSecret != "" }

var (
	slackTeamID       = regexp.MustCompile(`^T[A-Z0-9]{2,20}$`)
	slackAppID        = regexp.MustCompile(`^A[A-Z0-9]{2,20}$`)
	slackEnterpriseID = regexp.MustCompile(`^E[A-Z0-9]{2,20}$`)
	slackChannel      = regexp.MustCompile(`^[CG][A-Z0-9]{2,20}$`)
	slackCommand      = regexp.MustCompile(`^/[a-z0-9_-]{1,31}$`)
	emailDomain       = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
)

func (c *Config) validateSlack(add func(format string, args ...any)) {
	s := c.Slack
	switch s.Mode {
	case "", SlackHTTP, SlackSocket:
	default:
		add("slack.mode %q: give http (Slack calls /slack/commands, /slack/interactions and /slack/events) or socket (Drawbridge connects to Slack with app_token)", s.Mode)
	}
	switch {
	case s.SocketMode() && !strings.HasPrefix(s.AppToken, "xapp-"):
		add("slack.app_token: Socket Mode needs the app-level token (xapp-…, Basic Information → App-Level Tokens, scope connections:write), e.g. app_token: ${SLACK_APP_TOKEN}")
	case !s.SocketMode() && s.AppToken != "":
		add("slack.app_token is used only with mode: socket; add mode: socket, or remove app_token")
	}
	if !s.Enabled() {
		if s.BotToken != "" || s.ApprovalChannel != "" || s.TeamID != "" || s.AppID != "" || s.EnterpriseID != "" || len(s.EmailDomains) > 0 || s.NextSigningSecret != "" {
			add("slack: signing_secret is missing: the Slack channel needs the app's signing secret (write signing_secret: ${SLACK_SIGNING_SECRET}) or Socket Mode (mode: socket with app_token), or remove the slack: section")
		}
		return
	}
	for key, v := range map[string]string{"signing_secret": s.SigningSecret, "next_signing_secret": s.NextSigningSecret} {
		if v != "" && (len(v) < 16 || strings.ContainsAny(v, " \t\r\n")) {
			add("slack.%s: a Slack signing secret is at least 16 characters without spaces (Basic Information → App Credentials → Signing Secret)", key)
		}
	}
	if !strings.HasPrefix(s.BotToken, "xoxb-") {
		add("slack.bot_token: give the app's bot token (xoxb-…, OAuth & Permissions), e.g. bot_token: ${SLACK_BOT_TOKEN}")
	}
	if !slackTeamID.MatchString(s.TeamID) {
		add("slack.team_id %q: give the workspace id (T…, e.g. T0123ABCD): requests from any other workspace are refused", s.TeamID)
	}
	if !slackAppID.MatchString(s.AppID) {
		add("slack.app_id %q: give the app's id (A…, Basic Information → App ID): requests for any other app are refused", s.AppID)
	}
	if s.EnterpriseID != "" && !slackEnterpriseID.MatchString(s.EnterpriseID) {
		add("slack.enterprise_id %q: give the Enterprise Grid organisation id (E…), or leave it out", s.EnterpriseID)
	}
	if s.ApprovalChannel != "" && !slackChannel.MatchString(s.ApprovalChannel) {
		add("slack.approval_channel %q: give the channel's id (C…, channel details → About), not its name", s.ApprovalChannel)
	}
	if s.AccessURL != "" {
		if u, err := url.Parse(s.AccessURL); err != nil || u.Scheme != "https" || u.Host == "" {
			add("slack.access_url %q: give the https URL where people use their access, e.g. https://example.awsapps.com/start", s.AccessURL)
		}
	}
	if !slackCommand.MatchString(s.Command) {
		add("slack.command %q: give the slash command as configured in the app, e.g. /boundary", s.Command)
	}
	for i, n := range c.Notify {
		if n.Name == "slack" {
			add("notify[%d]: the name slack is the Slack channel's own notifier (its delivery cursor): give this notifier another name", i)
		}
	}
	for i, d := range s.EmailDomains {
		if !emailDomain.MatchString(d) || drawbridge.CheckID("domain", d) != nil {
			add("slack.email_domains[%d] %q: give a lower-case domain such as example.com (no @, ASCII, the xn-- form of an international domain)", i, d)
		}
	}
}
