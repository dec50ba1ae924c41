package dashboard_test

import (
	"encoding/csv"
	"html"
	"io"
	nethttp "net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/dashboard"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// testAuth is a test double of the dashboard's own Authenticator: the
// "session" cookie names a caller, and fresh says whose sign-in is recent
// enough for an approval.
type testAuth struct {
	callers map[string]drawbridge.Caller
	fresh   map[string]bool
}

func (a *testAuth) Caller(r *nethttp.Request) (drawbridge.Caller, error) {
	ck, err := r.Cookie("session")
	if err != nil {
		return drawbridge.Caller{}, drawbridge.Errorf(drawbridge.EUNAUTHORIZED, "not signed in")
	}
	c, ok := a.callers[ck.Value]
	if !ok {
		return drawbridge.Caller{}, drawbridge.Errorf(drawbridge.EUNAUTHORIZED, "no such session")
	}
	return c, nil
}

func (a *testAuth) LoginURL(returnTo string) string {
	return "/login?return_to=" + url.QueryEscape(returnTo)
}

func (a *testAuth) RequireFreshLogin(w nethttp.ResponseWriter, r *nethttp.Request) (drawbridge.Caller, bool) {
	ck, _ := r.Cookie("session")
	if ck != nil && a.fresh[ck.Value] {
		return a.callers[ck.Value], true
	}
	nethttp.Redirect(w, r, "/login?prompt=login&return_to="+url.QueryEscape(r.URL.RequestURI()), nethttp.StatusSeeOther)
	return drawbridge.Caller{}, false
}

type env struct {
	*testenv.Env
	t    *testing.T
	srv  *httptest.Server
	auth *testAuth
}

func newEnv(t *testing.T) *env {
	t.Helper()
	te := testenv.New(t, testenv.Options{})
	auth := &testAuth{
		callers: map[string]drawbridge.Caller{
			"alice":  {Principal: testenv.Alice, Roles: []drawbridge.Role{drawbridge.RoleRequester}, Auth: "oidc:alice"},
			"dave":   {Principal: testenv.Dave, Roles: []drawbridge.Role{drawbridge.RoleRequester}, Auth: "oidc:dave"},
			"carol":  {Principal: testenv.Carol, Roles: []drawbridge.Role{drawbridge.RoleApprover}, Auth: "oidc:carol"},
			"bob":    {Principal: testenv.Bob, Roles: []drawbridge.Role{drawbridge.RoleApprover}, Auth: "oidc:bob"},
			"audit":  {Principal: "auditor@example.com", Roles: []drawbridge.Role{drawbridge.RoleAuditor}, Auth: "oidc:audit"},
			"scoped": {Principal: "scoped@example.com", Roles: []drawbridge.Role{drawbridge.RoleAuditor}, Auth: "oidc:scoped", Scope: drawbridge.Scope{Resources: []string{testenv.Staging}}},
		},
		fresh: map[string]bool{"carol": true},
	}
	s := &dashboard.Server{Broker: te.Broker, Auth: auth, Clock: te.Clock}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{Env: te, t: t, srv: srv, auth: auth}
}

// client is a browser signed in as who ("" for nobody), not following
// redirects so that tests see them.
func (e *env) client(who string) *nethttp.Client {
	jar, _ := cookiejar.New(nil)
	if who != "" {
		u, _ := url.Parse(e.srv.URL)
		jar.SetCookies(u, []*nethttp.Cookie{{Name: "session", Value: who, Path: "/"}})
	}
	return &nethttp.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*nethttp.Request, []*nethttp.Request) error { return nethttp.ErrUseLastResponse }}
}

func (e *env) get(c *nethttp.Client, path string) (int, string, nethttp.Header) {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (e *env) post(c *nethttp.Client, path string, form url.Values, hdr ...string) (int, string, nethttp.Header) {
	e.t.Helper()
	req, _ := nethttp.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var csrfRe = regexp.MustCompile(`name="csrf-token" content="([0-9a-f]+)"`)

// csrf loads path as c and returns the CSRF token of its forms.
func (e *env) csrf(c *nethttp.Client, path string) string {
	e.t.Helper()
	code, body, _ := e.get(c, path)
	m := csrfRe.FindStringSubmatch(body)
	if code != 200 || m == nil {
		e.t.Fatalf("GET %s: %d, no CSRF token in\n%s", path, code, body)
	}
	return m[1]
}

// pendingProd is alice's request for prod admin: it needs one approval
// from sre-leads (rule prod-admin).
func (e *env) pendingProd() *drawbridge.Request {
	r := e.Submit(e.t, testenv.Alice, testenv.Prod, "AdministratorAccess", time.Hour, "INC-1")
	if r.State != drawbridge.StatePendingApproval {
		e.t.Fatalf("prod request is %s, want PENDING_APPROVAL", r.State)
	}
	return r
}

func TestPagesNeedSignIn(t *testing.T) {
	e := newEnv(t)
	r := e.pendingProd()
	anon := e.client("")
	for _, p := range []string{"/dashboard", "/dashboard/requests", "/dashboard/requests/" + r.ID, "/dashboard/inbox", "/dashboard/requests.csv"} {
		code, _, h := e.get(anon, p)
		if code != nethttp.StatusSeeOther || h.Get("Location") != "/login?return_to="+url.QueryEscape(p) {
			t.Errorf("GET %s signed out: %d to %q, want 303 to the login URL returning there", p, code, h.Get("Location"))
		}
	}
	code, body, _ := e.post(anon, "/dashboard/requests/"+r.ID+"/approve", url.Values{"csrf": {"x"}})
	if code != nethttp.StatusUnauthorized || !strings.Contains(body, "sign in again") {
		t.Errorf("POST approve signed out: %d %s", code, body)
	}
	if got := e.Get(t, r.ID); len(got.Approvals) != 0 {
		t.Fatalf("a signed-out POST recorded %v", got.Approvals)
	}
}

var (
	inlineScript = regexp.MustCompile(`<script(\s[^>]*)?>`)
	styleAttr    = regexp.MustCompile(`(?i)\sstyle=|<style|\son[a-z]+=`)
)

// Every page is served under a CSP that allows no inline script or style,
// and none of them relies on one.
func TestCSPAndNoInlineCode(t *testing.T) {
	e := newEnv(t)
	r := e.pendingProd()
	pages := map[string][]string{
		"carol": {"/dashboard", "/dashboard/requests", "/dashboard/requests/" + r.ID, "/dashboard/inbox", "/dashboard/requests/" + r.ID + "/approve", "/dashboard/mine", "/dashboard/new"},
		"audit": {"/dashboard", "/dashboard/requests?status=PENDING_APPROVAL"},
	}
	for who, paths := range pages {
		c := e.client(who)
		for _, p := range paths {
			code, body, h := e.get(c, p)
			if code != 200 {
				t.Fatalf("%s GET %s: %d\n%s", who, p, code, body)
			}
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "style-src 'self'", "default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("GET %s: CSP %q lacks %q", p, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("GET %s: CSP %q allows inline code", p, csp)
			}
			for _, m := range inlineScript.FindAllStringSubmatch(body, -1) {
				if !strings.Contains(m[1], `src="/dashboard/static/`) {
					t.Errorf("GET %s: inline or foreign script %q", p, m[0])
				}
			}
			if m := styleAttr.FindString(body); m != "" {
				t.Errorf("GET %s: inline style or handler %q", p, m)
			}
			if strings.Count(body, "<form") != strings.Count(body, `method="get"`)+strings.Count(body, `name="csrf"`) {
				t.Errorf("GET %s: a POST form without a CSRF token", p)
			}
		}
	}
	// The vendored libraries are served from the binary, with licenses.
	c := e.client("carol")
	for _, p := range []string{"/dashboard/static/vendor/htmx-2.0.11.min.js", "/dashboard/static/vendor/uPlot-1.6.32.iife.min.js",
		"/dashboard/static/vendor/htmx-LICENSE.txt", "/dashboard/static/vendor/uPlot-LICENSE.txt", "/dashboard/static/app.js", "/dashboard/static/app.css"} {
		if code, body, _ := e.get(c, p); code != 200 || len(body) < 100 {
			t.Errorf("GET %s: %d, %d bytes", p, code, len(body))
		}
	}
}

// An approval from the inbox form is the broker's approval, recorded as
// the signed-in person through the web channel, and the timeline shows it.
func TestApproveFromInboxAndTimeline(t *testing.T) {
	e := newEnv(t)
	r := e.pendingProd()
	carol := e.client("carol")
	code, body, _ := e.get(carol, "/dashboard/inbox")
	if code != 200 || !strings.Contains(body, r.ID) || !strings.Contains(body, `action="/dashboard/requests/`+r.ID+`/approve"`) {
		t.Fatalf("inbox: %d\n%s", code, body)
	}
	token := csrfRe.FindStringSubmatch(body)[1]
	code, _, h := e.post(carol, "/dashboard/requests/"+r.ID+"/approve", url.Values{"csrf": {token}, "comment": {"ok for INC-1"}})
	if code != nethttp.StatusSeeOther || h.Get("Location") != "/dashboard/requests/"+r.ID+"?done=approved" {
		t.Fatalf("approve: %d to %q", code, h.Get("Location"))
	}
	got := e.Get(t, r.ID)
	if len(got.Approvals) != 1 || got.Approvals[0].Approver != testenv.Carol || got.Approvals[0].Comment != "ok for INC-1" {
		t.Fatalf("approvals after the form: %+v", got.Approvals)
	}
	e.HandleDue(t)
	code, body, _ = e.get(carol, "/dashboard/requests/"+r.ID+"?done=approved")
	if code != 200 {
		t.Fatalf("detail: %d\n%s", code, body)
	}
	for _, want := range []string{"Approval recorded.", "approve", testenv.Carol, "via <span class=\"channel\">web</span>", "oidc:carol",
		"prod-admin", got.Decision.PolicySHA, "submit"} {
		if !strings.Contains(body, want) {
			t.Errorf("detail lacks %q", want)
		}
	}
}

// Forms are refused without the token, with another person's token, and
// from another site; nothing is recorded.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	r := e.pendingProd()
	carol, bob := e.client("carol"), e.client("bob")
	path := "/dashboard/requests/" + r.ID + "/approve"
	bobsToken := e.csrf(bob, "/dashboard/inbox")
	carolsToken := e.csrf(carol, "/dashboard/inbox")
	for name, tc := range map[string]struct {
		form url.Values
		hdr  []string
	}{
		"no token":         {url.Values{}, nil},
		"bad token":        {url.Values{"csrf": {strings.Repeat("0", 64)}}, nil},
		"someone else's":   {url.Values{"csrf": {bobsToken}}, nil},
		"cross-site fetch": {url.Values{"csrf": {carolsToken}}, []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		code, body, _ := e.post(carol, path, tc.form, tc.hdr...)
		if code != nethttp.StatusForbidden || !strings.Contains(body, "reload the page") {
			t.Errorf("%s: %d\n%s", name, code, body)
		}
	}
	if got := e.Get(t, r.ID); len(got.Approvals) != 0 {
		t.Fatalf("a refused form recorded %+v", got.Approvals)
	}
	// A fresh browser with no CSRF cookie at all is refused too.
	fresh := e.client("carol")
	if code, _, _ := e.post(fresh, path, url.Values{"csrf": {carolsToken}}); code != nethttp.StatusForbidden {
		t.Errorf("token without its cookie: %d", code)
	}
}

// The approval counts only after a fresh sign-in (step-up): a stale
// session is sent to re-authenticate and nothing is recorded.
func TestApprovalNeedsFreshLogin(t *testing.T) {
	e := newEnv(t)
	r := e.pendingProd()
	bob := e.client("bob") // an approver whose sign-in is not fresh
	token := e.csrf(bob, "/dashboard/inbox")
	code, _, h := e.post(bob, "/dashboard/requests/"+r.ID+"/approve", url.Values{"csrf": {token}})
	want := "/login?prompt=login&return_to=" + url.QueryEscape("/dashboard/requests/"+r.ID+"/approve")
	if code != nethttp.StatusSeeOther || h.Get("Location") != want {
		t.Fatalf("stale approve: %d to %q, want 303 to %q", code, h.Get("Location"), want)
	}
	if got := e.Get(t, r.ID); len(got.Approvals) != 0 {
		t.Fatalf("a stale session's approval counted: %+v", got.Approvals)
	}
	if code, _, h := e.get(bob, "/dashboard/requests/"+r.ID+"/approve"); code != nethttp.StatusSeeOther || h.Get("Location") != want {
		t.Fatalf("stale approval page: %d to %q", code, h.Get("Location"))
	}
	e.auth.fresh["bob"] = true
	code, body, _ := e.get(bob, "/dashboard/requests/"+r.ID+"/approve")
	if code != 200 || !strings.Contains(body, `id="approve"`) {
		t.Fatalf("fresh approval page: %d\n%s", code, body)
	}
	// Deny needs no step-up: refusing access is always safe.
	if code, _, _ := e.post(bob, "/dashboard/requests/"+r.ID+"/deny", url.Values{"csrf": {token}}); code != nethttp.StatusSeeOther {
		t.Fatalf("deny: %d", code)
	}
	if got := e.Get(t, r.ID); got.State != drawbridge.StateDenied {
		t.Fatalf("after deny: %s", got.State)
	}
}

// The broker's checks hold through the dashboard: nobody approves their
// own request, and a requester cannot approve at all.
func TestBrokerChecksHold(t *testing.T) {
	e := newEnv(t)
	r := e.Submit(t, testenv.Bob, testenv.Prod, "AdministratorAccess", time.Hour, "INC-2")
	bob := e.client("bob")
	e.auth.fresh["bob"] = true
	token := e.csrf(bob, "/dashboard/inbox")
	code, body, _ := e.post(bob, "/dashboard/requests/"+r.ID+"/approve", url.Values{"csrf": {token}})
	if code != nethttp.StatusForbidden || !strings.Contains(body, "own") {
		t.Errorf("self-approval: %d\n%s", code, body)
	}
	alice := e.client("alice")
	token = e.csrf(alice, "/dashboard/mine")
	if code, _, _ := e.post(alice, "/dashboard/requests/"+r.ID+"/approve", url.Values{"csrf": {token}}); code != nethttp.StatusForbidden {
		t.Errorf("requester approving: %d", code)
	}
	if got := e.Get(t, r.ID); len(got.Approvals) != 0 {
		t.Fatalf("refused approvals recorded: %+v", got.Approvals)
	}
}

// A scoped auditor sees what its scope allows on every page, by the
// domain's rules: the list, the CSV, the overview and the detail page.
func TestScopedAuditor(t *testing.T) {
	e := newEnv(t)
	prod := e.pendingProd()
	staging := e.Submit(t, testenv.Alice, testenv.Staging, "ReadOnlyAccess", time.Hour, "")
	sc := e.client("scoped")
	if code, body, _ := e.get(sc, "/dashboard/requests/"+prod.ID); code != nethttp.StatusNotFound || strings.Contains(body, testenv.Prod) {
		t.Errorf("out-of-scope detail: %d\n%s", code, body)
	}
	if code, _, _ := e.get(sc, "/dashboard/requests/"+staging.ID); code != 200 {
		t.Errorf("in-scope detail: %d", code)
	}
	_, body, _ := e.get(sc, "/dashboard/requests")
	if strings.Contains(body, prod.ID) || !strings.Contains(body, staging.ID) {
		t.Errorf("scoped list shows prod=%v staging=%v", strings.Contains(body, prod.ID), strings.Contains(body, staging.ID))
	}
	_, body, _ = e.get(sc, "/dashboard")
	if strings.Contains(body, prod.ID) || !strings.Contains(body, `id="pending-count">0<`) {
		t.Errorf("scoped overview counts the out-of-scope pending request:\n%s", body)
	}
	_, body, _ = e.get(sc, "/dashboard/requests.csv?provider=aws")
	if strings.Contains(body, prod.ID) || !strings.Contains(body, staging.ID) {
		t.Errorf("scoped CSV:\n%s", body)
	}
	// A requester sees their own requests only.
	dave := e.client("dave")
	if code, _, _ := e.get(dave, "/dashboard/requests/"+prod.ID); code != nethttp.StatusNotFound {
		t.Errorf("another person's request for a requester: %d", code)
	}
	if _, body, _ := e.get(dave, "/dashboard/requests"); strings.Contains(body, prod.ID) {
		t.Errorf("a requester's list shows someone else's request")
	}
	if _, body, _ := e.get(e.client("audit"), "/dashboard/requests"); !strings.Contains(body, prod.ID) || !strings.Contains(body, staging.ID) {
		t.Errorf("an unscoped auditor misses requests")
	}
}

// Filters are checked and say what is wrong; the CSV link carries the
// same filters; an id goes straight to its page.
func TestRequestFiltersAndCSV(t *testing.T) {
	e := newEnv(t)
	prod := e.pendingProd()
	staging := e.Submit(t, testenv.Alice, testenv.Staging, "ReadOnlyAccess", time.Hour, "")
	a := e.client("audit")
	for q, want := range map[string]string{
		"?status=SLEEPING":                    "status",
		"?from=yesterday":                     "must be a date such as 2026-01-02",
		"?from=2026-03-05&to=2026-03-01":      "from must be on or before to",
		"?colour=red":                         `unknown filter "colour"`,
		"?id=123":                             "is not a request id",
		"?resource=" + url.QueryEscape("a b"): "resource",
	} {
		code, body, _ := e.get(a, "/dashboard/requests"+q)
		if code != nethttp.StatusBadRequest || !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("%s: %d, want 400 saying %q\n%s", q, code, want, body)
		}
	}
	code, body, _ := e.get(a, "/dashboard/requests?status=PENDING_APPROVAL&requester=ALICE@example.com")
	if code != 200 || !strings.Contains(body, prod.ID) || strings.Contains(body, staging.ID) {
		t.Fatalf("status filter: %d", code)
	}
	m := regexp.MustCompile(`href="(/dashboard/requests\.csv\?[^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSV link")
	}
	link := html.UnescapeString(m[1])
	if !strings.Contains(link, "status=PENDING_APPROVAL") {
		t.Errorf("CSV link %q lacks the filter", link)
	}
	code, body, h := e.get(a, link)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s", code, h.Get("Content-Type"))
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 2 || recs[1][0] != prod.ID || recs[0][0] != "id" {
		t.Fatalf("CSV rows %v, %v", recs, err)
	}
	code, _, hh := e.get(a, "/dashboard/requests?id="+staging.ID)
	if code != nethttp.StatusSeeOther || hh.Get("Location") != "/dashboard/requests/"+staging.ID {
		t.Errorf("id lookup: %d to %q", code, hh.Get("Location"))
	}
	from := testenv.Start.Format("2006-01-02")
	_, body, _ = e.get(a, "/dashboard/requests?from="+from+"&to="+from)
	if !strings.Contains(body, prod.ID) {
		t.Errorf("a one-day range misses that day's request")
	}
	_, body, _ = e.get(a, "/dashboard/requests?from="+testenv.Start.AddDate(0, 0, 1).Format("2006-01-02"))
	if strings.Contains(body, prod.ID) {
		t.Errorf("from the next day still lists the request")
	}
}

// The request form shows policy's answer before anything is recorded,
// then submits through the broker.
func TestRequestFormPreviewThenSubmit(t *testing.T) {
	e := newEnv(t)
	alice := e.client("alice")
	token := e.csrf(alice, "/dashboard/new")
	form := url.Values{"csrf": {token}, "request": {"111122223333 AdministratorAccess 1 INC-77"}, "reason": {"outage"}, "action": {"preview"}}
	code, body, _ := e.post(alice, "/dashboard/new", form)
	if code != 200 || !strings.Contains(body, "This will need one approval from group:sre-leads (rule prod-admin).") {
		t.Fatalf("preview: %d\n%s", code, body)
	}
	if rs, _ := e.Store.ListRequests(e.Ctx, drawbridge.RequestFilter{}); len(rs) != 0 {
		t.Fatalf("a preview recorded %d requests", len(rs))
	}
	form.Set("request", "payroll reader 1")
	if code, body, _ := e.post(alice, "/dashboard/new", form); code != nethttp.StatusBadRequest || !strings.Contains(body, "payroll") {
		t.Errorf("unknown resource: %d\n%s", code, body)
	}
	form.Set("request", "111122223333 AdministratorAccess")
	if code, body, _ := e.post(alice, "/dashboard/new", form); code != nethttp.StatusBadRequest || !strings.Contains(html.UnescapeString(body), "the form is") {
		t.Errorf("grammar error: %d\n%s", code, body)
	}
	form.Set("request", "111122223333 AdministratorAccess 1 INC-77")
	form.Set("action", "submit")
	code, _, h := e.post(alice, "/dashboard/new", form)
	if code != nethttp.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "?done=submitted") {
		t.Fatalf("submit: %d to %q", code, h.Get("Location"))
	}
	rs, _ := e.Store.ListRequests(e.Ctx, drawbridge.RequestFilter{})
	if len(rs) != 1 || rs[0].Requester != testenv.Alice || rs[0].Channel != drawbridge.ChannelWeb || rs[0].Reason != "outage" || rs[0].Ticket != "INC-77" {
		t.Fatalf("submitted %+v", rs)
	}
	_, body, _ = e.get(alice, "/dashboard/mine")
	if !strings.Contains(body, rs[0].ID) || !strings.Contains(body, `action="/dashboard/requests/`+rs[0].ID+`/cancel"`) {
		t.Fatalf("my requests lacks the request or its cancel button\n%s", body)
	}
	if code, _, _ := e.post(alice, "/dashboard/requests/"+rs[0].ID+"/cancel", url.Values{"csrf": {token}}); code != nethttp.StatusSeeOther {
		t.Fatalf("cancel: %d", code)
	}
	if got := e.Get(t, rs[0].ID); got.State != drawbridge.StateCancelled {
		t.Fatalf("after cancel: %s", got.State)
	}
}

// Revoke and extend from "my requests" go through the broker.
func TestRevokeAndExtend(t *testing.T) {
	e := newEnv(t)
	r := e.Submit(t, testenv.Alice, testenv.Staging, "ReadOnlyAccess", time.Hour, "")
	if r.State != drawbridge.StateActive {
		t.Fatalf("staging read-only is %s", r.State)
	}
	alice := e.client("alice")
	token := e.csrf(alice, "/dashboard/mine")
	code, body, _ := e.post(alice, "/dashboard/requests/"+r.ID+"/extend", url.Values{"csrf": {token}, "hours": {"two"}, "reason": {"more"}})
	if code != nethttp.StatusBadRequest || !strings.Contains(body, "hours") {
		t.Errorf("bad hours: %d\n%s", code, body)
	}
	code, _, h := e.post(alice, "/dashboard/requests/"+r.ID+"/extend", url.Values{"csrf": {token}, "hours": {"1"}, "reason": {"more"}})
	if code != nethttp.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "?done=extended") {
		t.Fatalf("extend: %d to %q", code, h.Get("Location"))
	}
	if code, _, _ := e.post(alice, "/dashboard/requests/"+r.ID+"/revoke", url.Values{"csrf": {token}, "reason": {"done"}}); code != nethttp.StatusSeeOther {
		t.Fatalf("revoke: %d", code)
	}
	e.HandleDue(t)
	if got := e.Get(t, r.ID); got.State != drawbridge.StateRevoked {
		t.Fatalf("after revoke: %s", got.State)
	}
	if e.HasAssignment(t, testenv.Alice, testenv.Staging, "ReadOnlyAccess") {
		t.Fatal("the assignment survived the revoke")
	}
	// Dave cannot revoke Alice's grant: he cannot even see it.
	dave := e.client("dave")
	dt := e.csrf(dave, "/dashboard/mine")
	if code, _, _ := e.post(dave, "/dashboard/requests/"+r.ID+"/revoke", url.Values{"csrf": {dt}}); code != nethttp.StatusNotFound {
		t.Errorf("another person's revoke: %d", code)
	}
}

// The overview counts what it shows and charts requests per day.
func TestOverview(t *testing.T) {
	e := newEnv(t)
	e.pendingProd()
	e.Submit(t, testenv.Alice, testenv.Staging, "ReadOnlyAccess", time.Hour, "")
	e.Submit(t, testenv.Dave, testenv.Staging, "AdministratorAccess", time.Hour, "")
	code, body, _ := e.get(e.client("audit"), "/dashboard")
	if code != 200 {
		t.Fatalf("overview: %d", code)
	}
	for _, want := range []string{`id="active-count">1<`, `id="pending-count">1<`, `id="failing-count">0<`, `data-series="granted,pending,denied,cancelled,failed"`} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	m := regexp.MustCompile(`data-chart="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no chart data")
	}
	// Today is the last day: one granted, one pending, one denied.
	chart := html.UnescapeString(m[1])
	if !strings.HasSuffix(chart, ",0,1],[0,0,0,0,0,0,0,0,0,0,0,0,0,1],[0,0,0,0,0,0,0,0,0,0,0,0,0,1],[0,0,0,0,0,0,0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0,0,0,0,0,0,0]]") {
		t.Errorf("chart data %s", chart)
	}
}

// A redirect answered to an htmx-boosted request (to sign in, or to the
// identity provider for step-up) is a whole-page navigation.
func TestBoostedRedirectsNavigate(t *testing.T) {
	e := newEnv(t)
	e.pendingProd()
	req, _ := nethttp.NewRequest("GET", e.srv.URL+"/dashboard/requests", nil)
	req.Header.Set("HX-Request", "true")
	resp, err := e.client("").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("HX-Redirect") != "/login?return_to=%2Fdashboard%2Frequests" || resp.Header.Get("Location") != "" {
		t.Fatalf("boosted signed-out GET: %d, HX-Redirect %q, Location %q", resp.StatusCode, resp.Header.Get("HX-Redirect"), resp.Header.Get("Location"))
	}
}
