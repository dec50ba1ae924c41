package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/user"
	"slices"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/boundary"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/catalog"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/directory"
	"github.com/drawbridge-jit/drawbridge/entra"
	"github.com/drawbridge-jit/drawbridge/expiry"
	"github.com/drawbridge-jit/drawbridge/metrics"
	"github.com/drawbridge-jit/drawbridge/notify"
	"github.com/drawbridge-jit/drawbridge/oidc"
	"github.com/drawbridge-jit/drawbridge/okta"
	"github.com/drawbridge-jit/drawbridge/policy"
	"github.com/drawbridge-jit/drawbridge/postgres"
	"github.com/drawbridge-jit/drawbridge/sqlite"
	"github.com/drawbridge-jit/drawbridge/webhook"
)

// loadConfig finds the config: --config, then DRAWBRIDGE_CONFIG, then
// ./drawbridge.yaml.
func (g *globals) loadConfig() (*config.Config, error) {
	path := g.configPath
	if path == "" {
		path = os.Getenv("DRAWBRIDGE_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat(config.DefaultFile); err == nil {
			path = config.DefaultFile
		}
	}
	if path == "" {
		return nil, &exitError{code: exitUsage, err: errors.New("no config: pass --config FILE, set DRAWBRIDGE_CONFIG, or run in a directory with drawbridge.yaml (examples/drawbridge.yaml is a starting point; 'drawbridge demo' needs none)")}
	}
	cfg, err := config.Load(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("config file %s does not exist", path)}
		}
		return nil, &exitError{code: exitUsage, err: err}
	}
	return cfg, nil
}

// app is a wired Drawbridge.
type app struct {
	cfg    *config.Config
	store  drawbridge.Store   // the broker's, decorated with metrics in serve
	db     drawbridge.Backend // the same store undecorated: tokens, counts, readiness
	broker *broker.Broker
	engine *expiry.Engine
	logger *slog.Logger
	// metrics is set when wireOptions.metrics asked for it (serve, dev).
	metrics *metrics.Metrics
	// aws is the AWS provider, unwrapped (session-duration checks).
	aws *aws.Provider
	// dir resolves people (the broker's directory): sign-in matches
	// people with it.
	dir drawbridge.Directory
	// signIn is the web sign-in when oidc: is configured (set by serve
	// once it listens); the dashboard takes its callers from it.
	signIn *oidc.Authenticator
	// closers stop background work started by wiring (catalog refresh).
	closers []func() error
	// notifiers deliver notifications (notify:); serve runs them.
	notifiers []*notify.Worker
}

func (a *app) Close() error {
	for _, c := range a.closers {
		_ = c()
	}
	return a.store.Close()
}

// wireOptions lets demo and tests swap the clock and logger, and the
// server ask for metrics.
type wireOptions struct {
	clock   clock.Clock
	logger  *slog.Logger
	metrics bool
	// provider, when set, replaces each configured provider by what it
	// returns (the load test's instant provider), before metrics wrap it.
	provider func(drawbridge.Provider) drawbridge.Provider
	// decides loads the policy, for commands that decide requests (submit,
	// review, extend, serve). The others (revocation, expiry, reads,
	// audit) run without it, so that a policy file broken by an edit never
	// stops access from being taken away or the trail from being read.
	decides bool
	// warn reports what opening the store changed (a store file made
	// private); default: the logger.
	warn func(string)
}

// openApp wires every part from cfg: store, policy, directory, catalog,
// providers, broker and expiry engine.
func openApp(ctx context.Context, cfg *config.Config, opt wireOptions) (*app, error) {
	if opt.clock == nil {
		opt.clock = clock.Real{}
	}
	if opt.logger == nil {
		opt.logger = slog.New(slog.DiscardHandler)
	}
	if opt.warn == nil {
		opt.warn = func(s string) { opt.logger.Warn(s) }
	}
	var pol *policy.Policy
	if opt.decides {
		var err error
		if pol, err = policy.Load(cfg.Policy.File); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
	}
	providers := map[string]drawbridge.Provider{}
	// The store opens after the providers (a provider error must not
	// leave it open); deny_old_sessions reaches its leases through this.
	leases := &storeLeases{}
	var awsProv *aws.Provider
	for _, name := range cfg.Providers.Names() {
		pc := cfg.Providers[name]
		switch pc.Kind {
		case "aws":
			a := pc.AWS
			ac := aws.Config{
				Name: name, Region: a.Region, InstanceARN: a.InstanceARN, IdentityStoreID: a.IdentityStoreID,
				PermissionSets: a.PermissionSets, Endpoint: a.Endpoint,
				AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey,
				PollInterval: a.PollInterval.Std(), MaxTPS: a.MaxTPS, MaxInFlight: a.MaxInFlight,
				UserAttribute: a.UserAttribute, IdentityCacheTTL: a.IdentityCacheTTL.Std(),
				ResolveGroups: a.ResolveGroups, Now: opt.clock.Now,
				DenyOldSessions: pc.DeniesOldSessions(), Leases: leases, LeaseHolder: notify.NewHolder(),
			}
			p, err := aws.New(ctx, ac)
			if err != nil {
				return nil, fmt.Errorf("providers.%s: %w", name, err)
			}
			providers[name] = p
			awsProv = p
		case "webhook":
			// Built once the directory is: revoke events name the person's
			// linked identities.
		case "entra":
			e := pc.Entra
			p, err := entra.New(entra.Config{Name: name, TenantID: e.TenantID, ClientID: e.ClientID, ClientSecret: e.ClientSecret,
				Mode: e.Mode, LoginEndpoint: e.LoginEndpoint, GraphEndpoint: e.GraphEndpoint, Timeout: e.Timeout.Std(), Now: opt.clock.Now})
			if err != nil {
				return nil, fmt.Errorf("providers.%s: %w", name, err)
			}
			providers[name] = p
		case "okta":
			o := pc.Okta
			p, err := okta.New(okta.Config{Name: name, OrgURL: o.OrgURL, APIToken: o.APIToken, Timeout: o.Timeout.Std(), Now: opt.clock.Now})
			if err != nil {
				return nil, fmt.Errorf("providers.%s: %w", name, err)
			}
			providers[name] = p
		case "boundary":
			bc := pc.Boundary
			p, err := boundary.New(boundary.Config{Name: name, Addr: bc.Addr, AuthMethodID: bc.AuthMethodID, LoginName: bc.LoginName,
				Password: bc.Password, Token: bc.Token, Scopes: bc.Scopes, Linked: linkedIdentities(cfg, drawbridge.IdentityBoundary),
				Timeout: bc.Timeout.Std(), Now: opt.clock.Now})
			if err != nil {
				return nil, fmt.Errorf("providers.%s: %w", name, err)
			}
			providers[name] = p
		default:
			return nil, fmt.Errorf("providers.%s: kind %s is known to config but not wired in this build", name, pc.Kind)
		}
	}
	static := directoryFrom(cfg)
	var dir drawbridge.Directory = static
	if pc := cfg.Providers.AWS(); pc != nil && (pc.AWS.ResolveUsers || pc.AWS.ResolveGroups) {
		dir = aws.NewDirectory(dir, awsProv)
	}
	for _, name := range cfg.Providers.Names() {
		if pc := cfg.Providers[name]; pc.Kind == "webhook" {
			p, err := webhook.New(webhook.Config{Name: name, URL: pc.Webhook.URL, Secrets: pc.Webhook.SigningSecrets(),
				Timeout: pc.Webhook.Timeout.Std(), Directory: dir, Now: opt.clock.Now})
			if err != nil {
				return nil, fmt.Errorf("providers.%s: %w", name, err)
			}
			providers[name] = p
		}
	}
	if len(providers) == 0 {
		return nil, errors.New("no provider configured: add one under providers: in the config (providers.aws for AWS IAM Identity Center)")
	}
	if opt.provider != nil {
		for name, p := range providers {
			providers[name] = opt.provider(p)
		}
	}
	db, err := openStore(ctx, cfg, opt.warn)
	if err != nil {
		return nil, err
	}
	leases.Leaser = db
	var store drawbridge.Store = db
	var m *metrics.Metrics
	if opt.metrics {
		// Metrics observe from the outside: decorated store and providers.
		m = metrics.New(db, opt.logger)
		store = m.Store(db)
		for name, p := range providers {
			providers[name] = m.Provider(p)
		}
	}
	catalogs := catalogsFrom(cfg)
	var closers []func() error
	if pc := cfg.Providers.AWS(); pc != nil {
		a := pc.AWS
		if a.Organizations.Enabled {
			oc := awsProv.Catalog(catalogs[pc.Name], aws.OrgOptions{Refresh: a.Organizations.Refresh.Std(), Logger: opt.logger})
			oc.Start(context.WithoutCancel(ctx))
			catalogs[pc.Name] = oc
			closers = append(closers, oc.Close)
		}
	}
	cat := catalog.New(catalogs, awsName(cfg))
	if len(cfg.ManagedGroups.Groups) > 0 {
		// Managed groups computed at sign-in count for policy, approver
		// checks in every channel and role bindings while they are fresh.
		dir = &oidc.GroupDirectory{Next: dir, Store: db, Defined: static, ValidFor: cfg.ManagedGroups.ValidFor.Std(), Now: opt.clock.Now}
	}
	b := broker.New(store, dir, cat, providers, pol, opt.clock, opt.logger)
	// The config applied the defaults and checked that the lease outlasts
	// the provider call.
	b.ProviderTimeout = cfg.Expiry.ProviderTimeout.Std()
	b.ProvisionLease = cfg.Expiry.ProvisionLease.Std()
	b.MinDuration = cfg.Limits.MinDuration.Std()
	b.NoticeBefore = cfg.Expiry.NoticeBefore.Std()
	b.EndSessionsBy = map[string][]string{}
	for _, name := range cfg.Providers.Names() {
		if es := cfg.Providers[name].SessionEnders(); len(es) > 0 {
			b.EndSessionsBy[name] = es
		}
	}
	notifiers, err := notifiersFrom(cfg, b, store, opt.clock, opt.logger, m)
	if err != nil {
		// Nothing else holds the store or the catalog refresh yet.
		for _, c := range closers {
			c() //nolint:errcheck // the notifier error is the one to report
		}
		db.Close() //nolint:errcheck // as above
		return nil, err
	}
	eng := expiry.New(b, cfg.Expiry.MaxSleep.Std(), cfg.Expiry.Workers)
	b.OnChange = eng.Notify
	if m != nil {
		eng.OnStep = m.OnStep
		b.OnRowMismatch = m.RowMismatch
	}
	if every := cfg.Expiry.ReconcileInterval.Std(); every > 0 && hasResources(cat, providers) {
		eng.ReconcileEvery = every
		// One replica per interval reconciles: the holder of the lease.
		eng.Leases, eng.Holder = db, notify.NewHolder()
		eng.Reconcile = func(ctx context.Context) {
			rep, err := b.Reconcile(ctx, false, broker.System)
			if m != nil {
				m.Reconciled(rep, err)
			}
			switch {
			case err != nil && ctx.Err() == nil:
				opt.logger.Error("drift reconciliation failed", "error", err)
			case err == nil && len(rep.Findings) > 0:
				for _, f := range rep.Findings {
					opt.logger.Warn("drift", "kind", f.Kind, "entitlement", f.Assignment.Entitlement.String(),
						"principal_ref", f.Assignment.PrincipalRef, "request", f.RequestID)
				}
			}
		}
	}
	return &app{cfg: cfg, store: store, db: db, broker: b, engine: eng, logger: opt.logger, metrics: m,
		aws: awsProv, dir: dir, closers: closers, notifiers: notifiers}, nil
}

// sessionWarnings compares each permission set's session duration with
// the longest grant pol allows for it: revoking an assignment does not end
// role sessions already issued, so a session duration longer than the
// grants lets access outlive them.
func (a *app) sessionWarnings(ctx context.Context, pol *policy.Policy) ([]string, error) {
	if a.aws == nil {
		return nil, nil
	}
	durations, err := a.aws.SessionDurations(ctx)
	if err != nil {
		return nil, err
	}
	longest := map[string]time.Duration{}
	for _, r := range pol.Rules() {
		// Rules name the AWS provider by its configured name.
		if r.Decision == drawbridge.EffectDeny || (r.Provider != awsName(a.cfg) && r.Provider != "*") {
			continue
		}
		for name := range durations {
			if slices.Contains(r.Roles, name) || slices.Contains(r.Roles, "*") {
				longest[name] = max(longest[name], r.MaxDuration)
			}
		}
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(durations)) {
		if l, ok := longest[name]; ok && durations[name] > l {
			out = append(out, fmt.Sprintf("permission set %s has a session duration of %s, longer than the longest grant any rule allows for it (%s): role sessions issued during a grant outlive its revocation by up to %s; set a session duration of at most %s (docs/aws-setup.md)",
				name, durations[name], l, durations[name], l))
		}
	}
	return out, nil
}

// linkedIdentities maps the configured people's canonical ids to their
// linked identity of kind: what a provider ending sessions for another one
// knows of them, since a revocation does not resolve the person again.
func linkedIdentities(cfg *config.Config, kind string) map[string]string {
	out := map[string]string{}
	for _, u := range cfg.Directory.Users {
		if id := u.LinkedIdentities()[kind]; id != "" {
			out[drawbridge.CanonicalPrincipalID(u.Email)] = id
		}
	}
	return out
}

// directoryFrom builds the static directory of cfg.
func directoryFrom(cfg *config.Config) *directory.Static {
	var users []directory.User
	for _, u := range cfg.Directory.Users {
		users = append(users, directory.User{Email: u.Email, Name: u.Name, Identities: u.LinkedIdentities(), Groups: u.Groups})
	}
	return directory.NewStatic(users)
}

// catalogsFrom builds each configured provider's catalog: the accounts and
// permission sets of the provider of kind aws, the configured resources of
// the others.
func catalogsFrom(cfg *config.Config) map[string]drawbridge.ProviderCatalog {
	out := map[string]drawbridge.ProviderCatalog{}
	for name, pc := range cfg.Providers {
		if pc.Kind == "aws" {
			var accounts []catalog.Account
			for _, a := range cfg.Accounts {
				accounts = append(accounts, catalog.Account{ID: a.ID, Name: a.Name, Aliases: a.Aliases, OUs: a.OUs, Tags: a.Tags})
			}
			out[name] = catalog.NewAccounts(accounts, slices.Collect(maps.Keys(pc.AWS.PermissionSets)))
			continue
		}
		var rs []catalog.Resource
		for _, r := range pc.Resources {
			rs = append(rs, catalog.Resource{Name: r.Name, DisplayName: r.DisplayName, Aliases: r.Aliases, Roles: r.Roles})
		}
		out[name] = catalog.NewResources(name, rs)
	}
	return out
}

// catalogFrom builds the catalog of cfg from config alone (no AWS
// Organizations lookups), for the policy commands.
func catalogFrom(cfg *config.Config) *catalog.Set {
	return catalog.New(catalogsFrom(cfg), awsName(cfg))
}

// hasResources reports whether any provider's catalog lists resources:
// reconciliation asks each provider only about those, so without any it
// has nothing to do.
func hasResources(cat drawbridge.Catalog, providers map[string]drawbridge.Provider) bool {
	for name := range providers {
		if len(cat.Resources(name)) > 0 {
			return true
		}
	}
	return false
}

// awsName is the name of the provider a bare account id names, "" when no
// provider of kind aws is configured.
func awsName(cfg *config.Config) string {
	if pc := cfg.Providers.AWS(); pc != nil {
		return pc.Name
	}
	return ""
}

// openStore opens the configured store; warn hears what opening changed.
// It is the one place that knows the concrete store types.
func openStore(ctx context.Context, cfg *config.Config, warn func(string)) (drawbridge.Backend, error) {
	switch cfg.Store.Driver {
	case "sqlite":
		s, err := sqlite.Open(ctx, cfg.Store.DSN, sqlite.WithWarnings(warn))
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", cfg.Store.Redacted(), err)
		}
		return s, nil
	case "postgres":
		// postgres.Open redacts the password from its own errors.
		s, err := postgres.Open(ctx, cfg.Store.DSN)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", cfg.Store.Redacted(), err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("store.driver %q is not supported by this build", cfg.Store.Driver)
}

// open loads the config and wires the app without a policy: enough to
// revoke, expire, read and audit.
func (g *globals) open(ctx context.Context) (*app, error) {
	return g.openApp(ctx, false)
}

// openDeciding wires the app with the policy, for commands that decide.
func (g *globals) openDeciding(ctx context.Context) (*app, error) {
	return g.openApp(ctx, true)
}

func (g *globals) openApp(ctx context.Context, decides bool) (*app, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	return openApp(ctx, cfg, wireOptions{decides: decides, warn: g.warn})
}

// warn prints a "warning:" line on standard error.
func (g *globals) warn(s string) { fmt.Fprintln(g.stderr, "warning:", s) }

// operator is the caller of local (operator) mode: trusted as an admin, the
// positional name says who acts, and the OS user is recorded beside it.
func operator() drawbridge.Caller {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return drawbridge.Operator(name)
}

// storeLeases hands the store's leases to a provider built before the
// store was opened; openApp sets Leaser before anything can use it.
type storeLeases struct{ drawbridge.Leaser }
