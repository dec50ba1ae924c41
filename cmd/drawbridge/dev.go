package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/oidc"
	idpemulator "github.com/drawbridge-jit/drawbridge/oidc/emulator"
	slackemu "github.com/drawbridge-jit/drawbridge/slack/emulator"
	"github.com/drawbridge-jit/drawbridge/webhook"
	"github.com/spf13/cobra"
)

// devToken is one of dev mode's fixed tokens. They are documented in
// docs/server.md so that the README's curl examples work as written; they
// are only ever inserted by `drawbridge dev`, which listens on loopback.
type devToken struct {
	role, principal, secret string
	roles                   []drawbridge.Role
	accounts, sets          []string
}

var devTokens = []devToken{
	{"requester", "alice@example.com", "dbt_dev_requester_alice", []drawbridge.Role{drawbridge.RoleRequester}, nil, nil},
	{"approver", "carol@example.com", "dbt_dev_approver_carol", []drawbridge.Role{drawbridge.RoleApprover}, []string{"*"}, []string{"*"}},
	{"auditor", "auditor@example.com", "dbt_dev_auditor", []drawbridge.Role{drawbridge.RoleAuditor}, []string{"*"}, []string{"*"}},
	{"admin", "admin@example.com", "dbt_dev_admin", []drawbridge.Role{drawbridge.RoleAdmin}, nil, nil},
	{"auditor-staging", "staging-auditor@example.com", "dbt_dev_auditor_staging", []drawbridge.Role{drawbridge.RoleAuditor},
		[]string{"123456789012"}, []string{"ReadOnlyAccess", "PowerUserAccess"}},
}

func devCmd(g *globals) *cobra.Command {
	var listen, data string
	var sl devSlack
	c := &cobra.Command{
		Use:   "dev [--listen 127.0.0.1:8080] [--data DIR]",
		Short: "Zero-config development server: embedded store, Identity Center emulator, sample policy, fixed tokens",
		Long: `dev runs the full server (API, expiry engine, metrics) with no configuration: a SQLite
store in a temporary directory (or --data, kept between runs), the IAM Identity Center
emulator in-process, the example directory and policy, and fixed, documented tokens:

  requester        alice@example.com            dbt_dev_requester_alice
  approver         carol@example.com            dbt_dev_approver_carol
  auditor          auditor@example.com          dbt_dev_auditor
  admin            admin@example.com            dbt_dev_admin
  auditor-staging  staging-auditor@example.com  dbt_dev_auditor_staging

The Slack endpoints (POST /slack/commands, /webhook) are on too, as the command /boundary,
with a signing secret dev generates and prints (or --slack-signing-secret); they accept any
workspace unless --slack-team names one, and a loopback Slack Web API records what would
have been posted (GET <its URL>/calls).

Because those tokens are public, dev listens on loopback only.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if !isLoopback(listen) {
				return usageError("--listen %s: dev mode's tokens are public, so it listens on loopback only (127.0.0.1:PORT or [::1]:PORT)", listen)
			}
			return runDev(c.Context(), g, listen, data, sl)
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "loopback address to listen on")
	c.Flags().StringVar(&data, "data", "", "directory for the store and generated config (default: a temporary directory removed at exit)")
	c.Flags().StringVar(&sl.secret, "slack-signing-secret", "", "the Slack signing secret to accept (default: generated and printed)")
	c.Flags().StringVar(&sl.team, "slack-team", "", "accept Slack requests from this workspace id (T…) only (default: any)")
	return c
}

// devSlack are dev mode's Slack flags.
type devSlack struct{ secret, team string }

func runDev(ctx context.Context, g *globals, listen, dir string, sl devSlack) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "drawbridge-dev-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	emu, cfgPath, err := startSandbox(dir, emulator.SandboxOptions().Delay)
	if err != nil {
		return err
	}
	defer emu.Close()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	cfg.Server.Listen = listen
	cfg.API.AllowWildcardScopes = true
	hooks, err := startDevReceivers(cfg, g.stdout)
	if err != nil {
		return err
	}
	defer hooks.Close()
	slackAPI, err := slackemu.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer slackAPI.Close()
	if sl.secret == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		sl.secret = hex.EncodeToString(b)
	}
	cfg.Slack = config.Slack{SigningSecret: sl.secret, BotToken: "xoxb-drawbridge-dev", TeamID: sl.team, Command: "/boundary",
		ApprovalChannel: "C0APPROVALS",
		APIURL:          slackAPI.APIURL(), ResponseURLPrefix: slackAPI.URL() + "/", AnyWorkspace: sl.team == ""}
	idp, err := startDevIdP(cfg)
	if err != nil {
		return err
	}
	defer idp.Close()
	setup := func(a *app) error { return insertDevTokens(ctx, a) }
	return runServer(ctx, cfg, newLogger(g.stderr), serverHooks{setup: setup, ready: func(a *app, addr net.Addr) {
		w := g.stdout
		fmt.Fprintf(w, "drawbridge dev: http://%s  (store %s, emulator %s)\n", addr, cfg.Store.Redacted(), emu.URL())
		for _, r := range hooks.receivers {
			fmt.Fprintf(w, "webhook provider %s: receiver %s prints every event it receives\n", r.name, r.url)
		}
		fmt.Fprintf(w, "sign in: http://%s%s  (identity provider %s: pick a sample user)\n", addr, oidc.LoginPath, idp.Issuer())
		fmt.Fprintf(w, "tokens (fixed, for development only):\n")
		for _, t := range devTokens {
			fmt.Fprintf(w, "%-16s %-28s %s\n", t.role, t.principal, t.secret)
		}
		fmt.Fprintf(w, "try:\n  curl -s -H 'Authorization: Bearer dbt_dev_requester_alice' -H 'Content-Type: application/json' -d '{\"account_id\":\"123456789012\",\"permission_set\":\"ReadOnlyAccess\",\"duration\":\"1h\"}' http://%s/v1/requests\n", addr)
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer dbt_dev_requester_alice' -H 'Content-Type: application/json' -d '{\"provider\":\"hooks\",\"resource\":\"payroll-db\",\"role\":\"reader\",\"duration\":\"30m\"}' http://%s/v1/requests\n", addr)
		fmt.Fprintf(w, "  export DRAWBRIDGE_ADDR=http://%s DRAWBRIDGE_TOKEN=dbt_dev_requester_alice\n", addr)
		fmt.Fprintf(w, "slack: POST http://%s/slack/commands (command /boundary), signing secret %s, Web API %s (GET /calls)\n", addr, sl.secret, slackAPI.URL())
		fmt.Fprintf(w, "  body='user_id=U12345678&command=/boundary&text=123456789012+ReadOnlyAccess+0.5'; ts=$(date +%%s)\n")
		fmt.Fprintf(w, "  sig=$(printf 'v0:%%s:%%s' \"$ts\" \"$body\" | openssl dgst -sha256 -hmac %s | sed 's/^.* //')\n", sl.secret)
		fmt.Fprintf(w, "  curl -s -H \"X-Slack-Request-Timestamp: $ts\" -H \"X-Slack-Signature: v0=$sig\" --data \"$body\" http://%s/slack/commands\n", addr)
		fmt.Fprintf(w, "Ctrl-C to stop.\n")
	}})
}

// refuseDevTokens stops serve on a store that still holds dev mode's
// fixed tokens (a store made by `dev --data` and then served for real):
// their secrets are published, so anyone could use them. The error gives
// the exact commands that revoke them.
func refuseDevTokens(ctx context.Context, a *app) error {
	var cmds []string
	for _, d := range devTokens {
		t, err := a.db.TokenByHash(ctx, drawbridge.HashTokenSecret(d.secret))
		if drawbridge.ErrorCode(err) == drawbridge.ENOTFOUND {
			continue
		}
		if err != nil {
			return err
		}
		if t.Active(time.Now()) {
			cmds = append(cmds, fmt.Sprintf("drawbridge --config %s token revoke %s", shellQuote(a.cfg.Path), t.ID))
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	return &exitError{code: exitRuntime, err: fmt.Errorf(
		"the store %s holds %d of drawbridge dev's fixed tokens (dbt_dev_…, published in the docs, so anyone can use them); serve refuses to start until they are revoked: %s",
		a.cfg.Store.Redacted(), len(cmds), strings.Join(cmds, " && "))}
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:@,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// insertDevTokens stores the fixed tokens unless a previous run (--data)
// already did.
func insertDevTokens(ctx context.Context, a *app) error {
	for _, d := range devTokens {
		hash := drawbridge.HashTokenSecret(d.secret)
		if _, err := a.db.TokenByHash(ctx, hash); err == nil {
			continue
		}
		t := &drawbridge.Token{ID: drawbridge.NewTokenID(), Principal: d.principal, Roles: d.roles,
			Scope: drawbridge.Scope{Resources: d.accounts, Roles: d.sets}, Description: "drawbridge dev fixed token",
			Hash: hash, CreatedAt: time.Now().UTC()}
		if err := a.db.CreateToken(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// devReceivers are the loopback receivers dev runs for its webhook
// providers, so that a grant through one shows what a real receiver would
// get.
type devReceivers struct {
	receivers []devReceiver
}

type devReceiver struct {
	name, url string
	srv       *http.Server
}

// startDevReceivers starts a receiver on a free loopback port for every
// webhook provider of cfg and points the provider at it. Each prints the
// events it receives, once their signature is verified, on w.
func startDevReceivers(cfg *config.Config, w io.Writer) (*devReceivers, error) {
	out := &devReceivers{}
	var mu sync.Mutex
	for _, name := range cfg.Providers.Names() {
		pc := cfg.Providers[name]
		if pc.Kind != "webhook" {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			out.Close()
			return nil, err
		}
		r := devReceiver{name: name, url: "http://" + ln.Addr().String() + "/drawbridge",
			srv: serveHooksReceiver(ln, name, pc.Webhook.SigningSecrets(), w, &mu)}
		pc.Webhook.URL = r.url
		out.receivers = append(out.receivers, r)
	}
	return out, nil
}

// serveHooksReceiver serves a webhook receiver on ln that prints each
// event it verifies with secrets as one line on w (mu serialises the
// writers sharing w); the caller closes the returned server.
func serveHooksReceiver(ln net.Listener, name string, secrets [][]byte, w io.Writer, mu *sync.Mutex) *http.Server {
	rc := &webhook.Receiver{Secrets: secrets, Handle: func(_ context.Context, ev webhook.Event) error {
		until := "(no end)"
		if ev.ExpiresAt != nil {
			until = "until " + ev.ExpiresAt.Format(time.RFC3339)
		}
		line := fmt.Sprintf("%s receiver: %s %s/%s for %s %s (%s), signature ok", name, ev.Type, ev.Resource, ev.Role, ev.Principal.ID, until, ev.RequestID)
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(w, drawbridge.Printable(line))
		return nil
	}}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv
}

// Close stops the receivers.
func (d *devReceivers) Close() {
	for _, r := range d.receivers {
		r.srv.Close()
	}
}

// startDevIdP starts the in-process identity provider with the sample
// directory's people (their e-mail verified, their directory groups as a
// groups claim) and points cfg's sign-in at it: people are matched by
// their verified e-mail on the directory's domains, everyone signed in is
// a requester, sre-leads approve and audit, and the managed group oncall
// (from the groups claim) approves.
func startDevIdP(cfg *config.Config) (*idpemulator.Server, error) {
	var users []idpemulator.User
	var domains []string
	for _, u := range cfg.Directory.Users {
		users = append(users, idpemulator.User{Subject: u.Email, Email: u.Email, Name: u.Name,
			Claims: map[string]any{"email_verified": true, "groups": u.Groups}})
		if d := strings.ToLower(u.Email[strings.LastIndexByte(u.Email, '@')+1:]); !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	idp, err := idpemulator.Start("drawbridge-dev", hex.EncodeToString(secret), users)
	if err != nil {
		return nil, err
	}
	cfg.OIDC = &config.OIDC{Issuer: idp.Issuer(), ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
		SigningAlgorithms: []string{"RS256"}, Scopes: []string{"openid", "profile", "email"}, EmailDomains: domains,
		SessionIdleTimeout: config.Duration(30 * time.Minute), SessionAbsoluteTimeout: config.Duration(12 * time.Hour),
		StepUpWindow: config.Duration(5 * time.Minute)}
	if len(cfg.Roles) == 0 {
		cfg.Roles = []config.RoleBinding{
			{Members: []string{"*"}, Roles: []string{"requester"}},
			{Members: []string{"group:sre-leads"}, Roles: []string{"approver", "auditor"}},
			{Members: []string{"group:oncall"}, Roles: []string{"approver"}},
		}
	}
	if len(cfg.ManagedGroups.Groups) == 0 {
		// A managed group from the provider's groups claim: put someone in
		// it at the provider with PUT <issuer>/users/<email>/groups ["oncall"].
		cfg.ManagedGroups = config.ManagedGroups{ValidFor: config.Duration(time.Hour),
			Groups: []config.ManagedGroup{{Name: "oncall", Filter: `"oncall" in "/token/groups"`}}}
	}
	return idp, nil
}
