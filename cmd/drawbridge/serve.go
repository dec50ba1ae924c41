package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	nethttp "net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/config"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
	"github.com/drawbridge-jit/drawbridge/outbound"
	"github.com/drawbridge-jit/drawbridge/policy"
	"github.com/drawbridge-jit/drawbridge/slack"
	"github.com/slack-go/slack/socketmode"
	"github.com/spf13/cobra"
)

func serveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve [--config drawbridge.yaml]",
		Short: "Run the server: HTTP API, audit API, /metrics and the expiry engine in one process",
		Long: `serve runs the HTTP API (/v1, /api, /metrics, /healthz, /readyz) and the expiry
engine until SIGINT or SIGTERM. It speaks HTTPS when server.tls_cert_file and
server.tls_key_file are set, and refuses plain HTTP on a non-loopback address unless
server.allow_plain_http is true. The policy file is reloaded on SIGHUP and when it
changes; a policy that does not load is refused and the last good one stays in force.
Logs are JSON lines on standard error.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			return runServer(c.Context(), cfg, newLogger(g.stderr), serverHooks{
				setup: func(a *app) error { return refuseDevTokens(c.Context(), a) },
			})
		},
	}
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// isLoopback reports whether the listen address only accepts local
// connections.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && outbound.Loopback(host)
}

// listenProblem says why serve cannot listen as configured: a malformed
// address, or plain HTTP off loopback without allow_plain_http.
func listenProblem(cfg *config.Config) error {
	addr := cfg.Server.Listen
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	if err != nil {
		return fmt.Errorf("server.listen %q is not host:port (%v): e.g. 127.0.0.1:8080 or 0.0.0.0:8443", addr, err)
	}
	if cfg.Server.TLSCertFile == "" && !isLoopback(addr) && !cfg.Server.AllowPlainHTTP {
		return fmt.Errorf("server.listen %s is not a loopback address: configure server.tls_cert_file and tls_key_file, "+
			"or set server.allow_plain_http: true when a TLS-terminating proxy is in front (tokens travel in headers)", addr)
	}
	return nil
}

// serverHooks let dev mode and the load test prepare the wired app before
// the listener opens (setup) and learn the bound address (ready).
type serverHooks struct {
	setup func(*app) error
	ready func(*app, net.Addr)
	// provider: see wireOptions.
	provider func(drawbridge.Provider) drawbridge.Provider
}

// runServer serves until ctx ends.
func runServer(ctx context.Context, cfg *config.Config, logger *slog.Logger, hooks serverHooks) error {
	tls := cfg.Server.TLSCertFile != ""
	if err := listenProblem(cfg); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	a, err := openApp(ctx, cfg, wireOptions{logger: logger, metrics: true, provider: hooks.provider, decides: true})
	if err != nil {
		return err
	}
	defer a.Close()
	if hooks.setup != nil {
		if err := hooks.setup(a); err != nil {
			return err
		}
	}

	if warnings, err := a.sessionWarnings(ctx, a.broker.Policy()); err != nil {
		logger.Warn("could not read permission set session durations", "error", err)
	} else {
		for _, w := range warnings {
			logger.Warn(w)
		}
	}

	// The Slack channel, with its notifier among the others.
	var slackH *slack.Handler
	if cfg.Slack.Enabled() {
		slackH = slackHandler(a, cfg.Slack, cfg.Server.PublicURL, logger)
	}

	// The engine runs until the HTTP server has drained, so that grants
	// submitted by in-flight requests are handed over cleanly; anything
	// left PROVISIONING keeps its lease and the next start resumes it.
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	var engineRunning atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		engineRunning.Store(true)
		defer engineRunning.Store(false)
		if err := a.engine.Run(engineCtx); err != nil {
			logger.Error("expiry engine stopped", "error", err)
		}
	}()
	defer func() { stopEngine(); wg.Wait() }()
	// Other replicas' writes wake this engine too, where the store can
	// announce them (PostgreSQL); re-reading every max_sleep remains the
	// fallback, and a (re)connected watch re-reads at once.
	if w, ok := a.db.(drawbridge.DueWatcher); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.WatchDue(engineCtx, func(due time.Time) {
				if due.IsZero() {
					a.engine.Kick()
					return
				}
				a.engine.Notify(due)
			}, func(err error) { logger.Warn(err.Error()) })
		}()
	}
	// Notifiers stop with the engine: a delivery cut short is not marked
	// done, and the next start (or another process) sends it again.
	waitNotifiers := runNotifiers(engineCtx, a.notifiers)
	defer func() { stopEngine(); waitNotifiers() }()
	if slackH != nil {
		// Reminders and escalations of unanswered approvals (approval.remind_after).
		wg.Add(1)
		go func() { defer wg.Done(); slackH.RunReminders(engineCtx, slack.DefaultRemindEvery) }()
	}
	if slackH != nil && cfg.Slack.SocketMode() {
		// Socket Mode: Slack's requests arrive over a WebSocket Drawbridge
		// opens, served by the same handler as the HTTP endpoints.
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := slackH.RunSocket(engineCtx, socketmode.New(slackH.API)); err != nil {
				logger.Error("slack Socket Mode stopped", "error", err)
			}
		}()
	}

	if pc := a.cfg.Providers.AWS(); pc != nil && pc.DeniesOldSessions() && a.aws != nil {
		// deny_old_sessions: take statements out once their sessions ended.
		wg.Add(1)
		go func() { defer wg.Done(); removeExpiredDenies(engineCtx, a.aws, logger, time.Minute) }()
	}

	// Signed checkpoints of the audit log, published every
	// audit.checkpoint_interval while the engine runs.
	checkpoints, auditOn, err := newPublisher(cfg, a.store, clock.Real{})
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if auditOn {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = checkpoints.Run(engineCtx, func(err error) { logger.Error("audit checkpoint not published", "error", err) })
		}()
	} else {
		logger.Info("audit checkpoints are off: set audit.origin and run drawbridge audit keygen (docs/audit.md)")
	}

	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	wg.Add(1)
	watch := watchPolicy(a, logger, 2*time.Second)
	go func() { defer wg.Done(); watch(watchCtx) }()

	api := &dbhttp.Server{
		Broker: a.broker, Store: a.store, Tokens: a.db, Logger: logger,
		AllowWildcardScopes: cfg.API.AllowWildcardScopes,
		Metrics:             a.metrics.Handler(), MetricsToken: cfg.Server.MetricsToken,
		MaxBodyBytes: cfg.Server.MaxBodyBytes,
		Limits: dbhttp.Limits{
			ReadHeaderTimeout: time.Duration(cfg.Server.ReadHeaderTimeout), ReadTimeout: time.Duration(cfg.Server.ReadTimeout),
			WriteTimeout: time.Duration(cfg.Server.WriteTimeout), IdleTimeout: time.Duration(cfg.Server.IdleTimeout),
			MaxHeaderBytes: cfg.Server.MaxHeaderBytes, MaxConnections: cfg.Server.MaxConnections,
		},
		Ready: func(ctx context.Context) error {
			if err := a.db.Ping(ctx); err != nil {
				return fmt.Errorf("store unreachable: %w", err)
			}
			if a.broker.Policy() == nil {
				return errors.New("no policy loaded")
			}
			if !engineRunning.Load() {
				return errors.New("expiry engine not running")
			}
			return nil
		},
	}
	if slackH != nil && cfg.Slack.HTTPEndpoints() {
		api.Slack = slackH
	}
	if auditOn {
		api.AuditSigner = &checkpoints.Signer
	}
	srv := api.HTTPServer(slog.NewLogLogger(logger.Handler(), slog.LevelWarn))
	if err := checkOpenFiles(api.Limits.MaxConnections, openFileLimit()); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	ln = dbhttp.LimitListener(ln, api.Limits.MaxConnections)
	if cfg.OIDC != nil {
		if api.Pages, err = signInPages(a, cfg, ln.Addr(), tls, logger); err != nil {
			ln.Close()
			return err
		}
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	logger.Info("drawbridge serving", "addr", ln.Addr().String(), "scheme", scheme, "store", cfg.Store.Redacted(),
		"policy", cfg.Policy.File, "policy_sha256", a.broker.Policy().SHA256(), "metrics_protected", cfg.Server.MetricsToken != "")
	serveErr := make(chan error, 1)
	go func() {
		var err error
		if tls {
			err = srv.ServeTLS(ln, cfg.Server.TLSCertFile, cfg.Server.TLSKeyFile)
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, nethttp.ErrServerClosed) {
			serveErr <- err
		}
		close(serveErr)
	}()
	if hooks.ready != nil {
		hooks.ready(a, ln.Addr())
	}
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	logger.Info("shutting down: draining HTTP requests, then stopping the expiry engine")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Error("HTTP shutdown incomplete; interrupted requests resume on next start", "error", err)
	}
	stopWatch()
	stopEngine()
	wg.Wait()
	logger.Info("stopped")
	return nil
}

// watchPolicy reloads the policy on SIGHUP and when the file changes
// (modification time or size, polled). A policy that does not load is
// refused: the last good one stays in force, the reason is logged and
// drawbridge_policy_reload_failures_total counts it.
//
// It subscribes to SIGHUP and stamps the file before it returns the loop to
// run: a SIGHUP that arrived before the subscription would end the process
// (Go's default for it), and an edit before the stamp would go unseen.
func watchPolicy(a *app, logger *slog.Logger, every time.Duration) func(context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	file := a.cfg.Policy.File
	stamp := func() string {
		fi, err := os.Stat(file)
		if err != nil {
			return "missing"
		}
		return fmt.Sprint(fi.ModTime().UnixNano(), fi.Size())
	}
	last := stamp()
	return func(ctx context.Context) {
		defer signal.Stop(hup)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			reason := ""
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reason = "SIGHUP"
			case <-tick.C:
				if s := stamp(); s != last {
					last = s
					reason = "file changed"
				}
			}
			if reason == "" {
				continue
			}
			p, err := policy.Load(file)
			if a.metrics != nil {
				a.metrics.PolicyReload(err)
			}
			if err != nil {
				logger.Error("policy reload refused; the last good policy stays in force", "trigger", reason,
					"file", file, "error", err.Error(), "policy_sha256", a.broker.Policy().SHA256())
				continue
			}
			if p.SHA256() == a.broker.Policy().SHA256() {
				continue
			}
			a.broker.SetPolicy(p)
			logger.Info("policy reloaded", "trigger", reason, "file", file, "policy_sha256", p.SHA256(), "rules", len(p.Rules()))
		}
	}
}

// removeExpiredDenies runs the provider's removal of deny_old_sessions
// statements whose sessions have ended, at start and then every interval,
// until ctx ends. The schedule is in the statements themselves, so a
// missed run only delays a removal to the next.
func removeExpiredDenies(ctx context.Context, p *aws.Provider, logger *slog.Logger, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := p.RemoveExpiredDenies(ctx); err != nil && ctx.Err() == nil {
			logger.Error("removing expired deny_old_sessions statements failed, will retry", "error", err, "next_in", every)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
