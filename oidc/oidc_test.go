package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/directory"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
	"github.com/drawbridge-jit/drawbridge/oidc/claims"
	"github.com/drawbridge-jit/drawbridge/oidc/emulator"
)

// rig is a Drawbridge sign-in on loopback against the emulator, on a
// fake clock shared by both.
type rig struct {
	t     *testing.T
	idp   *emulator.Server
	auth  *Authenticator
	srv   *httptest.Server
	clock *clock.Fake
	jar   http.CookieJar
	store drawbridge.GroupMembershipStore
	audit drawbridge.Store
}

// actions returns the audit trail's actions as "actor action".
func (r *rig) actions() []string {
	r.t.Helper()
	var out []string
	if err := r.audit.ScanAudit(context.Background(), func(ev drawbridge.AuditEvent) error {
		out = append(out, ev.Actor+" "+ev.Action)
		return nil
	}); err != nil {
		r.t.Fatal(err)
	}
	return out
}

var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func newRig(t *testing.T, mod func(*Config)) *rig { return newGroupsRig(t, mod, nil) }

// newGroupsRig is newRig with managed groups, stored in a real SQLite
// store, feeding the directory.
func newGroupsRig(t *testing.T, mod func(*Config), groups []claims.ManagedGroup) *rig {
	t.Helper()
	fc := clock.NewFake(t0)
	idp, err := emulator.Start("drawbridge", "client-secret-0123456789", []emulator.User{
		{Subject: "alice-sub", Email: "alice@example.com", Name: "Alice"},
		{Subject: "bob-sub", Email: "bob@example.com", Name: "Bob", Claims: map[string]any{"email_verified": true}},
		{Subject: "mallory-sub", Email: "bob@example.com", Name: "Mallory"},
		{Subject: "eve-sub", Email: "eve@evil.example", Name: "Eve", Claims: map[string]any{"email_verified": true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	idp.Now = fc.Now
	r := &rig{t: t, idp: idp, clock: fc}
	mux := http.NewServeMux()
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	static := directory.NewStatic([]directory.User{
		{Email: "alice@example.com", Identities: map[string]string{"oidc": idp.Issuer() + "#alice-sub"}, Groups: []string{"sre-leads"}},
		{Email: "bob@example.com"},
		{Email: "eve@evil.example"},
	})
	var dir drawbridge.Directory = static
	st := testenv.NewStore(t, fc.Now)
	r.store, r.audit = st, st
	opt := Options{Clock: fc, Audit: st}
	if groups != nil {
		g, err := claims.CompileGroups(groups, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		dir = &GroupDirectory{Next: static, Store: st, Defined: static, ValidFor: time.Hour, Now: fc.Now}
		opt.Groups, opt.Memberships = g, st
	}
	opt.Directory = dir
	cfg := Config{Issuer: idp.Issuer(), ClientID: "drawbridge", ClientSecret: "client-secret-0123456789",
		APIURLPrefix: r.srv.URL, EmailDomains: []string{"example.com"},
		SessionIdle: 30 * time.Minute, SessionAbsolute: 12 * time.Hour, StepUpWindow: 5 * time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	opt.Roles = []drawbridge.RoleBinding{
		{Members: []string{"*"}, Roles: []drawbridge.Role{drawbridge.RoleRequester}},
		{Members: []string{"group:sre-leads"}, Roles: []drawbridge.Role{drawbridge.RoleApprover}},
		{Members: []string{"group:prod-approvers"}, Roles: []drawbridge.Role{drawbridge.RoleApprover, drawbridge.RoleAuditor}},
	}
	a := New(cfg, opt)
	r.auth = a
	mux.Handle("/v1/", a.Handler())
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, req *http.Request) {
		c, err := a.Caller(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		io.WriteString(w, c.Principal+" "+drawbridge.JoinRoles(c.Roles)+" "+c.Auth)
	})
	mux.HandleFunc("/approve", func(w http.ResponseWriter, req *http.Request) {
		c, ok := a.RequireFreshLogin(w, req)
		if ok {
			io.WriteString(w, "fresh "+c.Principal)
		}
	})
	r.jar, _ = cookiejar.New(nil)
	return r
}

func (r *rig) client() *http.Client {
	return &http.Client{Jar: r.jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches u without following redirects.
func (r *rig) get(u string) *http.Response {
	r.t.Helper()
	resp, err := r.client().Get(u)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// signIn runs the redirect flow from start (the login URL or a page that
// sends there) as the emulator's user subject, and returns the callback's
// response; tamper may change the callback URL first.
func (r *rig) signIn(start, subject string, tamper func(*url.URL)) *http.Response {
	r.t.Helper()
	resp := r.get(start)
	if resp.StatusCode != http.StatusFound {
		r.t.Fatalf("GET %s: %d %s", start, resp.StatusCode, body(r.t, resp))
	}
	authz, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(authz.String(), r.idp.Issuer()+"/authorize") {
		r.t.Fatalf("login redirected to %s, not the provider", authz)
	}
	q := authz.Query()
	q.Set("login_hint", subject)
	authz.RawQuery = q.Encode()
	resp = r.get(authz.String())
	if resp.StatusCode != http.StatusFound {
		r.t.Fatalf("authorize: %d %s", resp.StatusCode, body(r.t, resp))
	}
	cb, _ := url.Parse(resp.Header.Get("Location"))
	if tamper != nil {
		tamper(cb)
	}
	return r.get(cb.String())
}

func (r *rig) whoami() (int, string) {
	resp := r.get(r.srv.URL + "/whoami")
	return resp.StatusCode, strings.TrimSpace(body(r.t, resp))
}

func sessionCookieSet(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if strings.Contains(c.Name, "drawbridge_session") && c.MaxAge >= 0 && c.Value != "" {
			return true
		}
	}
	return false
}

func TestSignInGivesASessionAndACaller(t *testing.T) {
	r := newRig(t, nil)
	resp := r.signIn(r.srv.URL+LoginPath+"?return_to=/dashboard/requests", "alice-sub", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/dashboard/requests" {
		t.Fatalf("callback: %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), body(t, resp))
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "drawbridge_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure on http", cookie)
	}
	code, who := r.whoami()
	want := "alice@example.com requester, approver oidc:" + r.idp.Issuer() + "#alice-sub"
	if code != 200 || who != want {
		t.Fatalf("whoami = %d %q, want %q", code, who, want)
	}
	// Logout ends the session on the server, not only in the browser.
	old := cookie.Value
	resp, err := r.client().PostForm(r.srv.URL+LogoutPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, _ := r.whoami(); code != 401 {
		t.Fatalf("after logout whoami = %d", code)
	}
	req, _ := http.NewRequest("GET", r.srv.URL+"/whoami", nil)
	req.AddCookie(&http.Cookie{Name: "drawbridge_session", Value: old})
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("the old cookie still works after logout: %d", resp.StatusCode)
	}
	if got := strings.Join(r.actions(), "; "); got != "alice@example.com oidc_sign_in; alice@example.com oidc_sign_out" {
		t.Fatalf("audit trail: %s", got)
	}
}

func TestReturnToStaysOnThisServer(t *testing.T) {
	for _, in := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "/\t/evil.example", "/\n/evil.example", "/ /x", "javascript:alert(1)", ""} {
		if got := safeReturn(in); got != "/dashboard" {
			t.Errorf("safeReturn(%q) = %q", in, got)
		}
	}
	if got := safeReturn("/dashboard/requests/req_1?x=1"); got != "/dashboard/requests/req_1?x=1" {
		t.Errorf("a local path was changed: %q", got)
	}
}

// TestRejectedSignIns is the acceptance list: each tampered or wrong
// token ends on an error page and creates no session.
func TestRejectedSignIns(t *testing.T) {
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mint   func(*emulator.Token)
		tamper func(*url.URL)
		want   string
	}{
		{name: "state tampered", tamper: func(u *url.URL) {
			q := u.Query()
			q.Set("state", q.Get("state")+"x")
			u.RawQuery = q.Encode()
		}, want: "state does not match"},
		{name: "nonce tampered", mint: func(t *emulator.Token) { t.Claims["nonce"] = "forged" }, want: "nonce"},
		{name: "signed with another key", mint: func(t *emulator.Token) { t.Key = otherKey }, want: "signature"},
		{name: "alg none", mint: func(t *emulator.Token) { t.Alg = "none" }, want: "ID token was refused"},
		{name: "HS256 with the client secret", mint: func(t *emulator.Token) { t.Alg = "HS256" }, want: "ID token was refused"},
		{name: "expired", mint: func(t *emulator.Token) { t.Claims["exp"] = t0.Add(-time.Minute).Unix() }, want: "expired"},
		{name: "another audience", mint: func(t *emulator.Token) { t.Claims["aud"] = "someone-else" }, want: "audience"},
		{name: "another issuer", mint: func(t *emulator.Token) { t.Claims["iss"] = "https://evil.example" }, want: "different provider"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.idp.Mint = tc.mint
			resp := r.signIn(r.srv.URL+LoginPath, "alice-sub", tc.tamper)
			page := body(t, resp)
			if resp.StatusCode < 400 || !strings.Contains(page, "Sign-in failed") || !strings.Contains(page, tc.want) {
				t.Fatalf("callback answered %d, want an error page naming %q:\n%s", resp.StatusCode, tc.want, page)
			}
			if sessionCookieSet(resp) {
				t.Fatal("a refused sign-in set a session cookie")
			}
			if code, who := r.whoami(); code != 401 {
				t.Fatalf("after a refused sign-in whoami = %d %s", code, who)
			}
			// A refusal of a sign-in this server started is audited; a
			// callback with a bad state is anyone's and only logged.
			want := "oidc:unverified oidc_sign_in_refused"
			if tc.tamper != nil {
				want = ""
			}
			if got := strings.Join(r.actions(), "; "); got != want {
				t.Fatalf("audit trail %q, want %q", got, want)
			}
		})
	}
}

func TestAStateIsGoodForOneCallback(t *testing.T) {
	r := newRig(t, nil)
	var replay string
	resp := r.signIn(r.srv.URL+LoginPath, "alice-sub", func(u *url.URL) { replay = u.String() })
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("first callback: %d", resp.StatusCode)
	}
	resp = r.get(replay)
	if resp.StatusCode != http.StatusBadRequest || sessionCookieSet(resp) {
		t.Fatalf("a replayed callback answered %d", resp.StatusCode)
	}
}

func TestMatchingPeople(t *testing.T) {
	cases := []struct {
		subject, want string
	}{
		{"alice-sub", "200 alice@example.com"}, // linked identity
		{"bob-sub", "200 bob@example.com"},     // verified e-mail on an allowed domain
		{"mallory-sub", "403 not in"},          // same e-mail, not verified: never matched
		{"eve-sub", "403 not in"},              // verified, domain not allowed
	}
	for _, tc := range cases {
		t.Run(tc.subject, func(t *testing.T) {
			r := newRig(t, nil)
			resp := r.signIn(r.srv.URL+LoginPath, tc.subject, nil)
			page := body(t, resp)
			code, who := r.whoami()
			got := ""
			if resp.StatusCode == http.StatusFound {
				got = "200 " + strings.Fields(who)[0]
				if code != 200 {
					t.Fatalf("signed in but whoami = %d", code)
				}
			} else {
				got = http.StatusText(resp.StatusCode)
				if resp.StatusCode == 403 && strings.Contains(page, "not in Drawbridge") {
					got = "403 not in"
				}
			}
			if got != tc.want {
				t.Fatalf("%s: got %q, want %q\n%s", tc.subject, got, tc.want, page)
			}
		})
	}
}

// TestEntraNeverMatchesByEmail: Entra's email claim is unverified and
// user-editable, so even a claim saying email_verified is ignored there;
// the object id decides.
func TestEntraNeverMatchesByEmail(t *testing.T) {
	if !IsEntra("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0") || IsEntra("https://login.example.com") {
		t.Fatal("IsEntra")
	}
	iss := "https://login.microsoftonline.com/tenant-1/v2.0"
	dir := directory.NewStatic([]directory.User{
		{Email: "alice@example.com", Identities: map[string]string{"entra": "oid-alice"}},
		{Email: "bob@example.com"},
	})
	a := &Authenticator{entra: true, cfg: Config{EmailDomains: []string{"example.com"}}, opt: Options{Directory: dir}}
	p, id, err := a.match(context.Background(), iss, map[string]any{"sub": "pairwise", "oid": "oid-alice", "email": "bob@example.com", "email_verified": true})
	if err != nil || p.ID != "alice@example.com" || id != iss+"#oid-alice" {
		t.Fatalf("by oid: %v %v %q", p, err, id)
	}
	_, _, err = a.match(context.Background(), iss, map[string]any{"sub": "pairwise", "oid": "oid-attacker", "email": "bob@example.com", "email_verified": true})
	if err == nil {
		t.Fatal("an Entra token matched bob by its email claim (nOAuth)")
	}
}

func TestSessionTimeouts(t *testing.T) {
	r := newRig(t, nil)
	r.signIn(r.srv.URL+LoginPath, "alice-sub", nil)
	r.clock.Advance(29 * time.Minute)
	if code, _ := r.whoami(); code != 200 {
		t.Fatalf("used within the idle timeout: %d", code)
	}
	r.clock.Advance(30 * time.Minute)
	if code, _ := r.whoami(); code != 401 {
		t.Fatalf("idle for 30m: %d, want 401", code)
	}
	r.signIn(r.srv.URL+LoginPath, "alice-sub", nil)
	for range 25 { // used every 29 minutes, past the 12h absolute limit
		r.clock.Advance(29 * time.Minute)
		r.whoami()
	}
	if code, _ := r.whoami(); code != 401 {
		t.Fatalf("a session used for over 12h still works: %d", code)
	}
}

func TestMaxAge(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MaxAge = time.Hour })
	r.idp.Mint = func(tok *emulator.Token) { tok.Claims["auth_time"] = t0.Add(-2 * time.Hour).Unix() }
	resp := r.signIn(r.srv.URL+LoginPath, "alice-sub", nil)
	if page := body(t, resp); resp.StatusCode != 403 || !strings.Contains(page, "max_age") || sessionCookieSet(resp) {
		t.Fatalf("an authentication older than max_age: %d %s", resp.StatusCode, page)
	}
}

func TestStepUp(t *testing.T) {
	r := newRig(t, func(c *Config) { c.ACRValues = []string{"mfa"} })
	r.signIn(r.srv.URL+LoginPath, "alice-sub", nil)
	r.clock.Advance(2 * time.Minute)
	if resp := r.get(r.srv.URL + "/approve"); resp.StatusCode != 200 {
		t.Fatalf("within the step-up window: %d", resp.StatusCode)
	}
	r.clock.Advance(10 * time.Minute)
	resp := r.get(r.srv.URL + "/approve")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), r.idp.Issuer()) ||
		loc.Query().Get("prompt") != "login" || loc.Query().Get("max_age") != "0" || loc.Query().Get("acr_values") != "mfa" {
		t.Fatalf("a stale authentication was not sent to re-authenticate: %d %s", resp.StatusCode, loc)
	}
	// The provider reusing the old authentication is refused.
	r.idp.Mint = func(tok *emulator.Token) { tok.Claims["auth_time"] = t0.Unix() }
	resp = r.signIn(r.srv.URL+"/approve", "alice-sub", nil)
	if page := body(t, resp); resp.StatusCode != 403 || !strings.Contains(page, "fresh sign-in") {
		t.Fatalf("reused authentication: %d %s", resp.StatusCode, page)
	}
	r.idp.Mint = nil
	resp = r.signIn(r.srv.URL+"/approve", "alice-sub", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/approve" {
		t.Fatalf("fresh step-up: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := r.get(r.srv.URL + "/approve"); resp.StatusCode != 200 || body(t, resp) != "fresh alice@example.com" {
		t.Fatalf("after step-up: %d", resp.StatusCode)
	}
}

func TestTenantsAndGuests(t *testing.T) {
	r := newRig(t, func(c *Config) { c.AllowedTenants = []string{"tenant-1"}; c.RefuseGuests = true })
	r.idp.Mint = func(tok *emulator.Token) { tok.Claims["tid"] = "tenant-2"; tok.Claims["acct"] = 0 }
	if resp := r.signIn(r.srv.URL+LoginPath, "alice-sub", nil); resp.StatusCode != 403 || !strings.Contains(body(t, resp), "allowed_tenants") {
		t.Fatalf("another tenant: %d", resp.StatusCode)
	}
	r.idp.Mint = func(tok *emulator.Token) { tok.Claims["tid"] = "tenant-1"; tok.Claims["acct"] = 1 }
	if resp := r.signIn(r.srv.URL+LoginPath, "alice-sub", nil); resp.StatusCode != 403 || !strings.Contains(body(t, resp), "guest") {
		t.Fatalf("a guest: %d", resp.StatusCode)
	}
	r.idp.Mint = func(tok *emulator.Token) { tok.Claims["tid"] = "tenant-1"; tok.Claims["acct"] = 0 }
	if resp := r.signIn(r.srv.URL+LoginPath, "alice-sub", nil); resp.StatusCode != http.StatusFound {
		t.Fatalf("a member of the allowed tenant: %d %s", resp.StatusCode, body(t, resp))
	}
}

// TestProviderDownAtStart: the provider is discovered at the first
// sign-in, so a provider that is down never stops the server; sign-in
// answers 503 saying so, and works once the provider answers.
func TestProviderDownAtStart(t *testing.T) {
	r := newRig(t, nil)
	real := r.auth.cfg.Issuer
	down := New(Config{Issuer: "http://127.0.0.1:1", ClientID: "drawbridge", APIURLPrefix: r.srv.URL,
		SessionIdle: time.Minute, SessionAbsolute: time.Hour}, Options{Clock: r.clock})
	rec := httptest.NewRecorder()
	down.Handler().ServeHTTP(rec, httptest.NewRequest("GET", LoginPath, nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "cannot be reached right now") {
		t.Fatalf("provider down: %d %s", rec.Code, rec.Body)
	}
	down.cfg.Issuer = real
	rec = httptest.NewRecorder()
	down.Handler().ServeHTTP(rec, httptest.NewRequest("GET", LoginPath, nil))
	if rec.Code != http.StatusFound {
		t.Fatalf("provider back: %d %s", rec.Code, rec.Body)
	}
}

// A person linked at another issuer may still be matched here by a verified
// e-mail; only a link at this same issuer (another account of this
// provider) blocks the e-mail path.
func TestLinkAtAnotherIssuerDoesNotBlockEmail(t *testing.T) {
	iss := "https://idp.example.com"
	dir := directory.NewStatic([]directory.User{
		{Email: "carol@example.com", Identities: map[string]string{"oidc": "https://login.example.com#carol-old"}},
		{Email: "dan@example.com", Identities: map[string]string{"oidc": iss + "#dan-other"}},
	})
	a := &Authenticator{cfg: Config{EmailDomains: []string{"example.com"}}, opt: Options{Directory: dir}}
	p, _, err := a.match(context.Background(), iss, map[string]any{"sub": "carol-new", "email": "carol@example.com", "email_verified": true})
	if err != nil || p.ID != "carol@example.com" {
		t.Fatalf("carol, linked at another issuer: %v %v", p, err)
	}
	if _, _, err := a.match(context.Background(), iss, map[string]any{"sub": "dan-new", "email": "dan@example.com", "email_verified": true}); err == nil {
		t.Fatal("dan is linked to another account of this issuer, yet matched by e-mail")
	}
}
