package http_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/catalog"
	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/directory"
	"github.com/drawbridge-jit/drawbridge/examples"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
	"github.com/drawbridge-jit/drawbridge/policy"
)

// fakeProvider confirms every grant and revocation at once.
type fakeProvider struct{}

func (fakeProvider) Name() string { return "aws" }
func (fakeProvider) PrincipalRef(_ context.Context, p *drawbridge.Principal) (string, error) {
	return p.Identity("aws"), nil
}
func (fakeProvider) Grant(context.Context, drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	return drawbridge.GrantResult{}, nil
}
func (fakeProvider) Revoke(context.Context, drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	return drawbridge.RevokeResult{}, nil
}

// hooksProvider stands for a provider instance named "hooks" (the signed
// webhook kind in production): it confirms every grant and revocation.
type hooksProvider struct{ fakeProvider }

func (hooksProvider) Name() string { return "hooks" }

// hooksRule lets anyone read payroll-db through hooks at once.
const hooksRule = `
  - name: hooks-reader
    match:
      provider: hooks
      resources: [payroll-db]
      roles: [reader]
      requesters: ["*"]
    max_duration: 8h
    decision: allow
`

type env struct {
	t      *testing.T
	db     drawbridge.Backend
	broker *broker.Broker
	srv    *httptest.Server
	tokens map[string]string // role name → secret
}

// newEnv wires a broker on a new store (testenv.NewStore) with the example
// directory, accounts and policy, and serves the API on loopback.
func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	data, err := examples.FS.ReadFile("drawbridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(dir, "drawbridge.yaml"), data, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := examples.FS.ReadFile("access_rules.yaml")
	pol, err := policy.Parse("access_rules.yaml", append(rules, hooksRule...))
	if err != nil {
		t.Fatal(err)
	}
	var users []directory.User
	for _, u := range cfg.Directory.Users {
		users = append(users, directory.User{Email: u.Email, Name: u.Name, Identities: u.LinkedIdentities(), Groups: u.Groups})
	}
	var accounts []catalog.Account
	for _, a := range cfg.Accounts {
		accounts = append(accounts, catalog.Account{ID: a.ID, Name: a.Name, Aliases: a.Aliases, OUs: a.OUs, Tags: a.Tags})
	}
	cat := catalog.New(map[string]drawbridge.ProviderCatalog{
		"aws": catalog.NewAccounts(accounts, []string{"ReadOnlyAccess", "PowerUserAccess", "AdministratorAccess"}),
		"hooks": catalog.NewResources("hooks", []catalog.Resource{
			{Name: "payroll-db", DisplayName: "Payroll database", Aliases: []string{"payroll"}, Roles: []string{"reader", "admin"}},
		}),
	}, "aws")
	db := testenv.NewStore(t, time.Now)
	b := broker.New(db, directory.NewStatic(users), cat,
		map[string]drawbridge.Provider{"aws": fakeProvider{}, "hooks": hooksProvider{}}, pol, nil, nil)
	s := &dbhttp.Server{Broker: b, Tokens: db, AllowWildcardScopes: true, AuditSigner: &testSigner,
		Metrics: nethttp.HandlerFunc(func(w nethttp.ResponseWriter, _ *nethttp.Request) { io.WriteString(w, "drawbridge_up 1\n") }),
		Ready:   func(ctx context.Context) error { return db.Ping(ctx) }}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, broker: b, srv: srv, tokens: map[string]string{}}
	all := []string{drawbridge.Wildcard}
	e.token("requester", "alice@example.com", []drawbridge.Role{drawbridge.RoleRequester}, nil, nil)
	e.token("approver", "carol@example.com", []drawbridge.Role{drawbridge.RoleApprover}, all, all)
	e.token("auditor", "auditor@example.com", []drawbridge.Role{drawbridge.RoleAuditor}, all, all)
	e.token("admin", "admin@example.com", []drawbridge.Role{drawbridge.RoleAdmin}, nil, nil)
	e.token("scoped-auditor", "scoped@example.com", []drawbridge.Role{drawbridge.RoleAuditor}, []string{"123456789012"}, []string{"ReadOnlyAccess"})
	e.scopedToken("hooks-auditor", "hooks-audit@example.com", []drawbridge.Role{drawbridge.RoleAuditor}, drawbridge.Scope{Providers: []string{"hooks"}})
	return e
}

func (e *env) scopedToken(name, principal string, roles []drawbridge.Role, scope drawbridge.Scope) *drawbridge.Token {
	e.t.Helper()
	secret := drawbridge.NewTokenSecret()
	tok := &drawbridge.Token{ID: drawbridge.NewTokenID(), Principal: principal, Roles: roles, Scope: scope,
		Hash: drawbridge.HashTokenSecret(secret), CreatedAt: time.Now()}
	if err := tok.Validate(true); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.CreateToken(context.Background(), tok); err != nil {
		e.t.Fatal(err)
	}
	e.tokens[name] = secret
	return tok
}

func (e *env) token(name, principal string, roles []drawbridge.Role, accounts, sets []string) *drawbridge.Token {
	e.t.Helper()
	secret := drawbridge.NewTokenSecret()
	tok := &drawbridge.Token{ID: drawbridge.NewTokenID(), Principal: principal, Roles: roles,
		Scope: drawbridge.Scope{Resources: accounts, Roles: sets}, Hash: drawbridge.HashTokenSecret(secret), CreatedAt: time.Now()}
	if err := e.db.CreateToken(context.Background(), tok); err != nil {
		e.t.Fatal(err)
	}
	e.tokens[name] = secret
	return tok
}

var operator = drawbridge.Operator("test")

// submit records a request directly through the broker.
func (e *env) submit(requester, account, set string, ticket string) *drawbridge.Request {
	e.t.Helper()
	r, err := e.broker.Submit(context.Background(), broker.SubmitInput{Requester: requester,
		Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: account, Role: set},
		Duration:    time.Hour, Reason: "test", Ticket: ticket}, operator)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// hooks records an ACTIVE grant of hooks:payroll-db/reader.
func (e *env) hooks(requester string) *drawbridge.Request {
	e.t.Helper()
	r, err := e.broker.Submit(context.Background(), broker.SubmitInput{Requester: requester,
		Entitlement: drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"},
		Duration:    time.Hour, Reason: "test"}, operator)
	if err != nil || r.State != drawbridge.StateActive {
		e.t.Fatalf("hooks grant: %v %+v", err, r)
	}
	return r
}

func (e *env) pending() *drawbridge.Request {
	return e.submit("alice@example.com", "111122223333", "AdministratorAccess", "INC-1")
}
func (e *env) active() *drawbridge.Request {
	return e.submit("alice@example.com", "123456789012", "ReadOnlyAccess", "")
}

func (e *env) do(role, method, path, body string, hdr ...string) (*nethttp.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := nethttp.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if s, ok := e.tokens[role]; ok {
		req.Header.Set("Authorization", "Bearer "+s)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

var roleNames = []string{"anonymous", "requester", "approver", "auditor", "admin", "scoped-auditor", "hooks-auditor"}

// TestRouteRoleMatrix calls every route with every kind of caller. A cell
// is the expected status: 401 without a token, 403 outside the role, 404
// for a request the caller may not see, else success. hooks-auditor is an
// auditor scoped to the provider instance "hooks": the AWS requests of the
// fixtures are outside its scope (what it does see is checked by
// TestProviderScopedAuditorSeesOnlyItsProvider).
func TestRouteRoleMatrix(t *testing.T) {
	e := newEnv(t)
	type cell = map[string]int
	readAll := cell{"anonymous": 401, "requester": 200, "approver": 200, "auditor": 200, "admin": 200, "scoped-auditor": 200, "hooks-auditor": 200}
	auditOnly := cell{"anonymous": 401, "requester": 403, "approver": 403, "auditor": 200, "admin": 200, "scoped-auditor": 200, "hooks-auditor": 200}
	public := cell{"anonymous": 200, "requester": 200, "approver": 200, "auditor": 200, "admin": 200, "scoped-auditor": 200, "hooks-auditor": 200}
	matrix := []struct {
		route string
		// setup returns the path and body for one call (a fresh fixture
		// per cell, so state changes of one cell do not leak to the next).
		setup func(role string) (path, body string)
		want  cell
	}{
		{"POST /v1/requests", func(role string) (string, string) {
			if role == "admin" {
				return "/v1/requests", `{"requester":"alice@example.com","account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h"}`
			}
			return "/v1/requests", `{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration_seconds":3600}`
		}, cell{"anonymous": 401, "requester": 201, "approver": 201, "auditor": 403, "admin": 201, "scoped-auditor": 403, "hooks-auditor": 403}},
		{"GET /v1/requests", func(string) (string, string) { return "/v1/requests", "" }, readAll},
		{"GET /v1/requests/{id}", func(string) (string, string) { return "/v1/requests/" + e.active().ID, "" },
			cell{"anonymous": 401, "requester": 200, "approver": 404, "auditor": 200, "admin": 200, "scoped-auditor": 200, "hooks-auditor": 404}},
		{"POST /v1/requests/{id}/approve", func(role string) (string, string) {
			return "/v1/requests/" + e.pending().ID + "/approve", map[bool]string{true: `{"approver":"carol@example.com"}`}[role == "admin"]
		}, cell{"anonymous": 401, "requester": 403, "approver": 200, "auditor": 403, "admin": 200, "scoped-auditor": 403, "hooks-auditor": 403}},
		{"POST /v1/requests/{id}/deny", func(role string) (string, string) {
			return "/v1/requests/" + e.pending().ID + "/deny", map[bool]string{true: `{"approver":"carol@example.com","comment":"no"}`}[role == "admin"]
		}, cell{"anonymous": 401, "requester": 403, "approver": 200, "auditor": 403, "admin": 200, "scoped-auditor": 403, "hooks-auditor": 403}},
		{"POST /v1/requests/{id}/cancel", func(string) (string, string) { return "/v1/requests/" + e.pending().ID + "/cancel", "" },
			cell{"anonymous": 401, "requester": 200, "approver": 403, "auditor": 403, "admin": 200, "scoped-auditor": 403, "hooks-auditor": 403}},
		{"POST /v1/requests/{id}/revoke", func(string) (string, string) {
			return "/v1/requests/" + e.active().ID + "/revoke", `{"reason":"done"}`
		}, cell{"anonymous": 401, "requester": 200, "approver": 404, "auditor": 403, "admin": 200, "scoped-auditor": 403, "hooks-auditor": 403}},
		{"POST /v1/requests/{id}/extend", func(string) (string, string) {
			return "/v1/requests/" + e.active().ID + "/extend", `{"duration":"30m"}`
		}, cell{"anonymous": 401, "requester": 201, "approver": 404, "auditor": 403, "admin": 201, "scoped-auditor": 403, "hooks-auditor": 403}},
		{"GET /api/requests", func(string) (string, string) { return "/api/requests?status=ACTIVE", "" }, auditOnly},
		{"GET /api/requests/{id}", func(string) (string, string) { return "/api/requests/" + e.active().ID, "" },
			cell{"anonymous": 401, "requester": 403, "approver": 403, "auditor": 200, "admin": 200, "scoped-auditor": 200, "hooks-auditor": 404}},
		{"GET /api/exports.csv", func(string) (string, string) { return "/api/exports.csv?status=ACTIVE", "" }, auditOnly},
		{"GET /api/metrics", func(string) (string, string) { return "/api/metrics", "" }, auditOnly},
		{"GET /api/audit/checkpoint", func(string) (string, string) { return "/api/audit/checkpoint", "" }, auditOnly},
		{"GET /api/audit/proof/{seq}", func(string) (string, string) {
			evs, err := e.db.RequestEvents(context.Background(), e.active().ID)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("/api/audit/proof/%d", evs[0].Seq), ""
		}, cell{"anonymous": 401, "requester": 403, "approver": 403, "auditor": 200, "admin": 200, "scoped-auditor": 200, "hooks-auditor": 404}},
		{"GET /api/audit/consistency", func(string) (string, string) { e.active(); return "/api/audit/consistency?from=1&to=1", "" }, auditOnly},
		{"GET /metrics", func(string) (string, string) { return "/metrics", "" }, public},
		{"GET /healthz", func(string) (string, string) { return "/healthz", "" }, public},
		{"GET /readyz", func(string) (string, string) { return "/readyz", "" }, public},
	}
	covered := map[string]bool{}
	for _, row := range matrix {
		covered[row.route] = true
		method := strings.Fields(row.route)[0]
		for _, role := range roleNames {
			want, ok := row.want[role]
			if !ok {
				t.Fatalf("%s: no expectation for %s", row.route, role)
			}
			path, body := row.setup(role)
			resp, b := e.do(role, method, path, body)
			if resp.StatusCode != want {
				t.Errorf("%s as %s: status %d, want %d: %s", row.route, role, resp.StatusCode, want, b)
			}
		}
	}
	for _, r := range dbhttp.Routes() {
		if !covered[r] {
			t.Errorf("route %s is not in the matrix", r)
		}
	}
}

func TestBadTokensAre401(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	expired := e.token("expired", "alice@example.com", []drawbridge.Role{drawbridge.RoleRequester}, nil, nil)
	_ = expired
	// Expire and revoke through the store, as an operator would.
	revoked := e.token("revoked", "alice@example.com", []drawbridge.Role{drawbridge.RoleRequester}, nil, nil)
	if err := e.db.RevokeToken(ctx, revoked.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	past := &drawbridge.Token{ID: drawbridge.NewTokenID(), Principal: "alice@example.com", Roles: []drawbridge.Role{drawbridge.RoleRequester},
		CreatedAt: time.Now().Add(-2 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour)}
	secret := drawbridge.NewTokenSecret()
	past.Hash = drawbridge.HashTokenSecret(secret)
	if err := e.db.CreateToken(ctx, past); err != nil {
		t.Fatal(err)
	}
	e.tokens["expired"] = secret
	e.tokens["unknown"] = drawbridge.NewTokenSecret()
	e.tokens["garbage"] = "not a token"
	for _, role := range []string{"anonymous", "expired", "revoked", "unknown", "garbage"} {
		for _, path := range []string{"/v1/requests", "/api/requests?status=ACTIVE", "/nope", "/api/requests"} {
			resp, b := e.do(role, "GET", path, "")
			if resp.StatusCode != 401 || !strings.Contains(string(b), `"code":"unauthorized"`) {
				t.Errorf("%s GET %s: %d %s", role, path, resp.StatusCode, b)
			}
		}
	}
	// No write method exists on /api, even for an admin.
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		if resp, _ := e.do("admin", m, "/api/requests", "{}"); resp.StatusCode != 404 {
			t.Errorf("%s /api/requests as admin: %d, want 404", m, resp.StatusCode)
		}
	}
}

func TestWildcardTokensNeedTheSetting(t *testing.T) {
	e := newEnv(t)
	s := &dbhttp.Server{Broker: e.broker, Tokens: e.db}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	req, _ := nethttp.NewRequest("GET", srv.URL+"/api/requests?status=ACTIVE", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["auditor"])
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("wildcard auditor with allow_wildcard_scopes off: %d, want 403", resp.StatusCode)
	}
}

func decodeList(t *testing.T, b []byte) dbhttp.RequestList {
	t.Helper()
	var l dbhttp.RequestList
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return l
}

func TestScopedAuditorSeesOnlyItsScope(t *testing.T) {
	e := newEnv(t)
	in := []*drawbridge.Request{e.active(), e.active(), e.active()}
	out := []*drawbridge.Request{
		e.submit("alice@example.com", "123456789012", "PowerUserAccess", ""), // other permission set
		e.pending(), // other account
		e.submit("bob@example.com", "111122223333", "ReadOnlyAccess", ""),
	}
	inIDs := map[string]bool{}
	for _, r := range in {
		inIDs[r.ID] = true
	}
	// Paging one at a time must still stay in scope and reach every row.
	seen := 0
	cursor := ""
	for i := 0; i < 10; i++ {
		path := "/api/requests?requester=alice@example.com&limit=1"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		resp, b := e.do("scoped-auditor", "GET", path, "")
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		l := decodeList(t, b)
		for _, r := range l.Requests {
			if !inIDs[r.ID] {
				t.Errorf("scoped auditor saw %s (%s)", r.ID, r.Entitlement)
			}
			seen++
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	if seen != len(in) {
		t.Errorf("scoped auditor saw %d in-scope requests, want %d", seen, len(in))
	}
	for _, r := range out {
		for _, p := range []string{"/api/requests/" + r.ID, "/v1/requests/" + r.ID} {
			if resp, b := e.do("scoped-auditor", "GET", p, ""); resp.StatusCode != 404 {
				t.Errorf("GET %s (out of scope): %d %s", p, resp.StatusCode, b)
			}
		}
	}
	resp, b := e.do("scoped-auditor", "GET", "/v1/requests?limit=500", "")
	if l := decodeList(t, b); resp.StatusCode != 200 || len(l.Requests) != len(in) {
		t.Errorf("GET /v1/requests: %d, %d requests, want %d", resp.StatusCode, len(l.Requests), len(in))
	}
	_, b = e.do("scoped-auditor", "GET", "/api/exports.csv?status=ACTIVE,PENDING_APPROVAL,REVOKED,DENIED", "")
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(in) {
		t.Errorf("CSV has %d rows, want header + %d", len(rows), len(in))
	}
	for _, row := range rows[1:] {
		if !inIDs[row[0]] {
			t.Errorf("CSV row out of scope: %v", row)
		}
	}
	_, b = e.do("scoped-auditor", "GET", "/api/metrics", "")
	var m dbhttp.AuditMetrics
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Total != len(in) || m.ByState["ACTIVE"] != len(in) || m.ByState["PENDING_APPROVAL"] != 0 {
		t.Errorf("scoped metrics: total %d, by state %v", m.Total, m.ByState)
	}
	_, b = e.do("auditor", "GET", "/api/metrics", "")
	if err := json.Unmarshal(b, &m); err != nil || m.Total != len(in)+len(out) {
		t.Errorf("wildcard auditor metrics total %d, want %d (%v)", m.Total, len(in)+len(out), err)
	}
}

func TestAuditFilterValidation(t *testing.T) {
	e := newEnv(t)
	e.active()
	resp, b := e.do("auditor", "GET", "/api/requests", "")
	if resp.StatusCode != 400 {
		t.Fatalf("no primary filter: %d", resp.StatusCode)
	}
	for _, f := range []string{"status", "account_id", "permission_set_name", "requester", "requester_slack_user_id"} {
		if !strings.Contains(string(b), f) {
			t.Errorf("the 400 message does not list %s: %s", f, b)
		}
	}
	bad := []string{
		"status=BOGUS", "status=ACTIVE,", "account_id=12345", "account_id=abcdefghijkl", "limit=-1", "limit=0",
		"limit=abc", "limit=100000", "status=ACTIVE&cursor=garbage", "status=ACTIVE&cursor=req_zz",
		"from=yesterday", "status=ACTIVE&from=2026-02-01&to=2026-01-01", "requester_slack_user_id=%27%3B--",
		"permission_set_name=Read%27%20OR%201%3D1", "status=ACTIVE&bogus=1", "status=ACTIVE&status=DENIED",
		"status=ACTIVE&from=99999-01-01",
	}
	for _, q := range bad {
		for _, p := range []string{"/api/requests?", "/api/exports.csv?"} {
			resp, b := e.do("auditor", "GET", p+q, "")
			if resp.StatusCode != 400 || !strings.Contains(string(b), `"code":"invalid"`) {
				t.Errorf("GET %s%s: %d %s, want 400", p, q, resp.StatusCode, b)
			}
		}
	}
	for _, q := range []string{"status=active", "account_id=123456789012", "permission_set_name=ReadOnlyAccess",
		"requester=ALICE@example.com", "requester_slack_user_id=U12345678", "status=ACTIVE&from=2020-01-01&to=2100-01-01T00:00:00Z"} {
		resp, b := e.do("auditor", "GET", "/api/requests?"+q, "")
		if l := decodeList(t, b); resp.StatusCode != 200 || len(l.Requests) != 1 {
			t.Errorf("GET /api/requests?%s: %d, %d requests, want 1: %s", q, resp.StatusCode, len(l.Requests), b)
		}
	}
}

// SQL metacharacters that pass validation reach the store only as bound
// parameters: they match nothing and break nothing.
func TestSQLMetacharactersAreHarmless(t *testing.T) {
	e := newEnv(t)
	e.active()
	for _, v := range []string{`x' OR '1'='1@example.com`, `a@b.c"; DROP TABLE requests; --`, `%@%`, `_@_`} {
		resp, b := e.do("auditor", "GET", "/api/requests?requester="+url.QueryEscape(v), "")
		if l := decodeList(t, b); resp.StatusCode != 200 || len(l.Requests) != 0 {
			t.Errorf("requester=%q: %d, %d requests: %s", v, resp.StatusCode, len(l.Requests), b)
		}
	}
	resp, b := e.do("auditor", "GET", "/api/requests?status=ACTIVE", "")
	if l := decodeList(t, b); resp.StatusCode != 200 || len(l.Requests) != 1 {
		t.Errorf("after the probes: %d %s", resp.StatusCode, b)
	}
}

func TestContractHeader(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/healthz", "/v1/requests", "/api/requests", "/nope"} {
		for _, role := range []string{"anonymous", "requester", "auditor"} {
			resp, _ := e.do(role, "GET", p, "")
			if got := resp.Header.Get(dbhttp.ContractHeader); got != "1" {
				t.Errorf("GET %s as %s: contract header %q", p, role, got)
			}
		}
	}
	resp, b := e.do("requester", "GET", "/v1/requests", "", dbhttp.ContractHeader, "2")
	if resp.StatusCode != 400 || resp.Header.Get(dbhttp.ContractHeader) != "1" {
		t.Errorf("contract version 2: %d %s", resp.StatusCode, b)
	}
	if resp, _ := e.do("requester", "GET", "/v1/requests", "", dbhttp.ContractHeader, "1"); resp.StatusCode != 200 {
		t.Errorf("contract version 1: %d", resp.StatusCode)
	}
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	e := newEnv(t)
	// Tab and CR can no longer be stored (drawbridge.CheckText); what can
	// is a formula behind whitespace or a joiner, or in full-width form.
	reasons := []string{"=HYPERLINK(\"http://evil\")", "+1+1", "-2", "@SUM(A1)", " =1", "\u00a0＝1", "\u200d+1"}
	for i, reason := range reasons {
		_, err := e.broker.Submit(context.Background(), broker.SubmitInput{Requester: "alice@example.com",
			Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess"},
			Duration:    time.Duration(i+1) * time.Minute, Reason: reason}, operator)
		if err != nil {
			t.Fatal(err)
		}
	}
	resp, b := e.do("auditor", "GET", "/api/exports.csv?requester=alice@example.com", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(reasons)+1 {
		t.Fatalf("%d rows", len(rows))
	}
	col := -1
	for i, h := range rows[0] {
		if h == "reason" {
			col = i
		}
	}
	for _, row := range rows[1:] {
		for i, c := range row {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("column %s starts with a formula character: %q", rows[0][i], c)
			}
		}
		if !strings.HasPrefix(row[col], "'") {
			t.Errorf("reason %q not neutralised", row[col])
		}
	}
}

func TestOnBehalfOfNeedsAdmin(t *testing.T) {
	e := newEnv(t)
	body := `{"requester":"bob@example.com","account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h"}`
	if resp, b := e.do("requester", "POST", "/v1/requests", body); resp.StatusCode != 403 {
		t.Errorf("requester naming bob: %d %s", resp.StatusCode, b)
	}
	resp, b := e.do("admin", "POST", "/v1/requests", body)
	if resp.StatusCode != 201 {
		t.Fatalf("admin naming bob: %d %s", resp.StatusCode, b)
	}
	var r drawbridge.Request
	json.Unmarshal(b, &r)
	if r.Requester != "bob@example.com" || r.State != drawbridge.StateActive || r.Channel != drawbridge.ChannelAPI {
		t.Errorf("got %+v", r)
	}
	evs, err := e.db.RequestEvents(context.Background(), r.ID)
	if err != nil || len(evs) == 0 {
		t.Fatal(err)
	}
	if evs[0].Actor != "admin@example.com" || evs[0].Details["on_behalf_of"] != "bob@example.com" {
		t.Errorf("submit event: actor %q, details %v", evs[0].Actor, evs[0].Details)
	}
	// A non-admin approver cannot name another approver.
	p := e.pending()
	if resp, b := e.do("approver", "POST", "/v1/requests/"+p.ID+"/approve", `{"approver":"bob@example.com"}`); resp.StatusCode != 403 {
		t.Errorf("approver naming bob: %d %s", resp.StatusCode, b)
	}
	// A denied submission is still created: 201 with state DENIED.
	resp, b = e.do("requester", "POST", "/v1/requests", `{"account_id":"111122223333","permission_set":"AdministratorAccess","duration":"1h"}`)
	json.Unmarshal(b, &r)
	if resp.StatusCode != 201 || r.State != drawbridge.StateDenied {
		t.Errorf("missing ticket: %d %s", resp.StatusCode, b)
	}
	// Requesters see only their own requests.
	_, b = e.do("requester", "GET", "/v1/requests", "")
	for _, x := range decodeList(t, b).Requests {
		if x.Requester != "alice@example.com" {
			t.Errorf("requester listed %s's request", x.Requester)
		}
	}
	if resp, _ := e.do("requester", "GET", "/v1/requests?requester=bob@example.com", ""); resp.StatusCode != 403 {
		t.Errorf("requester listing bob's: %d", resp.StatusCode)
	}
}

func TestAuditGetHasEvents(t *testing.T) {
	e := newEnv(t)
	r := e.active()
	resp, b := e.do("auditor", "GET", "/api/requests/"+r.ID, "")
	var got dbhttp.AuditRequest
	if err := json.Unmarshal(b, &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var actions []string
	for _, ev := range got.Events {
		actions = append(actions, ev.Action)
	}
	if got.Request.ID != r.ID || strings.Join(actions, ",") != "submit,allow,provision,activate" {
		t.Errorf("events %v", actions)
	}
	if resp, _ := e.do("auditor", "GET", "/api/requests/req_nope", ""); resp.StatusCode != 404 {
		t.Errorf("malformed id: %d", resp.StatusCode)
	}
	if resp, _ := e.do("auditor", "GET", "/api/requests/"+drawbridge.NewRequestID(), ""); resp.StatusCode != 404 {
		t.Errorf("unknown id: %d", resp.StatusCode)
	}
}

func TestClientMapsErrors(t *testing.T) {
	e := newEnv(t)
	c := dbhttp.NewClient(e.srv.URL, e.tokens["requester"])
	ctx := context.Background()
	r, err := c.Submit(ctx, dbhttp.CreateRequest{AccountID: "123456789012", PermissionSet: "ReadOnlyAccess", Duration: "1h"})
	if err != nil || r.State != drawbridge.StateActive {
		t.Fatalf("%v %+v", err, r)
	}
	if _, err := c.Action(ctx, r.ID, "approve", nil); drawbridge.ErrorCode(err) != drawbridge.EFORBIDDEN {
		t.Errorf("approve as requester: %v", err)
	}
	if _, err := c.Get(ctx, "nope"); drawbridge.ErrorCode(err) != drawbridge.ENOTFOUND {
		t.Errorf("bad id: %v", err)
	}
	bad := dbhttp.NewClient(e.srv.URL, "dbt_wrong")
	if _, err := bad.Get(ctx, r.ID); drawbridge.ErrorCode(err) != drawbridge.EUNAUTHORIZED {
		t.Errorf("bad token: %v", err)
	}
}

func TestConcurrentApprovalsProvisionOnce(t *testing.T) {
	e := newEnv(t)
	e.token("bob", "bob@example.com", []drawbridge.Role{drawbridge.RoleApprover}, []string{"*"}, []string{"*"})
	p := e.pending()
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, who := range []string{"approver", "bob"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := e.do(who, "POST", "/v1/requests/"+p.ID+"/approve", "")
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	// The loser sees a conflict, or (if it read after activation) no
	// longer sees the request at all: it is no longer awaiting review.
	if ok := (codes[0] == 200) != (codes[1] == 200); !ok || codes[0]+codes[1] < 200+404 {
		t.Errorf("two approvals of a 1-approver rule: %v, want one 200 and one 409 or 404", codes)
	}
	r, _ := e.broker.Get(context.Background(), p.ID)
	if r.State != drawbridge.StateActive {
		t.Errorf("state %s", r.State)
	}
}
