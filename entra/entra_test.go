package entra_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/entra"
	"github.com/drawbridge-jit/drawbridge/entra/emulator"
)

const (
	tenant = "8f1c2d3e-0000-4000-8000-000000000001"
	client = "11111111-2222-4333-8444-555555555555"
	secret = "emulated-secret-value"
)

type env struct {
	emu   *emulator.Emulator
	clk   *clock.Fake
	prov  *entra.Provider
	url   string
	alice emulator.User
	group emulator.Group
}

func newEnv(t *testing.T, mode string) *env {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	emu := emulator.New(tenant, client, secret, clk.Now)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	e := &env{emu: emu, clk: clk, url: srv.URL,
		alice: emu.AddUser(emulator.User{UserPrincipalName: "alice@example.com", Mail: "alice@example.com", DisplayName: "Alice"}),
		group: emu.AddGroup(emulator.Group{DisplayName: "Boundary-Production"})}
	e.prov = e.provider(t, mode, secret)
	return e
}

func (e *env) provider(t *testing.T, mode, secret string) *entra.Provider {
	t.Helper()
	p, err := entra.New(entra.Config{Name: "entra", TenantID: tenant, ClientID: client, ClientSecret: secret, Mode: mode,
		LoginEndpoint: e.url, GraphEndpoint: e.url + "/v1.0", Timeout: 5 * time.Second, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) spec(id, role string, until time.Time) drawbridge.GrantSpec {
	return drawbridge.GrantSpec{RequestID: id, Until: until, Reason: "incident 42", Ticket: "INC-42",
		Assignment: drawbridge.Assignment{Entitlement: drawbridge.Entitlement{Provider: "entra", Resource: "Boundary-Production", Role: role},
			PrincipalRef: e.alice.ID}}
}

func (e *env) revokeSpec(id string) drawbridge.RevokeSpec {
	s := e.spec(id, "member", time.Time{})
	return drawbridge.RevokeSpec{RequestID: id, Assignment: s.Assignment, Requester: "alice@example.com", Reason: "expired"}
}

func TestPIMGrantSetsNativeExpiryAndRevokeRemoves(t *testing.T) {
	e := newEnv(t, entra.ModePIM)
	ctx := context.Background()
	until := e.clk.Now().Add(3 * time.Hour)
	res, err := e.prov.Grant(ctx, e.spec("req_1", "member", until))
	if err != nil {
		t.Fatal(err)
	}
	reqs := e.emu.Requests()
	if len(reqs) != 1 || res.GrantRef != reqs[0].ID || reqs[0].Action != "adminAssign" || reqs[0].Status != "Provisioned" {
		t.Fatalf("grant ref %q, requests %+v", res.GrantRef, reqs)
	}
	if j := reqs[0].Justification; !strings.Contains(j, "incident 42") || !strings.Contains(j, "INC-42") {
		t.Errorf("justification %q lacks the reason and ticket", j)
	}
	if got := reqs[0].TicketInfo.TicketNumber; got == nil || *got != "INC-42" {
		t.Errorf("ticketInfo.ticketNumber = %v", got)
	}
	act := e.emu.Active(e.group.ID, e.alice.ID)
	if len(act) != 1 || !act[0].End.Equal(until) {
		t.Fatalf("active %+v, want one ending at %s", act, until)
	}
	if ok, err := e.prov.Exists(ctx, e.spec("", "member", until).Assignment); err != nil || !ok {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	if _, err := e.prov.Revoke(ctx, e.revokeSpec("req_1")); err != nil {
		t.Fatal(err)
	}
	if act := e.emu.Active(e.group.ID, e.alice.ID); len(act) != 0 {
		t.Fatalf("still active after revoke: %+v", act)
	}
	res2, err := e.prov.Revoke(ctx, e.revokeSpec("req_1"))
	if err != nil || res2.Details["status"] != "already removed" {
		t.Fatalf("second revoke = %+v, %v; want already removed", res2, err)
	}
}

func TestPIMNativeExpiryEndsAccess(t *testing.T) {
	e := newEnv(t, entra.ModePIM)
	until := e.clk.Now().Add(90 * time.Minute)
	if _, err := e.prov.Grant(context.Background(), e.spec("req_1", "member", until)); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(90*time.Minute - time.Second)
	if len(e.emu.Active(e.group.ID, e.alice.ID)) != 1 {
		t.Fatal("ended before its end")
	}
	e.clk.Advance(time.Second)
	if act := e.emu.Active(e.group.ID, e.alice.ID); len(act) != 0 {
		t.Fatalf("Entra did not end it at its end: %+v", act)
	}
}

func TestPIMGrantRetryAfterLostAnswerMakesOneAssignment(t *testing.T) {
	e := newEnv(t, entra.ModePIM)
	ctx := context.Background()
	e.emu.Inject(emulator.Fault{Method: "POST", Path: "assignmentScheduleRequests", Count: 1, Lose: true})
	spec := e.spec("req_1", "member", e.clk.Now().Add(time.Hour))
	_, err := e.prov.Grant(ctx, spec)
	if err == nil || drawbridge.IsPermanent(err) || drawbridge.IsRejected(err) {
		t.Fatalf("lost answer: err = %v; want a plain retryable error", err)
	}
	res, err := e.prov.Grant(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	reqs := e.emu.Requests()
	if len(reqs) != 1 || res.GrantRef != reqs[0].ID {
		t.Fatalf("retry made %d schedule requests (%+v), ref %q: want the first one found again", len(reqs), reqs, res.GrantRef)
	}
}

func TestPermanentErrorsNameWhatIsWrong(t *testing.T) {
	e := newEnv(t, entra.ModePIM)
	ctx := context.Background()
	e.emu.Revoke(emulator.PermissionPIM)
	_, err := e.prov.Grant(ctx, e.spec("req_1", "member", e.clk.Now().Add(time.Hour)))
	if !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), entra.PermissionPIM) || !strings.Contains(err.Error(), "Insufficient privileges") {
		t.Fatalf("grant without permission: %v; want permanent, naming %s and Graph's message", err, entra.PermissionPIM)
	}

	bad := e.provider(t, entra.ModePIM, "wrong-secret")
	_, err = bad.Grant(ctx, e.spec("req_2", "member", e.clk.Now().Add(time.Hour)))
	if !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "client_secret") || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("wrong secret: %v; want permanent naming client_secret and the tenant's answer", err)
	}
}

func TestGraphFailureMessageIsKept(t *testing.T) {
	e := newEnv(t, entra.ModePIM)
	e.emu.Inject(emulator.Fault{Method: "POST", Path: "assignmentScheduleRequests", Count: 1, Status: 400,
		Code: "InvalidPolicy", Message: "The group Boundary-Production requires approval for member assignments."})
	_, err := e.prov.Grant(context.Background(), e.spec("req_1", "member", e.clk.Now().Add(time.Hour)))
	if !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "requires approval for member assignments") {
		t.Fatalf("err = %v; want permanent with Graph's message", err)
	}
}

func TestThrottlingHonoursRetryAfter(t *testing.T) {
	e := newEnv(t, entra.ModePIM)
	e.emu.Inject(emulator.Fault{Method: "POST", Path: "assignmentScheduleRequests", Count: 1, Status: 429, RetryAfter: "7",
		Code: "TooManyRequests", Message: "Too many requests."})
	_, err := e.prov.Grant(context.Background(), e.spec("req_1", "member", e.clk.Now().Add(time.Hour)))
	d, ok := drawbridge.RetryAfterHint(err)
	if !ok || d != 7*time.Second || !drawbridge.IsRejected(err) || drawbridge.IsPermanent(err) {
		t.Fatalf("429: err = %v, hint %v %v; want a rejection with a 7s hint", err, d, ok)
	}
	e.emu.Inject(emulator.Fault{Method: "POST", Path: "assignmentScheduleRequests", Count: 1, Status: 503, Code: "ServiceUnavailable", Message: "busy"})
	_, err = e.prov.Grant(context.Background(), e.spec("req_1", "member", e.clk.Now().Add(time.Hour)))
	if err == nil || drawbridge.IsPermanent(err) {
		t.Fatalf("503: err = %v; want retryable", err)
	}
	if _, err := e.prov.Grant(context.Background(), e.spec("req_1", "member", e.clk.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
}

func TestPendingActivationIsLookAgain(t *testing.T) {
	e := newEnv(t, entra.ModePIM)
	ctx := context.Background()
	e.emu.SetActivationDelay(10 * time.Minute)
	spec := e.spec("req_1", "member", e.clk.Now().Add(time.Hour))
	_, err := e.prov.Grant(ctx, spec)
	p := drawbridge.AsPending(err)
	if p == nil || drawbridge.IsPermanent(err) || !p.At.Equal(e.clk.Now().Add(entra.PendingRecheck)) || !strings.Contains(p.Status, "PendingProvisioning") {
		t.Fatalf("err = %v; want pending PendingProvisioning, look again in %s", err, entra.PendingRecheck)
	}
	e.clk.Advance(entra.PendingRecheck)
	if _, err := e.prov.Grant(ctx, spec); drawbridge.AsPending(err) == nil {
		t.Fatalf("after 1m: %v; want still pending", err)
	}
	e.clk.Advance(10 * time.Minute)
	res, err := e.prov.Grant(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if reqs := e.emu.Requests(); len(reqs) != 1 || reqs[0].ID != res.GrantRef {
		t.Fatalf("requests %+v, ref %q: want the one request, provisioned", reqs, res.GrantRef)
	}
}

func TestExtensionMovesNativeExpiry(t *testing.T) {
	e := newEnv(t, entra.ModePIM)
	ctx := context.Background()
	first := e.clk.Now().Add(time.Hour)
	if _, err := e.prov.Grant(ctx, e.spec("req_1", "member", first)); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(30 * time.Minute)
	later := e.clk.Now().Add(2 * time.Hour)
	ext := e.spec("req_2", "member", later)
	ext.Extends = "req_1"
	res, err := e.prov.Extend(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	act := e.emu.Active(e.group.ID, e.alice.ID)
	if len(act) != 1 || act[0].End.Before(later) {
		t.Fatalf("after extension: %+v, want one assignment lasting until %s", act, later)
	}
	if res.Details["action"] != "adminExtend" {
		t.Errorf("extension details %v: want adminExtend", res.Details)
	}
	e.clk.Advance(time.Hour)
	if len(e.emu.Active(e.group.ID, e.alice.ID)) != 1 {
		t.Fatal("the first grant's native expiry cut the extended grant short")
	}
	// An earlier end never shortens it.
	if _, err := e.prov.Grant(ctx, e.spec("req_3", "member", e.clk.Now().Add(10*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if act := e.emu.Active(e.group.ID, e.alice.ID); len(act) != 1 || act[0].End.Before(later) {
		t.Fatalf("a shorter grant moved the end: %+v", act)
	}
}

func TestMembershipMode(t *testing.T) {
	e := newEnv(t, entra.ModeMembership)
	ctx := context.Background()
	spec := e.spec("req_1", "owner", e.clk.Now().Add(time.Hour))
	if _, err := e.prov.Grant(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if !e.emu.IsMember(e.group.ID, "owner", e.alice.ID) {
		t.Fatal("not an owner after grant")
	}
	res, err := e.prov.Grant(ctx, spec)
	if err != nil || !strings.Contains(res.Details["status"], "already") {
		t.Fatalf("repeated grant = %+v, %v; want done (already an owner)", res, err)
	}
	if ok, err := e.prov.Exists(ctx, spec.Assignment); err != nil || !ok {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	rs := drawbridge.RevokeSpec{RequestID: "req_1", Assignment: spec.Assignment}
	if _, err := e.prov.Revoke(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if e.emu.IsMember(e.group.ID, "owner", e.alice.ID) {
		t.Fatal("still an owner after revoke")
	}
	if r, err := e.prov.Revoke(ctx, rs); err != nil || r.Details["status"] != "already removed" {
		t.Fatalf("second revoke = %+v, %v", r, err)
	}
	if ok, err := e.prov.Exists(ctx, spec.Assignment); err != nil || ok {
		t.Fatalf("Exists after revoke = %v, %v", ok, err)
	}
}

func TestPrincipalRef(t *testing.T) {
	e := newEnv(t, entra.ModePIM)
	ctx := context.Background()
	bob := e.emu.AddUser(emulator.User{UserPrincipalName: "bob@corp.onmicrosoft.com", Mail: "bob@example.com"})
	for _, c := range []struct {
		who  drawbridge.Principal
		want string
	}{
		{drawbridge.Principal{ID: "alice@example.com"}, e.alice.ID},
		{drawbridge.Principal{ID: "bob@example.com"}, bob.ID},
		{drawbridge.Principal{ID: "carol@example.com", Identities: map[string]string{"entra": bob.ID}}, bob.ID},
	} {
		got, err := e.prov.PrincipalRef(ctx, &c.who)
		if err != nil || got != c.want {
			t.Errorf("PrincipalRef(%s) = %q, %v; want %q", c.who.ID, got, err, c.want)
		}
	}
	_, err := e.prov.PrincipalRef(ctx, &drawbridge.Principal{ID: "nobody@example.com"})
	if !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "identities: {entra:") {
		t.Errorf("unknown person: %v", err)
	}
	_, err = e.prov.PrincipalRef(ctx, &drawbridge.Principal{ID: "x@example.com", Identities: map[string]string{"entra": "not-a-guid"}})
	if !drawbridge.IsPermanent(err) {
		t.Errorf("bad linked id: %v", err)
	}
}

func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	_, err := entra.New(entra.Config{Name: "entra", TenantID: tenant, ClientID: client, ClientSecret: secret,
		GraphEndpoint: "http://graph.example.com/v1.0"})
	if err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Fatalf("err = %v", err)
	}
}

// A removal while an activation is still pending must not be confirmed:
// Entra would provision the assignment after "already removed".
func TestRevokeWaitsForPendingActivation(t *testing.T) {
	e := newEnv(t, entra.ModePIM)
	ctx := context.Background()
	e.emu.SetActivationDelay(10 * time.Minute)
	if _, err := e.prov.Grant(ctx, e.spec("req_1", "member", e.clk.Now().Add(time.Hour))); drawbridge.AsPending(err) == nil {
		t.Fatalf("grant: %v, want pending", err)
	}
	_, err := e.prov.Revoke(ctx, e.revokeSpec("req_1"))
	if p := drawbridge.AsPending(err); p == nil || !strings.Contains(p.Status, "PendingProvisioning") {
		t.Fatalf("revoke during a pending activation: %v; want pending (look again)", err)
	}
	e.clk.Advance(10 * time.Minute)
	if _, err := e.prov.Revoke(ctx, e.revokeSpec("req_1")); err != nil {
		t.Fatal(err)
	}
	if act := e.emu.Active(e.group.ID, e.alice.ID); len(act) != 0 {
		t.Fatalf("assigned after the removal was confirmed: %+v", act)
	}
}

// Entra's listing of assignments lags its writes: an adminAssign answered
// "already exists" right after the listing showed none is asked again
// (and then found), never a FAILED grant.
func TestAssignmentExistsIsRetried(t *testing.T) {
	e := newEnv(t, entra.ModePIM)
	e.emu.Inject(emulator.Fault{Method: "POST", Path: "assignmentScheduleRequests", Count: 1, Status: 400,
		Code: "RoleAssignmentExists", Message: "The Role assignment already exists."})
	_, err := e.prov.Grant(context.Background(), e.spec("req_1", "member", e.clk.Now().Add(time.Hour)))
	if err == nil || drawbridge.IsPermanent(err) {
		t.Fatalf("err = %v; want retryable", err)
	}
}
