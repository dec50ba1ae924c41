package boundary_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/boundary"
	"github.com/drawbridge-jit/drawbridge/boundary/emulator"
	"github.com/drawbridge-jit/drawbridge/clock"
)

type env struct {
	emu    *emulator.Emulator
	clk    *clock.Fake
	url    string
	prov   *boundary.Provider
	alice  emulator.User
	proj   emulator.Scope
	target emulator.Target
	role   emulator.Role
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	emu := emulator.New(clk.Now)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	emu.AddAdmin("drawbridge", "emulated-password")
	org := emu.AddScope(emulator.Scope{Name: "Azure"})
	proj := emu.AddScope(emulator.Scope{ParentID: org.ID, Name: "East US"})
	target := emu.AddTarget(emulator.Target{ScopeID: proj.ID, Name: "prod-db"})
	e := &env{emu: emu, clk: clk, url: srv.URL, proj: proj, target: target,
		alice: emu.AddUser(emulator.User{Name: "alice", Email: "alice@example.com"}),
		role:  emu.AddRole(emulator.Role{ScopeID: proj.ID, Name: "on-call", Grants: []string{"ids=" + target.ID + ";actions=authorize-session,read"}})}
	e.prov = e.provider(t, boundary.Config{})
	return e
}

func (e *env) provider(t *testing.T, cfg boundary.Config) *boundary.Provider {
	t.Helper()
	cfg.Name, cfg.Addr, cfg.Now = "boundary", e.url, e.clk.Now
	if cfg.Token == "" && cfg.Password == "" {
		cfg.AuthMethodID, cfg.LoginName, cfg.Password = emulator.PasswordAuthMethod, "drawbridge", "emulated-password"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	p, err := boundary.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) assignment() drawbridge.Assignment {
	return drawbridge.Assignment{Entitlement: drawbridge.Entitlement{Provider: "boundary", Resource: e.role.ID, Role: boundary.RoleMember},
		PrincipalRef: e.alice.ID}
}

func (e *env) grantSpec(id string) drawbridge.GrantSpec {
	return drawbridge.GrantSpec{RequestID: id, Assignment: e.assignment(), Until: e.clk.Now().Add(time.Hour), Reason: "incident 42"}
}

func (e *env) revokeSpec(id string) drawbridge.RevokeSpec {
	return drawbridge.RevokeSpec{RequestID: id, Assignment: e.assignment(), Requester: "alice@example.com", Reason: "expired"}
}

// connect logs alice in and opens a session to the target.
func (e *env) connect(t *testing.T) emulator.Session {
	t.Helper()
	tok, err := e.emu.Login(e.alice.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.emu.AuthorizeSession(tok.Token, e.target.ID)
	if err != nil {
		t.Fatalf("alice cannot connect: %v", err)
	}
	return s
}

func TestGrantRevokeAndEndSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.prov.Grant(ctx, e.grantSpec("req_1"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(e.emu.Role(e.role.ID).PrincipalIDs, e.alice.ID) || res.Details["status"] != "added to the role's principals" {
		t.Fatalf("after grant: role %+v, details %v", e.emu.Role(e.role.ID), res.Details)
	}
	if ok, err := e.prov.Exists(ctx, e.assignment()); err != nil || !ok {
		t.Fatalf("Exists after grant: %v %v", ok, err)
	}
	s := e.connect(t)

	if _, err := e.prov.Revoke(ctx, e.revokeSpec("req_1")); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(e.emu.Role(e.role.ID).PrincipalIDs, e.alice.ID) {
		t.Fatal("alice is still a principal after revoke")
	}
	// The role is gone, the session is not: Boundary's gap.
	if got := e.emu.Session(s.ID); got.Status != emulator.StatusActive {
		t.Fatalf("session %s before EndSessions", got.Status)
	}
	ended, err := e.prov.EndSessions(ctx, e.revokeSpec("req_1"))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.emu.Session(s.ID); got.Status != emulator.StatusCanceling || !got.CanceledAt.Equal(e.clk.Now()) {
		t.Fatalf("session after EndSessions: %+v", got)
	}
	if ended.Details["sessions_ended"] != s.ID || ended.Details["sessions_ended_count"] != "1" {
		t.Fatalf("details %v", ended.Details)
	}
	// Its own grant's tokens carry no role: they are left alone.
	if len(e.emu.Tokens(e.alice.ID)) != 1 {
		t.Fatalf("alice's tokens: %+v", e.emu.Tokens(e.alice.ID))
	}
	// A second sweep finds nothing to end, and a second revoke is success.
	if again, err := e.prov.EndSessions(ctx, e.revokeSpec("req_1")); err != nil || again.Details["sessions_ended_count"] != "0" {
		t.Fatalf("second sweep: %v %v", again.Details, err)
	}
	if res, err := e.prov.Revoke(ctx, e.revokeSpec("req_1")); err != nil || res.Details["status"] != "already not a principal of the role" {
		t.Fatalf("second revoke: %v %v", res.Details, err)
	}
}

func TestGrantRetryAfterLostAnswerIsIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.emu.Inject(emulator.Fault{Method: http.MethodPost, Path: ":add-principals", Lose: true})
	if _, err := e.prov.Grant(ctx, e.grantSpec("req_1")); err == nil || drawbridge.IsPermanent(err) || drawbridge.IsRejected(err) {
		t.Fatalf("a lost answer must be retryable and not a rejection: %v", err)
	}
	// The add happened: the retry finds alice there and adds nothing.
	res, err := e.prov.Grant(ctx, e.grantSpec("req_1"))
	if err != nil || res.Details["status"] != "already a principal of the role" {
		t.Fatalf("retry: %v %v", res.Details, err)
	}
	if r := e.emu.Role(e.role.ID); len(r.PrincipalIDs) != 1 || r.Version != 2 {
		t.Fatalf("role after retry: %+v", r)
	}
}

func TestVersionConflictIsReadAgainAndRetried(t *testing.T) {
	e := newEnv(t)
	e.emu.Inject(emulator.Fault{Method: http.MethodPost, Path: ":add-principals", ChangeRole: e.role.ID, Count: 2})
	if _, err := e.prov.Grant(context.Background(), e.grantSpec("req_1")); err != nil {
		t.Fatalf("two concurrent changes to the role: %v", err)
	}
	if r := e.emu.Role(e.role.ID); !slices.Contains(r.PrincipalIDs, e.alice.ID) || r.Version != 4 {
		t.Fatalf("role %+v", r)
	}
	calls := strings.Join(e.emu.Calls(), "\n")
	if n := strings.Count(calls, ":add-principals"); n != 3 {
		t.Fatalf("%d add-principals calls, want 3:\n%s", n, calls)
	}
}

func TestForbiddenIsPermanentAndNamesTheGrants(t *testing.T) {
	e := newEnv(t)
	e.emu.Inject(emulator.Fault{Method: http.MethodPost, Path: ":add-principals", Status: 403, Kind: "PermissionDenied", Message: "Forbidden."})
	_, err := e.prov.Grant(context.Background(), e.grantSpec("req_1"))
	if !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "403 PermissionDenied: Forbidden.") ||
		!strings.Contains(err.Error(), "actions=read,add-principals,remove-principals") {
		t.Fatalf("403: %v", err)
	}
	// An unknown principal is Boundary's own refusal, permanent with its
	// message (the role did not change, so it is no conflict).
	a := e.grantSpec("req_2")
	a.Assignment.PrincipalRef = "u_0000000000"
	_, err = e.prov.Grant(context.Background(), a)
	if !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "principal u_0000000000 not found") {
		t.Fatalf("unknown principal: %v", err)
	}
}

func TestThrottlingHonoursRetryAfterAndServerErrorIsRetryable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.prov.Grant(ctx, e.grantSpec("req_1")); err != nil {
		t.Fatal(err)
	}
	e.connect(t)
	e.emu.Inject(emulator.Fault{Method: http.MethodGet, Path: "/v1/sessions", Status: 429, Kind: "Unavailable",
		Message: "Too many requests.", Headers: map[string]string{"Retry-After": "7"}})
	_, err := e.prov.EndSessions(ctx, e.revokeSpec("req_1"))
	if d, ok := drawbridge.RetryAfterHint(err); !ok || d != 7*time.Second || !drawbridge.IsRejected(err) || drawbridge.IsPermanent(err) {
		t.Fatalf("429 Retry-After 7: hint %v %v, err %v", d, ok, err)
	}
	// An HTTP date is read against the provider's clock.
	e.emu.Inject(emulator.Fault{Method: http.MethodGet, Path: "/v1/roles/", Status: 429, Kind: "Unavailable",
		Headers: map[string]string{"Retry-After": e.clk.Now().Add(90 * time.Second).Format(http.TimeFormat)}})
	if _, err := e.prov.Revoke(ctx, e.revokeSpec("req_1")); func() bool { d, ok := drawbridge.RetryAfterHint(err); return !ok || d != 90*time.Second }() {
		t.Fatalf("429 with a date: %v", err)
	}
	e.emu.Inject(emulator.Fault{Method: http.MethodGet, Path: "/v1/roles/", Status: 503, Kind: "Unavailable", Message: "try later"})
	if _, err := e.prov.Revoke(ctx, e.revokeSpec("req_1")); err == nil || drawbridge.IsPermanent(err) {
		t.Fatalf("503 must be retryable: %v", err)
	}
	ended, err := e.prov.EndSessions(ctx, e.revokeSpec("req_1"))
	if err != nil || ended.Details["sessions_ended_count"] != "1" {
		t.Fatalf("after the throttling: %v %v", ended.Details, err)
	}
}

// For another provider (end_sessions), the person is found by e-mail, and
// their auth tokens go too: a token keeps the managed groups of its login.
func TestEndSessionsForAnotherProviderDeletesTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	group, err := e.emu.AddManagedGroup(emulator.ManagedGroup{Name: "Production - Boundary on Azure", Filter: `"c89c2175" in "/token/groups"`})
	if err != nil {
		t.Fatal(err)
	}
	e.emu.SetPrincipals(e.role.ID, group.ID)
	tok, err := e.emu.Login(e.alice.ID, []string{"c89c2175"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.emu.AuthorizeSession(tok.Token, e.target.ID)
	if err != nil {
		t.Fatal(err)
	}
	spec := drawbridge.RevokeSpec{RequestID: "req_1", Requester: "alice@example.com", Reason: "expired",
		Assignment: drawbridge.Assignment{Entitlement: drawbridge.Entitlement{Provider: "entra", Resource: "Boundary-Production", Role: "member"},
			PrincipalRef: "6e7b768e-07e2-4810-8459-485f84f8f204"}}
	res, err := e.prov.EndSessions(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if e.emu.Session(s.ID).Status != emulator.StatusCanceling || len(e.emu.Tokens(e.alice.ID)) != 0 ||
		res.Details["auth_tokens_deleted"] != "1" || res.Details["boundary_users"] != e.alice.ID {
		t.Fatalf("session %+v, tokens %+v, details %v", e.emu.Session(s.ID), e.emu.Tokens(e.alice.ID), res.Details)
	}
	if _, err := e.emu.AuthorizeSession(tok.Token, e.target.ID); err == nil {
		t.Fatal("the old token still opens sessions")
	}
	// The provider's own token survives its sweeps.
	if _, err := e.prov.Exists(ctx, e.assignment()); err != nil {
		t.Fatal(err)
	}
	// A linked identity from the config wins over the e-mail lookup.
	other := e.emu.AddUser(emulator.User{Name: "alice2", Email: "someone@example.com"})
	tok2, _ := e.emu.Login(other.ID, nil)
	p := e.provider(t, boundary.Config{Linked: map[string]string{"alice@example.com": other.ID}})
	if res, err := p.EndSessions(ctx, spec); err != nil || res.Details["boundary_users"] != other.ID || len(e.emu.Tokens(other.ID)) != 0 {
		t.Fatalf("linked: %v %v (token %s)", res.Details, err, tok2.ID)
	}
	// Nobody with the e-mail: nothing to end, and it says so.
	spec.Requester = "nobody@example.com"
	if res, err := e.prov.EndSessions(ctx, spec); err != nil || !strings.Contains(res.Details["sessions"], "no Boundary user has the e-mail nobody@example.com") {
		t.Fatalf("nobody: %v %v", res.Details, err)
	}
}

func TestSessionsOnlyInTheConfiguredScopes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other := e.emu.AddScope(emulator.Scope{Name: "Other org"})
	otherProj := e.emu.AddScope(emulator.Scope{ParentID: other.ID, Name: "Other project"})
	otherTarget := e.emu.AddTarget(emulator.Target{ScopeID: otherProj.ID, Name: "staging-db"})
	e.emu.AddRole(emulator.Role{ScopeID: otherProj.ID, PrincipalIDs: []string{e.alice.ID}, Grants: []string{"ids=" + otherTarget.ID + ";actions=authorize-session"}})
	if _, err := e.prov.Grant(ctx, e.grantSpec("req_1")); err != nil {
		t.Fatal(err)
	}
	tok, _ := e.emu.Login(e.alice.ID, nil)
	prod, _ := e.emu.AuthorizeSession(tok.Token, e.target.ID)
	staging, err := e.emu.AuthorizeSession(tok.Token, otherTarget.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := e.provider(t, boundary.Config{Scopes: []string{e.proj.ID}})
	if _, err := p.EndSessions(ctx, e.revokeSpec("req_1")); err != nil {
		t.Fatal(err)
	}
	if e.emu.Session(prod.ID).Status != emulator.StatusCanceling || e.emu.Session(staging.ID).Status != emulator.StatusActive {
		t.Fatalf("prod %s, staging %s", e.emu.Session(prod.ID).Status, e.emu.Session(staging.ID).Status)
	}
}

func TestListAssignmentsSeesOutOfBandChanges(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bob := e.emu.AddUser(emulator.User{Name: "bob", Email: "bob@example.com"})
	group, _ := e.emu.AddManagedGroup(emulator.ManagedGroup{Filter: `"x" in "/token/groups"`})
	e.emu.SetPrincipals(e.role.ID, bob.ID, group.ID) // by hand, in the admin UI
	got, err := e.prov.ListAssignments(ctx, []string{e.role.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PrincipalRef != bob.ID || got[0].Resource != e.role.ID || got[0].Role != boundary.RoleMember {
		t.Fatalf("assignments %+v", got)
	}
	if ok, _ := e.prov.Exists(ctx, drawbridge.Assignment{Entitlement: got[0].Entitlement, PrincipalRef: bob.ID}); !ok {
		t.Fatal("bob's standing membership is not seen")
	}
}

func TestPrincipalRefByLinkedIdentityThenEmail(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if id, err := e.prov.PrincipalRef(ctx, &drawbridge.Principal{ID: "alice@example.com"}); err != nil || id != e.alice.ID {
		t.Fatalf("by e-mail: %q %v", id, err)
	}
	if id, err := e.prov.PrincipalRef(ctx, &drawbridge.Principal{ID: "alice@example.com", Identities: map[string]string{"boundary": "u_abcdefghij"}}); err != nil || id != "u_abcdefghij" {
		t.Fatalf("linked: %q %v", id, err)
	}
	if _, err := e.prov.PrincipalRef(ctx, &drawbridge.Principal{ID: "alice@example.com", Identities: map[string]string{"boundary": "alice"}}); !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "identities.boundary") {
		t.Fatalf("bad linked id: %v", err)
	}
	e.emu.AddUser(emulator.User{Name: "alice-again", Email: "Alice@example.com"})
	if _, err := e.prov.PrincipalRef(ctx, &drawbridge.Principal{ID: "alice@example.com"}); !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "2 Boundary users have the e-mail") {
		t.Fatalf("two users: %v", err)
	}
}

func TestSignInAgainWhenTheTokenIsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.prov.Exists(ctx, e.assignment()); err != nil {
		t.Fatal(err)
	}
	e.emu.Inject(emulator.Fault{Method: http.MethodGet, Path: "/v1/roles/", Status: 401, Kind: "Unauthenticated"})
	if _, err := e.prov.Exists(ctx, e.assignment()); err != nil {
		t.Fatalf("a refused token is renewed by signing in again: %v", err)
	}
	if n := strings.Count(strings.Join(e.emu.Calls(), "\n"), ":authenticate"); n != 2 {
		t.Fatalf("%d sign-ins, want 2", n)
	}
	bad := e.provider(t, boundary.Config{AuthMethodID: emulator.PasswordAuthMethod, LoginName: "drawbridge", Password: "wrong"})
	if _, err := bad.Grant(ctx, e.grantSpec("req_1")); !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "check login_name, password and auth_method_id") {
		t.Fatalf("wrong password: %v", err)
	}
	tokProv := e.provider(t, boundary.Config{Token: "at_0000000000_unknown"})
	if _, err := tokProv.Grant(ctx, e.grantSpec("req_1")); !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "auth token was refused") {
		t.Fatalf("unknown token: %v", err)
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		cfg  boundary.Config
		want string
	}{
		{boundary.Config{Addr: "http://boundary.example.com", Token: "t"}, "not loopback"},
		{boundary.Config{Addr: "https://u:p@boundary.example.com", Token: "t"}, "credentials"},
		{boundary.Config{Addr: "https://boundary.example.com"}, "no credentials"},
		{boundary.Config{Addr: "https://boundary.example.com", Password: "p", LoginName: "x", AuthMethodID: "amoidc_1234567890"}, "ampw_"},
		{boundary.Config{Addr: "https://boundary.example.com", Token: "t", Scopes: []string{"prod"}}, "not a Boundary scope id"},
	} {
		if _, err := boundary.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// A cancel whose answer is lost is retried with the revocation: the next
// sweep lists the session as ended already and ends nothing twice; a
// throttled token deletion is retried the same way.
func TestEndSessionsRetryAfterLostCancelAndThrottledTokenDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.prov.Grant(ctx, e.grantSpec("req_1")); err != nil {
		t.Fatal(err)
	}
	s := e.connect(t)
	e.emu.Inject(emulator.Fault{Method: http.MethodPost, Path: ":cancel", Lose: true})
	if _, err := e.prov.EndSessions(ctx, e.revokeSpec("req_1")); err == nil || drawbridge.IsPermanent(err) {
		t.Fatalf("a lost cancel answer must be retryable: %v", err)
	}
	if e.emu.Session(s.ID).Status != emulator.StatusCanceling {
		t.Fatal("the cancel did not happen")
	}
	res, err := e.prov.EndSessions(ctx, e.revokeSpec("req_1"))
	if err != nil || res.Details["sessions_ended_count"] != "0" {
		t.Fatalf("retry: %v %v", res.Details, err)
	}

	spec := e.revokeSpec("req_2")
	spec.Assignment.Provider = "entra"
	e.emu.Inject(emulator.Fault{Method: http.MethodDelete, Path: "/v1/auth-tokens/", Status: 429, Kind: "Unavailable", Headers: map[string]string{"Retry-After": "3"}})
	if _, err := e.prov.EndSessions(ctx, spec); func() bool { d, ok := drawbridge.RetryAfterHint(err); return !ok || d != 3*time.Second }() {
		t.Fatalf("throttled token delete: %v", err)
	}
	if len(e.emu.Tokens(e.alice.ID)) != 1 {
		t.Fatalf("tokens after a throttled delete: %+v", e.emu.Tokens(e.alice.ID))
	}
	if res, err := e.prov.EndSessions(ctx, spec); err != nil || res.Details["auth_tokens_deleted"] != "1" || len(e.emu.Tokens(e.alice.ID)) != 0 {
		t.Fatalf("retry of the token delete: %v %v", res.Details, err)
	}
}
