// Package oidc signs people in to Drawbridge's web pages with the
// organisation's OpenID Connect provider (Entra ID, Okta, Google, …):
// the authorization code flow with PKCE, state and nonce, ID tokens
// verified against the configured issuer's keys, people matched to the
// directory by their stable subject, and server-side sessions that
// produce a drawbridge.Caller. It also computes managed groups from the
// token's claims with HashiCorp Boundary's filter syntax.
//
// Only the sign-in routes are served here; the API under /v1 and /api
// keeps taking bearer tokens only.
package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/oidc/claims"
)

// Routes of the sign-in flow. The callback is Boundary's, so an app
// registration made for Boundary's documentation works with the same
// redirect URI shape.
const (
	LoginPath    = "/v1/auth/oidc/login"
	CallbackPath = "/v1/auth-methods/oidc:authenticate:callback"
	LogoutPath   = "/v1/auth/oidc/logout"
)

// Config is the oidc: section of the config, validated there.
type Config struct {
	Issuer, ClientID, ClientSecret string
	// SigningAlgorithms the ID token may be signed with (RS256 when
	// empty); "none" is never accepted.
	SigningAlgorithms []string
	// APIURLPrefix is Drawbridge's public URL; the redirect URI is it plus
	// CallbackPath. An https prefix makes the cookies Secure.
	APIURLPrefix string
	// Scopes are requested at login (openid is always added); ClaimsScopes
	// are Boundary's name for extra scopes whose claims are wanted.
	Scopes, ClaimsScopes []string
	// MaxAge, when set, is sent as max_age and the ID token's auth_time
	// must be at most this old.
	MaxAge time.Duration
	// AllowedTenants, when set, are the only Entra tenants (tid) accepted.
	AllowedTenants []string
	// EmailDomains are the domains whose verified e-mail (email_verified
	// true) may match a directory entry; never used for Entra.
	EmailDomains []string
	// RefuseGuests refuses Entra guest accounts (the acct claim is 1).
	RefuseGuests bool
	// ACRValues are asked for, and one of them required, at step-up.
	ACRValues []string
	// SessionIdle and SessionAbsolute end a session after that long
	// without use, and that long after sign-in, whatever the use.
	SessionIdle, SessionAbsolute time.Duration
	// StepUpWindow is how recent an authentication must be for a step-up
	// page (the approval page) to accept it.
	StepUpWindow time.Duration
}

// Options are what the wiring gives the authenticator.
type Options struct {
	// Directory resolves the person behind a login (by their linked
	// identity, or a verified e-mail) and on every request, so that
	// removed people and groups take effect at once.
	Directory drawbridge.Directory
	// Roles give a signed-in person their roles and scope.
	Roles []drawbridge.RoleBinding
	// Groups, when set, are the managed groups computed at every sign-in
	// and stored in Memberships (source "oidc:<issuer>").
	Groups      *claims.Groups
	Memberships drawbridge.GroupMembershipStore
	// Audit records sign-ins, refused sign-ins and sign-outs in the
	// audit trail.
	Audit  Auditor
	Clock  clock.Clock
	Logger *slog.Logger
	// HTTPClient talks to the identity provider (discovery, keys, token).
	HTTPClient *http.Client
}

// Auditor appends audit events (the store's AppendAudit).
type Auditor interface {
	AppendAudit(ctx context.Context, events ...drawbridge.AuditEvent) error
}

// Audit actions of the sign-in flow.
const (
	ActionSignIn        = "oidc_sign_in"
	ActionSignInRefused = "oidc_sign_in_refused"
	ActionSignOut       = "oidc_sign_out"
)

// Authenticator runs the sign-in flow and answers who is signed in.
type Authenticator struct {
	cfg      Config
	opt      Options
	sessions *sessions
	secure   bool
	entra    bool

	// The provider is discovered at the first sign-in, not at start: an
	// identity provider that is down must not keep the server (and its
	// revocations) from starting. Discovery is retried until it works.
	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *gooidc.IDTokenVerifier
	provider *gooidc.Provider
}

// New returns an authenticator for cfg; the issuer is discovered at the
// first sign-in.
func New(cfg Config, opt Options) *Authenticator {
	if opt.Clock == nil {
		opt.Clock = clock.Real{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Authenticator{
		cfg: cfg, opt: opt,
		sessions: newSessions(cfg.SessionIdle, cfg.SessionAbsolute),
		secure:   strings.HasPrefix(cfg.APIURLPrefix, "https://"),
		entra:    IsEntra(cfg.Issuer),
	}
}

// discover returns the OAuth2 client and ID token verifier of the
// issuer, discovering it on first use.
func (a *Authenticator) discover(ctx context.Context) (*oauth2.Config, *gooidc.IDTokenVerifier, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.oauth != nil {
		return a.oauth, a.verifier, nil
	}
	p, err := gooidc.NewProvider(gooidc.ClientContext(ctx, a.opt.HTTPClient), a.cfg.Issuer)
	if err != nil {
		a.opt.Logger.Error("oidc discovery failed", "issuer", a.cfg.Issuer, "error", err)
		return nil, nil, fmt.Errorf("the identity provider %s cannot be reached right now; try again in a minute", a.cfg.Issuer)
	}
	algs := a.cfg.SigningAlgorithms
	if len(algs) == 0 {
		algs = []string{gooidc.RS256}
	}
	scopes := []string{gooidc.ScopeOpenID}
	for _, s := range append(slices.Clone(a.cfg.Scopes), a.cfg.ClaimsScopes...) {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	a.oauth = &oauth2.Config{ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: strings.TrimSuffix(a.cfg.APIURLPrefix, "/") + CallbackPath, Scopes: scopes}
	a.provider = p
	a.verifier = p.Verifier(&gooidc.Config{ClientID: a.cfg.ClientID, SupportedSigningAlgs: algs, Now: a.opt.Clock.Now})
	return a.oauth, a.verifier, nil
}

// IsEntra reports whether issuer is Microsoft Entra ID's (public and
// national clouds): its e-mail claim is not verified and users can change
// it, so people are never matched by it.
func IsEntra(issuer string) bool {
	u, err := url.Parse(issuer)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	for _, d := range []string{"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn", "sts.windows.net", "login.windows.net"} {
		if h == d {
			return true
		}
	}
	return false
}

// Handler serves the login, callback and logout routes.
func (a *Authenticator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LoginPath, a.login)
	mux.HandleFunc("GET "+CallbackPath, a.callback)
	mux.HandleFunc("GET "+LogoutPath, a.logoutPage)
	mux.HandleFunc("POST "+LogoutPath, a.logout)
	return mux
}

func (a *Authenticator) sessionCookie() string {
	if a.secure {
		// __Host- cookies must be Secure, for path /, with no Domain: a
		// sibling subdomain cannot set or shadow them.
		return "__Host-drawbridge_session"
	}
	return "drawbridge_session"
}

const stateCookie = "drawbridge_oidc_state"

// LoginURL is where to send a browser to sign in and come back to
// returnTo (a path on this server).
func (a *Authenticator) LoginURL(returnTo string) string {
	return LoginPath + "?" + url.Values{"return_to": {safeReturn(returnTo)}}.Encode()
}

// safeReturn keeps a return address on this server: a path, never a URL
// or a protocol-relative "//host" that would make login an open redirect.
func safeReturn(s string) string {
	// Browsers drop tabs and newlines inside URLs and read "\" as "/",
	// so "/\t/evil.example" would become "//evil.example": any control
	// character, space or backslash sends the browser home instead.
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.IndexFunc(s, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '\\'
	}) >= 0 {
		return "/dashboard"
	}
	return s
}

// login starts the flow: a fresh state (bound to this browser by a
// cookie), nonce and PKCE verifier, then the redirect to the provider.
func (a *Authenticator) login(w http.ResponseWriter, r *http.Request) {
	a.startLogin(w, r, safeReturn(r.URL.Query().Get("return_to")), false)
}

func (a *Authenticator) startLogin(w http.ResponseWriter, r *http.Request, returnTo string, stepUp bool) {
	oc, _, err := a.discover(r.Context())
	if err != nil {
		a.fail(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	now := a.opt.Clock.Now()
	p := pendingLogin{nonce: randomString(), verifier: oauth2.GenerateVerifier(), returnTo: returnTo, stepUp: stepUp, started: now}
	state, err := a.sessions.begin(p)
	if err != nil {
		a.fail(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(p.verifier), gooidc.Nonce(p.nonce)}
	switch {
	case stepUp:
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0"))
		if len(a.cfg.ACRValues) > 0 {
			opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(a.cfg.ACRValues, " ")))
		}
	case a.cfg.MaxAge > 0:
		opts = append(opts, oauth2.SetAuthURLParam("max_age", fmt.Sprint(int64(a.cfg.MaxAge.Seconds()))))
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: state, Path: "/v1/auth-methods/", MaxAge: int(loginTimeout.Seconds()),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, oc.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback finishes the flow. Every check failing ends on an error page
// and no session: the state must be this browser's and pending, the code
// must redeem with the PKCE verifier, the ID token must be signed by the
// issuer's key with an allowed algorithm, for this client, unexpired, with
// the nonce of this login, and for a step-up authenticated just now.
func (a *Authenticator) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Path: "/v1/auth-methods/", MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	if e := q.Get("error"); e != "" {
		a.fail(w, http.StatusUnauthorized, "the identity provider refused the sign-in: "+e+" "+q.Get("error_description"))
		return
	}
	state := q.Get("state")
	c, err := r.Cookie(stateCookie)
	if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		a.fail(w, http.StatusBadRequest, "the sign-in's state does not match the one this browser started with (a link from elsewhere, or an old tab): sign in again")
		return
	}
	now := a.opt.Clock.Now()
	p, ok := a.sessions.finish(state, now)
	if !ok {
		a.fail(w, http.StatusBadRequest, "this sign-in is unknown, already used or older than 10 minutes: sign in again")
		return
	}
	oc, verifier, err := a.discover(r.Context())
	if err != nil {
		a.fail(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	ctx := gooidc.ClientContext(r.Context(), a.opt.HTTPClient)
	tok, err := oc.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		a.opt.Logger.Warn("oidc code exchange failed", "error", err)
		a.refuse(r, w, http.StatusUnauthorized, "the identity provider did not accept the sign-in code: sign in again")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		a.refuse(r, w, http.StatusUnauthorized, "the identity provider sent no ID token")
		return
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		a.opt.Logger.Warn("oidc ID token refused", "error", err)
		a.refuse(r, w, http.StatusUnauthorized, "the ID token was refused: "+err.Error())
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(p.nonce)) != 1 {
		a.refuse(r, w, http.StatusUnauthorized, "the ID token's nonce is not this sign-in's: sign in again")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		a.refuse(r, w, http.StatusUnauthorized, "the ID token's claims do not decode: "+err.Error())
		return
	}
	authTime := idt.IssuedAt
	if at, ok := claims["auth_time"].(float64); ok {
		authTime = time.Unix(int64(at), 0)
	}
	if err := a.checkToken(claims, authTime, p, now); err != nil {
		a.refuse(r, w, http.StatusForbidden, err.Error())
		return
	}
	pr, identity, err := a.match(r.Context(), idt.Issuer, claims)
	if err != nil {
		a.refuse(r, w, http.StatusForbidden, err.Error())
		return
	}
	signedIn := map[string]string{"identity": identity, "step_up": fmt.Sprint(p.stepUp), "auth_time": authTime.UTC().Format(time.RFC3339)}
	if a.opt.Groups != nil {
		signedIn["managed_groups"] = a.refreshGroups(ctx, tok, pr.ID, idt.Issuer, claims, now)
		signedIn["managed_groups_source"] = drawbridge.IdentityOIDC + ":" + idt.Issuer
	}
	id := a.sessions.create(&session{principal: pr.ID, identity: identity, authTime: authTime}, now)
	http.SetCookie(w, &http.Cookie{Name: a.sessionCookie(), Value: id, Path: "/", HttpOnly: true, Secure: a.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(a.cfg.SessionAbsolute.Seconds())})
	a.opt.Logger.Info("oidc sign-in", "principal", pr.ID, "identity", identity, "step_up", p.stepUp)
	a.audit(r, pr.ID, ActionSignIn, signedIn)
	http.Redirect(w, r, p.returnTo, http.StatusFound)
}

// refreshGroups computes the person's managed groups from this sign-in's
// claims and stores them with their source and time. When the claims
// cannot be read completely (the userinfo call fails, or the token says
// its groups did not fit), nothing is replaced: the memberships computed
// earlier stay until they expire, and are never read as "no groups".
// It returns what happened, for the sign-in's audit event: the groups
// computed (comma-separated), or why none were.
func (a *Authenticator) refreshGroups(ctx context.Context, tok *oauth2.Token, principal, issuer string, token map[string]any, now time.Time) string {
	userinfo := map[string]any{}
	a.mu.Lock()
	p := a.provider
	a.mu.Unlock()
	if p.UserInfoEndpoint() != "" {
		ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err == nil {
			err = ui.Claims(&userinfo)
		}
		if err != nil {
			a.opt.Logger.Warn("managed groups not refreshed: the userinfo call failed; earlier memberships stay until they expire", "principal", principal, "error", err)
			return "not refreshed: userinfo failed"
		}
	}
	groups, err := a.opt.Groups.Evaluate(token, userinfo)
	if errors.Is(err, claims.ErrGroupsOverage) {
		a.opt.Logger.Warn("managed groups not refreshed: the ID token carries a groups overage marker instead of the groups (more than ~200); "+
			"resolving them through Microsoft Graph needs the Entra provider; earlier memberships stay until they expire", "principal", principal)
		return "not refreshed: groups overage"
	}
	if err := a.opt.Memberships.ReplaceGroupMemberships(ctx, principal, drawbridge.IdentityOIDC+":"+issuer, groups, now); err != nil {
		a.opt.Logger.Error("managed groups not stored", "principal", principal, "error", err)
		return "not refreshed: not stored"
	}
	a.opt.Logger.Info("managed groups computed", "principal", principal, "groups", groups)
	return strings.Join(groups, ",")
}

// authSkew is the clock difference allowed between the provider's
// auth_time and ours for max_age and step-up.
const authSkew = time.Minute

// checkToken applies the rules beyond the signature: tenant, guests,
// max_age, and for a step-up a fresh authentication with an acceptable
// acr.
func (a *Authenticator) checkToken(claims map[string]any, authTime time.Time, p pendingLogin, now time.Time) error {
	if len(a.cfg.AllowedTenants) > 0 {
		tid, _ := claims["tid"].(string)
		if !slices.Contains(a.cfg.AllowedTenants, tid) {
			return fmt.Errorf("the account's tenant %q is not in oidc.allowed_tenants", tid)
		}
	}
	if a.cfg.RefuseGuests {
		acct, ok := claims["acct"].(float64)
		switch {
		case !ok:
			return errors.New("oidc.refuse_guests needs the optional claim acct in the ID token (Entra app registration → Token configuration → Add optional claim → acct)")
		case acct != 0:
			return errors.New("guest accounts may not sign in (oidc.refuse_guests)")
		}
	}
	if a.cfg.MaxAge > 0 && now.Sub(authTime) > a.cfg.MaxAge+authSkew {
		return fmt.Errorf("the identity provider's authentication is from %s, older than oidc.max_age %s: sign in again", authTime.UTC().Format(time.RFC3339), a.cfg.MaxAge)
	}
	if p.stepUp {
		if authTime.Before(p.started.Add(-authSkew)) {
			return errors.New("this page needs a fresh sign-in, and the identity provider reused an earlier one: sign in again")
		}
		if len(a.cfg.ACRValues) > 0 {
			acr, _ := claims["acr"].(string)
			if !slices.Contains(a.cfg.ACRValues, acr) {
				return fmt.Errorf("this page needs an authentication of class %s (oidc.acr_values), the identity provider says %q", strings.Join(a.cfg.ACRValues, " or "), acr)
			}
		}
	}
	return nil
}

// match finds the person behind the token. The stable subject comes
// first: sub, or for Entra the object id oid (sub differs per app), linked
// as oidc:<issuer>#<subject>; for Entra also the directory's entra:<oid>.
// A verified e-mail on an allowed domain matches only where the provider
// verifies e-mail: never for Entra, whose email claim users can set
// ("nOAuth"). An e-mail match is refused when the person already has a
// different linked identity at this issuer.
func (a *Authenticator) match(ctx context.Context, issuer string, claims map[string]any) (*drawbridge.Principal, string, error) {
	subject, _ := claims["sub"].(string)
	if a.entra {
		oid, _ := claims["oid"].(string)
		if oid == "" {
			return nil, "", errors.New("the Entra ID token has no oid claim: Drawbridge matches Entra users by object id only")
		}
		subject = oid
	}
	if subject == "" {
		return nil, "", errors.New("the ID token has no subject")
	}
	identity := issuer + "#" + subject
	if err := drawbridge.CheckIdentity(drawbridge.IdentityOIDC, identity); err != nil {
		return nil, "", err
	}
	keys := []string{drawbridge.IdentityOIDC + ":" + identity}
	if a.entra {
		keys = append(keys, drawbridge.IdentityEntra+":"+subject)
	}
	for _, k := range keys {
		p, err := a.opt.Directory.Resolve(ctx, k)
		if err == nil {
			return p, identity, nil
		}
		if !drawbridge.IsUnknownPerson(err) {
			return nil, "", err
		}
	}
	email, _ := claims["email"].(string)
	verified, _ := claims["email_verified"].(bool)
	if !a.entra && verified && email != "" && drawbridge.CheckEmail(email) == nil && a.emailDomainAllowed(email) {
		p, err := a.opt.Directory.Resolve(ctx, email)
		switch {
		case err == nil:
			// Only a link to another account of this same issuer blocks the
			// e-mail path; a link at another issuer says nothing about
			// accounts here.
			if linked := p.Identity(drawbridge.IdentityOIDC); strings.HasPrefix(linked, issuer+"#") && linked != identity {
				return nil, "", fmt.Errorf("%s is linked to another account of this identity provider: sign in with that one", p.ID)
			}
			return p, identity, nil
		case !drawbridge.IsUnknownPerson(err):
			return nil, "", err
		}
	}
	return nil, "", fmt.Errorf("this account (%s) is not in Drawbridge's directory: ask an administrator to add identities.oidc: %s to your directory entry", identity, identity)
}

func (a *Authenticator) emailDomainAllowed(email string) bool {
	domain := strings.ToLower(email[strings.LastIndexByte(email, '@')+1:])
	return slices.Contains(a.cfg.EmailDomains, domain)
}

// Caller returns who is signed in on r, from the session cookie: the
// person resolved now (so a person or group removed from the directory
// loses access at once), with roles and scope from the role bindings.
// No or an ended session is EUNAUTHORIZED.
func (a *Authenticator) Caller(r *http.Request) (drawbridge.Caller, error) {
	s, err := a.session(r)
	if err != nil {
		return drawbridge.Caller{}, err
	}
	return a.callerOf(r.Context(), s)
}

func (a *Authenticator) session(r *http.Request) (session, error) {
	c, err := r.Cookie(a.sessionCookie())
	if err != nil || c.Value == "" {
		return session{}, drawbridge.Errorf(drawbridge.EUNAUTHORIZED, "not signed in")
	}
	s, ok := a.sessions.get(c.Value, a.opt.Clock.Now())
	if !ok {
		return session{}, drawbridge.Errorf(drawbridge.EUNAUTHORIZED, "the session has ended: sign in again")
	}
	return s, nil
}

func (a *Authenticator) callerOf(ctx context.Context, s session) (drawbridge.Caller, error) {
	p, err := a.opt.Directory.Resolve(ctx, s.principal)
	if drawbridge.IsUnknownPerson(err) {
		return drawbridge.Caller{}, drawbridge.Errorf(drawbridge.EUNAUTHORIZED, "%s is no longer in the directory", s.principal)
	} else if err != nil {
		return drawbridge.Caller{}, err
	}
	roles, scope := drawbridge.BindRoles(p, a.opt.Roles)
	return drawbridge.Caller{Principal: p.ID, Roles: roles, Scope: scope, Channel: drawbridge.ChannelWeb,
		Auth: drawbridge.IdentityOIDC + ":" + s.identity}, nil
}

// RequireFreshLogin returns the caller of r when their last
// authentication at the identity provider is within the step-up window
// (oidc.step_up_window); otherwise it sends the browser to sign in again
// with prompt=login and max_age=0 (and acr_values when configured) and
// returns ok=false: the page must then write nothing more. The approval
// page uses it so that an approval counts only from someone who just
// proved who they are.
func (a *Authenticator) RequireFreshLogin(w http.ResponseWriter, r *http.Request) (drawbridge.Caller, bool) {
	s, err := a.session(r)
	if err == nil && a.opt.Clock.Now().Sub(s.authTime) <= a.cfg.StepUpWindow {
		c, err := a.callerOf(r.Context(), s)
		if err == nil {
			return c, true
		}
	}
	a.startLogin(w, r, safeReturn(r.URL.RequestURI()), true)
	return drawbridge.Caller{}, false
}

var logoutPage = template.Must(template.New("logout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Sign out of Drawbridge</title></head>
<body><main><h1>Sign out</h1><form method="post" action="{{.}}"><button type="submit">Sign out</button></form></main></body></html>
`))

// logoutPage offers a button: signing out changes state, so it is a POST
// (a link or an image on another site cannot sign anyone out).
func (a *Authenticator) logoutPage(w http.ResponseWriter, _ *http.Request) {
	setPageHeaders(w)
	_ = logoutPage.Execute(w, LogoutPath)
}

func (a *Authenticator) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(a.sessionCookie()); err == nil {
		if s, ok := a.sessions.get(c.Value, a.opt.Clock.Now()); ok {
			a.audit(r, s.principal, ActionSignOut, map[string]string{"identity": s.identity})
		}
		a.sessions.delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: a.sessionCookie(), Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	setPageHeaders(w)
	_, _ = w.Write([]byte("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed out</title></head><body><main><h1>Signed out</h1><p><a href=\"" + LoginPath + "\">Sign in again</a></p></main></body></html>\n"))
}

var failPage = template.Must(template.New("fail").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Sign-in failed</title></head>
<body><main><h1>Sign-in failed</h1><p>{{.Message}}</p><p><a href="{{.Login}}">Sign in again</a></p></main></body></html>
`))

// refuse is fail for a sign-in this server started and the browser
// completed (its state was good): such refusals are recorded in the audit
// trail. Callbacks with a bad state are only logged — anyone can send
// those, and they must not be able to fill the trail.
func (a *Authenticator) refuse(r *http.Request, w http.ResponseWriter, status int, msg string) {
	a.audit(r, "oidc:unverified", ActionSignInRefused, map[string]string{"reason": msg, "remote_addr": r.RemoteAddr})
	a.fail(w, status, msg)
}

func (a *Authenticator) audit(r *http.Request, actor, action string, details map[string]string) {
	if a.opt.Audit == nil {
		return
	}
	ev := drawbridge.AuditEvent{Time: a.opt.Clock.Now(), Actor: actor, Action: action, Details: details}
	if err := a.opt.Audit.AppendAudit(context.WithoutCancel(r.Context()), ev); err != nil {
		a.opt.Logger.Error("oidc: audit event not written", "action", action, "error", err)
	}
}

// fail answers a refused sign-in with a page saying why; no session is
// created.
func (a *Authenticator) fail(w http.ResponseWriter, status int, msg string) {
	setPageHeaders(w)
	w.WriteHeader(status)
	_ = failPage.Execute(w, map[string]string{"Message": drawbridge.Printable(msg), "Login": LoginPath})
}

func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}
