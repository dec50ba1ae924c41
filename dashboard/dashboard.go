// Package dashboard is Drawbridge's web channel: server-rendered pages
// under /dashboard for people who would rather look than query — an
// overview with charts, the request list with filters and CSV, a request's
// audit timeline, and for signed-in users a request form, their own
// requests and an approvals inbox.
//
// It renders with html/template and serves its scripts (htmx, uPlot and
// its own app.js) from files embedded in the binary, under a
// Content-Security-Policy that allows no inline script or style. Every
// form carries a CSRF token bound to a cookie and to the signed-in person.
// Who is signed in is an Authenticator's business (an OIDC session in
// production): the dashboard asks it for a drawbridge.Caller and applies
// the domain's rules — Caller.Can, Narrow and CanSee — exactly as the API
// does. Every change goes through the broker, with the broker's checks.
package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	nethttp "net/http"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/clock"
)

// Authenticator says who is signed in to the dashboard. The dashboard
// defines it, the OIDC session adapter implements it and cmd/drawbridge
// wires one into the other.
type Authenticator interface {
	// Caller returns the signed-in caller of r, with Channel web; an
	// error with code EUNAUTHORIZED when nobody is signed in (the
	// dashboard then sends the browser to LoginURL).
	Caller(r *nethttp.Request) (drawbridge.Caller, error)
	// LoginURL is where to send a browser to sign in and come back to
	// returnTo (a path under /dashboard).
	LoginURL(returnTo string) string
	// RequireFreshLogin returns r's caller when their last sign-in is
	// recent enough for an approval to count (step-up). Otherwise it has
	// already answered w — a redirect to a forced re-authentication that
	// comes back to r's path — and returns false.
	RequireFreshLogin(w nethttp.ResponseWriter, r *nethttp.Request) (drawbridge.Caller, bool)
}

// Server serves the dashboard.
type Server struct {
	Broker *broker.Broker
	// Store is read for lists and audit events (the broker's).
	Store  drawbridge.Store
	Auth   Authenticator
	Clock  clock.Clock
	Logger *slog.Logger
	// CSRFKey signs the forms' CSRF tokens; random per process when nil
	// (forms rendered before a restart are then refused once, with a
	// page saying to reload).
	CSRFKey []byte

	pages map[string]*template.Template
}

//go:embed static
var staticFS embed.FS

//go:embed templates
var templateFS embed.FS

// csp allows scripts, styles and fetches from this server only: no inline
// script, no inline style attribute, no framing, forms posting here only.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

const csrfCookie = "drawbridge_csrf"

// Handler returns the dashboard's handler, for the paths /dashboard and
// /dashboard/….
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
	if s.CSRFKey == nil {
		s.CSRFKey = make([]byte, 32)
		_, _ = rand.Read(s.CSRFKey)
	}
	s.pages = parsePages()
	mux := nethttp.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /dashboard/static/", nethttp.StripPrefix("/dashboard/static/", staticHandler(nethttp.FileServerFS(static))))
	for _, rt := range s.routes() {
		mux.HandleFunc(rt.pattern, s.page(rt))
	}
	mux.HandleFunc("/dashboard/", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		s.render(w, r, nethttp.StatusNotFound, "error", drawbridge.Caller{}, errorPage{Status: 404, Message: "There is no page " + r.URL.Path + "."})
	})
	return secureHeaders(boostRedirects(mux))
}

// boostRedirects turns a redirect answered to an htmx-boosted request
// into HX-Redirect, a navigation of the whole page: the browser's
// XMLHttpRequest would otherwise follow it itself, and one that leads to
// the identity provider (sign-in, step-up) is cross-origin and fails.
func boostRedirects(next nethttp.Handler) nethttp.Handler {
	return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.Header.Get("HX-Request") != "true" {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&boostWriter{ResponseWriter: w}, r)
	})
}

type boostWriter struct{ nethttp.ResponseWriter }

func (b *boostWriter) WriteHeader(code int) {
	h := b.Header()
	if loc := h.Get("Location"); code >= 300 && code < 400 && loc != "" {
		h.Del("Location")
		h.Set("HX-Redirect", loc)
		code = nethttp.StatusOK
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *boostWriter) Unwrap() nethttp.ResponseWriter { return b.ResponseWriter }

// route is one page: the permission it needs and what it does. GET pages
// need only a signed-in caller and narrow what they show; POST routes
// change something and need the permission and a valid CSRF token.
type route struct {
	pattern string
	perm    drawbridge.Permission
	h       func(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error
}

func (s *Server) routes() []route {
	return []route{
		{"GET /dashboard", drawbridge.PermRead, s.overview},
		{"GET /dashboard/{$}", drawbridge.PermRead, s.overview},
		{"GET /dashboard/requests", drawbridge.PermRead, s.requests},
		{"GET /dashboard/requests.csv", drawbridge.PermRead, s.requestsCSV},
		{"GET /dashboard/requests/{id}", drawbridge.PermRead, s.detail},
		{"GET /dashboard/new", drawbridge.PermSubmit, s.newForm},
		{"POST /dashboard/new", drawbridge.PermSubmit, s.submit},
		{"GET /dashboard/mine", drawbridge.PermSubmit, s.mine},
		{"GET /dashboard/inbox", drawbridge.PermReview, s.inbox},
		{"GET /dashboard/requests/{id}/approve", drawbridge.PermReview, s.approvePage},
		{"POST /dashboard/requests/{id}/approve", drawbridge.PermReview, s.approve},
		{"POST /dashboard/requests/{id}/deny", drawbridge.PermReview, s.deny},
		{"POST /dashboard/requests/{id}/cancel", drawbridge.PermCancel, s.cancel},
		{"POST /dashboard/requests/{id}/revoke", drawbridge.PermRevoke, s.revoke},
		{"POST /dashboard/requests/{id}/extend", drawbridge.PermExtend, s.extend},
	}
}

// page authenticates, checks the permission (and the CSRF token of a
// POST) and renders the handler's error, if any, as a page.
func (s *Server) page(rt route) nethttp.HandlerFunc {
	return func(w nethttp.ResponseWriter, r *nethttp.Request) {
		c, err := s.Auth.Caller(r)
		if err != nil {
			if drawbridge.ErrorCode(err) != drawbridge.EUNAUTHORIZED {
				s.fail(w, r, drawbridge.Caller{}, err)
				return
			}
			if r.Method == nethttp.MethodGet {
				nethttp.Redirect(w, r, s.Auth.LoginURL(r.URL.RequestURI()), nethttp.StatusSeeOther)
				return
			}
			s.fail(w, r, drawbridge.Caller{}, drawbridge.Errorf(drawbridge.EUNAUTHORIZED, "your session has ended: sign in again, then repeat what you did"))
			return
		}
		c.Channel = drawbridge.ChannelWeb
		s.ensureCSRFCookie(w, r)
		if r.Method != nethttp.MethodGet {
			if err := s.checkCSRF(r, c); err != nil {
				s.fail(w, r, c, err)
				return
			}
		}
		if !c.Can(rt.perm) {
			s.fail(w, r, c, drawbridge.Errorf(drawbridge.EFORBIDDEN, "your roles (%s) do not allow this page", drawbridge.JoinRoles(c.Roles)))
			return
		}
		if err := rt.h(w, r, c); err != nil {
			s.fail(w, r, c, err)
		}
	}
}

// errorPage is what the error template shows.
type errorPage struct {
	Status  int
	Message string
}

func (s *Server) fail(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller, err error) {
	status := drawbridge.HTTPStatus(drawbridge.ErrorCode(err))
	msg := drawbridge.ErrorMessage(err)
	if status == nethttp.StatusInternalServerError {
		s.Logger.Error("dashboard", "path", r.URL.Path, "error", err)
		msg = "Something went wrong on our side; it has been logged."
	}
	s.render(w, r, status, "error", c, errorPage{Status: status, Message: msg})
}

func secureHeaders(next nethttp.Handler) nethttp.Handler {
	return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// staticHandler lets browsers cache the embedded files: they change only
// with the binary, and their names carry the vendored versions.
func staticHandler(next nethttp.Handler) nethttp.Handler {
	return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// The CSRF token is the double-submit pattern, signed: a random cookie
// (SameSite=Strict, HttpOnly) and, in every form, an HMAC of that cookie
// and the signed-in person. Another site can neither read the cookie nor
// compute the HMAC, and a token leaked for one person is useless for
// another.
func (s *Server) ensureCSRFCookie(w nethttp.ResponseWriter, r *nethttp.Request) {
	if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) >= 32 {
		return
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	nethttp.SetCookie(w, &nethttp.Cookie{Name: csrfCookie, Value: v, Path: "/dashboard", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: nethttp.SameSiteStrictMode})
	// The page being rendered must carry a token for this new cookie.
	r.AddCookie(&nethttp.Cookie{Name: csrfCookie, Value: v})
}

func (s *Server) csrfToken(r *nethttp.Request, c drawbridge.Caller) string {
	ck, err := r.Cookie(csrfCookie)
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, s.CSRFKey)
	m.Write([]byte(ck.Value))
	m.Write([]byte{0})
	m.Write([]byte(c.Principal))
	return hex.EncodeToString(m.Sum(nil))
}

var errCSRF = drawbridge.Errorf(drawbridge.EFORBIDDEN, "this form has expired or did not come from this dashboard: reload the page and try again")

func (s *Server) checkCSRF(r *nethttp.Request, c drawbridge.Caller) error {
	// A browser says where a request came from; cross-site is refused
	// before the token is looked at.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return errCSRF
	}
	if _, err := r.Cookie(csrfCookie); err != nil {
		return errCSRF
	}
	want := s.csrfToken(r, c)
	got := r.PostFormValue("csrf")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errCSRF
	}
	return nil
}

// view is what every page template gets.
type view struct {
	Title  string
	Nav    string
	Caller drawbridge.Caller
	CSRF   string
	Now    time.Time
	Flash  string
	Data   any
}

func (s *Server) render(w nethttp.ResponseWriter, r *nethttp.Request, status int, name string, c drawbridge.Caller, data any) {
	t := s.pages[name]
	v := view{Title: titles[name], Nav: name, Caller: c, Now: s.Clock.Now().UTC(), Flash: notes[r.URL.Query().Get("done")], Data: data}
	if c.Principal != "" {
		v.CSRF = s.csrfToken(r, c)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		s.Logger.Error("dashboard template", "page", name, "error", err)
		nethttp.Error(w, "internal error", nethttp.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

var titles = map[string]string{
	"overview": "Overview", "requests": "Requests", "detail": "Request", "new": "New request",
	"mine": "My requests", "inbox": "Approvals", "approve": "Approve request", "error": "Error",
}

// notes are the confirmations a page shows after a change. The query
// names one by key, so a crafted link cannot make the dashboard display
// text of its author's choosing.
var notes = map[string]string{
	"submitted": "Request submitted.", "approved": "Approval recorded.", "denied": "Denial recorded.",
	"cancelled": "Request cancelled.", "revoked": "Grant revoked.", "extended": "Extension requested.",
}

// done redirects after a change (POST, then GET), naming the note the
// next page shows.
func done(w nethttp.ResponseWriter, r *nethttp.Request, to, note string) {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	nethttp.Redirect(w, r, to+sep+"done="+note, nethttp.StatusSeeOther)
}
