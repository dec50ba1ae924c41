package okta_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/okta"
	"github.com/drawbridge-jit/drawbridge/okta/emulator"
)

const token = "00emulated-api-token"

type env struct {
	emu   *emulator.Emulator
	clk   *clock.Fake
	prov  *okta.Provider
	url   string
	alice emulator.User
	group emulator.Group
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	emu := emulator.New(token, clk.Now)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	e := &env{emu: emu, clk: clk, url: srv.URL,
		alice: emu.AddUser(emulator.User{Login: "alice@example.com", Email: "alice@example.com"}),
		group: emu.AddGroup(emulator.Group{Name: "Boundary-Production"})}
	e.prov = e.provider(t, token)
	return e
}

func (e *env) provider(t *testing.T, tok string) *okta.Provider {
	t.Helper()
	p, err := okta.New(okta.Config{Name: "okta", OrgURL: e.url, APIToken: tok, Timeout: 5 * time.Second, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) spec(id, resource string) drawbridge.GrantSpec {
	return drawbridge.GrantSpec{RequestID: id, Until: e.clk.Now().Add(time.Hour), Reason: "incident 42",
		Assignment: drawbridge.Assignment{Entitlement: drawbridge.Entitlement{Provider: "okta", Resource: resource, Role: okta.RoleMember},
			PrincipalRef: e.alice.ID}}
}

func (e *env) revokeSpec(id, resource string) drawbridge.RevokeSpec {
	return drawbridge.RevokeSpec{RequestID: id, Assignment: e.spec(id, resource).Assignment, Requester: "alice@example.com", Reason: "expired"}
}

func TestGrantAndRevokeByGroupName(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.prov.Grant(ctx, e.spec("req_1", "Boundary-Production")); err != nil {
		t.Fatal(err)
	}
	if !e.emu.IsMember(e.group.ID, e.alice.ID) {
		t.Fatal("not a member after grant")
	}
	if ok, err := e.prov.Exists(ctx, e.spec("", "Boundary-Production").Assignment); err != nil || !ok {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	res, err := e.prov.Revoke(ctx, e.revokeSpec("req_1", "Boundary-Production"))
	if err != nil || res.Details["status"] != "removed" {
		t.Fatalf("revoke = %+v, %v", res, err)
	}
	if e.emu.IsMember(e.group.ID, e.alice.ID) {
		t.Fatal("still a member after revoke")
	}
	if ok, err := e.prov.Exists(ctx, e.spec("", e.group.ID).Assignment); err != nil || ok {
		t.Fatalf("Exists after revoke = %v, %v", ok, err)
	}
}

func TestRevokeOfMembershipAlreadyGoneSucceeds(t *testing.T) {
	e := newEnv(t)
	// Okta answers 404 to removing a user who is not in the group.
	e.emu.Inject(emulator.Fault{Method: http.MethodDelete, Path: "/users/", Count: 1, Status: 404, Code: "E0000007", Summary: "Not found: Resource not found"})
	res, err := e.prov.Revoke(context.Background(), e.revokeSpec("req_1", e.group.ID))
	if err != nil || res.Details["status"] != "already removed" {
		t.Fatalf("revoke = %+v, %v; want already removed", res, err)
	}
}

func TestGrantRetryAfterLostAnswerIsIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.emu.Inject(emulator.Fault{Method: http.MethodPut, Path: "/users/", Count: 1, Lose: true})
	_, err := e.prov.Grant(ctx, e.spec("req_1", e.group.ID))
	if err == nil || drawbridge.IsPermanent(err) {
		t.Fatalf("lost answer = %v; want a retryable error", err)
	}
	if !e.emu.IsMember(e.group.ID, e.alice.ID) {
		t.Fatal("the emulator did not do the work before dropping the answer")
	}
	if _, err := e.prov.Grant(ctx, e.spec("req_1", e.group.ID)); err != nil {
		t.Fatalf("retry = %v", err)
	}
	if !e.emu.IsMember(e.group.ID, e.alice.ID) {
		t.Fatal("not a member after the retry")
	}
}

func TestForbiddenIsPermanentAndNamesThePermission(t *testing.T) {
	e := newEnv(t)
	e.emu.Inject(emulator.Fault{Method: http.MethodPut, Path: "/users/", Count: 1, Status: 403, Code: "E0000006",
		Summary: "You do not have permission to perform the requested action"})
	_, err := e.prov.Grant(context.Background(), e.spec("req_1", e.group.ID))
	if !drawbridge.IsPermanent(err) {
		t.Fatalf("403 = %v; want permanent", err)
	}
	for _, want := range []string{"You do not have permission", okta.PermissionGroups, "Group Admin"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	bad := e.provider(t, "wrong-token")
	if _, err := bad.Grant(context.Background(), e.spec("req_1", e.group.ID)); !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "Invalid token") {
		t.Fatalf("bad token = %v; want permanent with Okta's summary", err)
	}
}

func TestOther4xxIsPermanentWithErrorSummary(t *testing.T) {
	e := newEnv(t)
	e.emu.Inject(emulator.Fault{Method: http.MethodPut, Path: "/users/", Count: 1, Status: 400, Code: "E0000001",
		Summary: "Api validation failed: cannot add a user to an APP_GROUP"})
	_, err := e.prov.Grant(context.Background(), e.spec("req_1", e.group.ID))
	if !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "cannot add a user to an APP_GROUP") {
		t.Fatalf("400 = %v; want permanent with the errorSummary", err)
	}
}

func TestRateLimitHonoursResetAndServerErrorIsRetryable(t *testing.T) {
	e := newEnv(t)
	reset := e.clk.Now().Add(42 * time.Second).Unix()
	e.emu.Inject(emulator.Fault{Method: http.MethodPut, Path: "/users/", Count: 1, Status: 429, Code: "E0000047",
		Summary: "API call exceeded rate limit due to too many requests.",
		Headers: map[string]string{"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": strconv.FormatInt(reset, 10)}})
	_, err := e.prov.Grant(context.Background(), e.spec("req_1", e.group.ID))
	if !drawbridge.IsRejected(err) || drawbridge.IsPermanent(err) {
		t.Fatalf("429 = %v; want rejected, not permanent", err)
	}
	if d, ok := drawbridge.RetryAfterHint(err); !ok || d != 42*time.Second {
		t.Fatalf("retry-after hint = %v, %v; want 42s from X-Rate-Limit-Reset", d, ok)
	}
	e.emu.Inject(emulator.Fault{Method: http.MethodPut, Path: "/users/", Count: 1, Status: 503, Code: "E0000009", Summary: "Internal Server Error"})
	_, err = e.prov.Grant(context.Background(), e.spec("req_1", e.group.ID))
	if err == nil || drawbridge.IsPermanent(err) || drawbridge.IsRejected(err) {
		t.Fatalf("503 = %v; want retryable", err)
	}
	if _, err := e.prov.Grant(context.Background(), e.spec("req_1", e.group.ID)); err != nil || !e.emu.IsMember(e.group.ID, e.alice.ID) {
		t.Fatalf("grant after the limit = %v", err)
	}
}

func TestPrincipalRefByLinkedIdentityThenLogin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	linked := &drawbridge.Principal{ID: "alice@example.com", Identities: map[string]string{drawbridge.IdentityOkta: e.alice.ID}}
	if got, err := e.prov.PrincipalRef(ctx, linked); err != nil || got != e.alice.ID {
		t.Fatalf("linked = %q, %v", got, err)
	}
	if n := len(e.emu.Calls()); n != 0 {
		t.Fatalf("a linked identity made %d calls; want none", n)
	}
	if got, err := e.prov.PrincipalRef(ctx, &drawbridge.Principal{ID: "alice@example.com"}); err != nil || got != e.alice.ID {
		t.Fatalf("by login = %q, %v", got, err)
	}
	_, err := e.prov.PrincipalRef(ctx, &drawbridge.Principal{ID: "bob@example.com"})
	if !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "identities: {okta:") {
		t.Fatalf("unknown person = %v; want permanent naming the fix", err)
	}
	bad := &drawbridge.Principal{ID: "alice@example.com", Identities: map[string]string{drawbridge.IdentityOkta: "alice"}}
	if _, err := e.prov.PrincipalRef(ctx, bad); !drawbridge.IsPermanent(err) {
		t.Fatalf("malformed linked id = %v; want permanent", err)
	}
}

func TestExistsFollowsPagesWithinTheOrgOnly(t *testing.T) {
	e := newEnv(t)
	e.emu.SetPageSize(2)
	for i := range 5 {
		e.alice = e.emu.AddUser(emulator.User{Login: "user" + strconv.Itoa(i) + "@example.com"})
		if _, err := e.prov.Grant(context.Background(), e.spec("req", e.group.ID)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		e.alice = emulator.User{}
		u, _ := e.prov.PrincipalRef(context.Background(), &drawbridge.Principal{ID: "user" + strconv.Itoa(i) + "@example.com"})
		e.alice.ID = u
		if ok, err := e.prov.Exists(context.Background(), e.spec("", e.group.ID).Assignment); err != nil || !ok {
			t.Fatalf("Exists of member %d across pages of 2 = %v, %v", i, ok, err)
		}
	}
	e.alice = emulator.User{ID: "00uNOTAMEMBER0000000"}
	if ok, err := e.prov.Exists(context.Background(), e.spec("", e.group.ID).Assignment); err != nil || ok {
		t.Fatalf("Exists of a non-member = %v, %v", ok, err)
	}
}

func TestNextPageOutsideTheOrgIsNotFollowed(t *testing.T) {
	e := newEnv(t)
	var leaked bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { leaked = true }))
	t.Cleanup(other.Close)
	// An org answering with a next page on another host.
	org := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<`+other.URL+`/api/v1/groups/x/users?after=1>; rel="next"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[]`))
	}))
	t.Cleanup(org.Close)
	p, err := okta.New(okta.Config{Name: "okta", OrgURL: org.URL, APIToken: token, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Exists(context.Background(), e.spec("", e.group.ID).Assignment)
	if !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "outside") || leaked {
		t.Fatalf("foreign next page = %v (followed: %v); want refused", err, leaked)
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		cfg  okta.Config
		want string
	}{
		{okta.Config{Name: "okta", APIToken: "t"}, "org_url"},
		{okta.Config{Name: "okta", OrgURL: "https://example.okta.com"}, "api token"},
		{okta.Config{Name: "okta", OrgURL: "http://example.okta.com", APIToken: "t"}, "plain http"},
	} {
		if _, err := okta.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v; want an error saying %q", tc.cfg, err, tc.want)
		}
	}
}

// The emulator's own rate limit, on its clock: the client's wait is the
// rest of the minute Okta names in X-Rate-Limit-Reset, and after it the
// call goes through.
func TestRateLimitWindowOnTheOrgClock(t *testing.T) {
	e := newEnv(t)
	e.clk.Advance(15 * time.Second)
	e.emu.SetRateLimit(1)
	ctx := context.Background()
	if _, err := e.prov.Grant(ctx, e.spec("req_1", e.group.ID)); err != nil {
		t.Fatal(err)
	}
	_, err := e.prov.Revoke(ctx, e.revokeSpec("req_1", e.group.ID))
	if d, ok := drawbridge.RetryAfterHint(err); !drawbridge.IsRejected(err) || !ok || d != 45*time.Second {
		t.Fatalf("over the limit = %v (hint %v, %v); want rejected with 45s to the minute's end", err, d, ok)
	}
	if !e.emu.IsMember(e.group.ID, e.alice.ID) {
		t.Fatal("a rate-limited removal was done")
	}
	e.clk.Advance(45 * time.Second)
	if _, err := e.prov.Revoke(ctx, e.revokeSpec("req_1", e.group.ID)); err != nil || e.emu.IsMember(e.group.ID, e.alice.ID) {
		t.Fatalf("revoke after the reset = %v", err)
	}
}
