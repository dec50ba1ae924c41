// Package http is Drawbridge's HTTP adapter: the /v1 request API, the
// read-only /api audit API that auditors script against, bearer-token
// authentication with roles and attribute scopes, and the unauthenticated
// probe and metrics endpoints. It is deny by default: every route names
// the roles that may call it, and a route without a token is refused
// before it is routed. It also holds the API client the CLI's remote mode
// uses, so that both sides of the contract live in one place.
package http

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	nethttp "net/http"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/clock"
)

// ContractHeader carries the contract version on every response; a
// request that names another version is refused.
const (
	ContractHeader  = "Drawbridge-Contract-Version"
	ContractVersion = "1"
)

// Server serves the HTTP API.
type Server struct {
	Broker *broker.Broker
	// Store is read for lists, audit events and exports (the broker's).
	Store drawbridge.Store
	// AuditSigner signs the checkpoints /api/audit serves; nil when the
	// audit log has no key (those routes answer 404).
	AuditSigner *audit.Signer
	Tokens      drawbridge.TokenStore
	Clock       clock.Clock
	Logger      *slog.Logger
	// AllowWildcardScopes accepts tokens scoped to "*". When an operator
	// turns it off, wildcard tokens already issued stop working.
	AllowWildcardScopes bool
	// Metrics serves GET /metrics (Prometheus); MetricsToken, when set,
	// is the bearer token it requires.
	Metrics      nethttp.Handler
	MetricsToken string
	// Ready reports whether the server can do its job (store reachable,
	// policy loaded, expiry engine running) for GET /readyz.
	Ready func(context.Context) error
	// Limits are the connection limits of HTTPServer; WriteTimeout also
	// paces the CSV export.
	Limits Limits
	// Slack, when set, serves Slack's endpoints (SlackPaths), which Slack's
	// request signature authenticates instead of a bearer token.
	Slack nethttp.Handler
	// Pages are handlers served beside the API under their own path
	// prefixes ("/v1/auth/", "/dashboard"): the sign-in flow and the web
	// pages authenticate by their own means (the flow's state, a session
	// cookie), never by bearer token, so the API's token check does not
	// apply to them. The API's routes never take a session cookie.
	Pages map[string]nethttp.Handler
	// MaxBodyBytes caps every request body (DefaultMaxBodyBytes when 0); a
	// larger one is refused with 413 before it is read into memory.
	MaxBodyBytes int64
}

// route is one endpoint: what permission it needs and what it does. The
// route table is the single source of truth for the mux, the authorisation
// matrix test and the OpenAPI document test. Which roles hold a permission
// is the domain's rule (drawbridge.Caller.Can), shared with every channel.
type route struct {
	method, path string
	// perm is what the caller must be allowed; "" = public.
	perm drawbridge.Permission
	h    func(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error
}

func (s *Server) routes() []route {
	return []route{
		{"POST", "/v1/requests", drawbridge.PermSubmit, s.createRequest},
		{"GET", "/v1/requests", drawbridge.PermRead, s.listRequests},
		{"GET", "/v1/requests/{id}", drawbridge.PermRead, s.getRequest},
		{"POST", "/v1/requests/{id}/approve", drawbridge.PermReview, s.approve},
		{"POST", "/v1/requests/{id}/deny", drawbridge.PermReview, s.deny},
		{"POST", "/v1/requests/{id}/cancel", drawbridge.PermCancel, s.cancel},
		{"POST", "/v1/requests/{id}/revoke", drawbridge.PermRevoke, s.revoke},
		{"POST", "/v1/requests/{id}/extend", drawbridge.PermExtend, s.extend},
		{"GET", "/api/requests", drawbridge.PermAudit, s.auditList},
		{"GET", "/api/requests/{id}", drawbridge.PermAudit, s.auditGet},
		{"GET", "/api/exports.csv", drawbridge.PermAudit, s.auditExport},
		{"GET", "/api/metrics", drawbridge.PermAudit, s.auditMetrics},
		{"GET", "/api/audit/checkpoint", drawbridge.PermAudit, s.auditCheckpoint},
		{"GET", "/api/audit/proof/{seq}", drawbridge.PermAudit, s.auditProof},
		{"GET", "/api/audit/consistency", drawbridge.PermAudit, s.auditConsistency},
		{"GET", "/metrics", "", s.metrics},
		{"GET", "/healthz", "", s.healthz},
		{"GET", "/readyz", "", s.readyz},
	}
}

// Routes lists every route as "METHOD /path" (OpenAPI check, docs).
func Routes() []string {
	var out []string
	for _, rt := range (&Server{}).routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

func isPublic(path string) bool {
	return path == "/metrics" || path == "/healthz" || path == "/readyz"
}

type callerKey struct{}

// Handler returns the API's handler.
func (s *Server) Handler() nethttp.Handler {
	if s.Clock == nil {
		s.Clock = clock.Real{}
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Store == nil && s.Broker != nil {
		s.Store = s.Broker.Store
	}
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	mux := nethttp.NewServeMux()
	for _, rt := range s.routes() {
		rt := rt
		mux.HandleFunc(rt.method+" "+rt.path, func(w nethttp.ResponseWriter, r *nethttp.Request) {
			c, _ := r.Context().Value(callerKey{}).(drawbridge.Caller)
			if rt.perm != "" && !c.Can(rt.perm) {
				s.writeError(w, r, drawbridge.Errorf(drawbridge.EFORBIDDEN, "this token's roles (%s) do not allow %s %s", drawbridge.JoinRoles(c.Roles), rt.method, rt.path))
				return
			}
			if err := rt.h(w, r, c); err != nil {
				s.writeError(w, r, err)
			}
		})
	}
	mux.HandleFunc("/", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		s.writeError(w, r, drawbridge.Errorf(drawbridge.ENOTFOUND, "no route %s %s", r.Method, r.URL.Path))
	})
	api := s.withContract(s.withPages(s.withAuth(mux)))
	if s.Slack == nil {
		return api
	}
	outer := nethttp.NewServeMux()
	for _, p := range SlackPaths {
		outer.Handle("POST "+p, s.Slack)
	}
	outer.Handle("/", api)
	return outer
}

// withPages sends a request under one of s.Pages' prefixes to its
// handler. Pages is read per request: serve mounts the sign-in pages once
// it knows the address it listens on, before it starts serving.
func (s *Server) withPages(api nethttp.Handler) nethttp.Handler {
	return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		for prefix, h := range s.Pages {
			if strings.HasPrefix(r.URL.Path, prefix) {
				h.ServeHTTP(w, r)
				return
			}
		}
		api.ServeHTTP(w, r)
	})
}

// SlackPaths are the endpoints of the Slack channel: the slash command,
// the interactivity payloads (buttons, modals), /webhook, which takes
// both (the URL existing Slack apps already point at), and the Events API
// (App Home).
var SlackPaths = []string{"/slack/commands", "/slack/interactions", "/webhook", "/slack/events"}

// withContract sets the contract header on every response and refuses a
// request that asks for another contract version, before anything else.
func (s *Server) withContract(next nethttp.Handler) nethttp.Handler {
	return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		start := time.Now()
		w.Header().Set(ContractHeader, ContractVersion)
		sw := &statusWriter{ResponseWriter: w, status: 200}
		r.Body = nethttp.MaxBytesReader(sw, r.Body, s.MaxBodyBytes)
		if v := r.Header.Get(ContractHeader); v != "" && v != ContractVersion {
			s.writeError(sw, r, drawbridge.Errorf(drawbridge.EINVALID, "%s %q is not supported: this server speaks version %s", ContractHeader, v, ContractVersion))
		} else {
			next.ServeHTTP(sw, r)
		}
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", sw.status, "duration_ms", time.Since(start).Milliseconds()}
		if c := sw.caller; c != nil {
			attrs = append(attrs, "principal", c.Principal, "auth", c.Auth)
		}
		if !isPublic(r.URL.Path) {
			s.Logger.Info("http request", attrs...)
		}
	})
}

// withAuth resolves the bearer token of every non-public request into the
// caller the handlers take; a missing, unknown, expired or revoked token
// is 401 whatever the path, so that anonymous callers learn nothing about
// which routes exist.
func (s *Server) withAuth(next nethttp.Handler) nethttp.Handler {
	return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if isPublic(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		t, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		c := t.Caller()
		if sw, ok := w.(*statusWriter); ok {
			sw.caller = &c
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

var errUnauthorized = drawbridge.Errorf(drawbridge.EUNAUTHORIZED, "missing, unknown, expired or revoked token: send Authorization: Bearer <token> (drawbridge token create)")

func bearer(r *nethttp.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func (s *Server) authenticate(r *nethttp.Request) (*drawbridge.Token, error) {
	secret := bearer(r)
	if !strings.HasPrefix(secret, drawbridge.TokenSecretPrefix) || len(secret) > 200 {
		return nil, errUnauthorized
	}
	t, err := s.Tokens.TokenByHash(r.Context(), drawbridge.HashTokenSecret(secret))
	if drawbridge.ErrorCode(err) == drawbridge.ENOTFOUND {
		return nil, errUnauthorized
	} else if err != nil {
		return nil, err
	}
	if !t.Active(s.Clock.Now()) {
		return nil, errUnauthorized
	}
	if t.Wildcard() && !t.Admin() && !s.AllowWildcardScopes {
		return nil, drawbridge.Errorf(drawbridge.EFORBIDDEN, "token %s has a wildcard scope, and api.allow_wildcard_scopes is off", t.ID)
	}
	return t, nil
}

type statusWriter struct {
	nethttp.ResponseWriter
	status int
	caller *drawbridge.Caller
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(nethttp.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() nethttp.ResponseWriter { return w.ResponseWriter }

// errorBody is the contract's error object.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *Server) writeError(w nethttp.ResponseWriter, r *nethttp.Request, err error) {
	var we *wireError
	if errors.As(err, &we) {
		var body errorBody
		body.Error.Code, body.Error.Message = we.code, we.message
		writeJSON(w, we.status, body)
		return
	}
	code := drawbridge.ErrorCode(err)
	if errors.Is(err, context.Canceled) {
		code = drawbridge.EUNAVAILABLE
	}
	var body errorBody
	body.Error.Code = code
	if code == drawbridge.EINTERNAL {
		// Details stay in the log: they may name files, SQL or hosts.
		s.Logger.Error("internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		body.Error.Message = "internal error; the server log has the details"
	} else {
		body.Error.Message = drawbridge.ErrorMessage(err)
	}
	if code == drawbridge.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="drawbridge"`)
	}
	writeJSON(w, drawbridge.HTTPStatus(code), body)
}

func writeJSON(w nethttp.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (s *Server) metrics(w nethttp.ResponseWriter, r *nethttp.Request, _ drawbridge.Caller) error {
	if s.MetricsToken != "" && subtle.ConstantTimeCompare([]byte(bearer(r)), []byte(s.MetricsToken)) != 1 {
		return drawbridge.Errorf(drawbridge.EUNAUTHORIZED, "/metrics needs Authorization: Bearer <server.metrics_token>")
	}
	if s.Metrics == nil {
		return drawbridge.Errorf(drawbridge.ENOTFOUND, "metrics are not enabled")
	}
	s.Metrics.ServeHTTP(w, r)
	return nil
}

func (s *Server) healthz(w nethttp.ResponseWriter, _ *nethttp.Request, _ drawbridge.Caller) error {
	writeJSON(w, 200, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w nethttp.ResponseWriter, r *nethttp.Request, _ drawbridge.Caller) error {
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			writeJSON(w, nethttp.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return nil
		}
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
	return nil
}
