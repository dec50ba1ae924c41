package broker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
	"github.com/drawbridge-jit/drawbridge/policy"
)

// activeAdmin is alice's approved, ACTIVE prod admin grant of 1h.
func activeAdmin(t *testing.T, e *testenv.Env) *drawbridge.Request {
	t.Helper()
	r := pendingAdmin(t, e, alice)
	out, err := e.Broker.Approve(e.Ctx, r.ID, carol, "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, out, drawbridge.StateActive)
	return out
}

// lastEvent returns the last audit event recorded for id.
func lastEvent(t *testing.T, e *testenv.Env, id string) drawbridge.AuditEvent {
	t.Helper()
	evs, err := e.Store.RequestEvents(e.Ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return evs[len(evs)-1]
}

// Issue 7 item 4: a pending extension of a grant that is then revoked is
// cancelled, with an audit event naming why, and can no longer be approved.
func TestRevokeCancelsPendingExtension(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	parent := activeAdmin(t, e)
	e.Clock.Advance(4 * time.Minute)
	ext, err := e.Broker.Extend(e.Ctx, parent.ID, 30*time.Minute, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, ext, drawbridge.StatePendingApproval)
	if _, err := e.Broker.Revoke(e.Ctx, parent.ID, "incident over", op); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.Get(t, parent.ID), drawbridge.StateRevoked)
	got := e.Get(t, ext.ID)
	wantState(t, got, drawbridge.StateCancelled)
	if !strings.Contains(got.EndReason, parent.ID) || !strings.Contains(got.EndReason, "revoked") {
		t.Errorf("end reason %q does not say the parent %s was revoked", got.EndReason, parent.ID)
	}
	if ev := lastEvent(t, e, ext.ID); ev.Action != "cancel" || ev.Details["parent"] != parent.ID || !strings.Contains(ev.Details["reason"], "revoked") {
		t.Errorf("last event of the extension: %s %v", ev.Action, ev.Details)
	}
	_, err = e.Broker.Approve(e.Ctx, ext.ID, carol, "", op)
	wantCode(t, err, drawbridge.ECONFLICT, "CANCELLED")
	if e.HasAssignment(t, alice, prod, admin) {
		t.Fatal("the extension of a revoked grant gave access")
	}
}

// Expiry of a grant cancels its pending extensions too.
func TestExpiryCancelsPendingExtension(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	parent := activeAdmin(t, e)
	e.Clock.Advance(50 * time.Minute)
	ext, err := e.Broker.Extend(e.Ctx, parent.ID, 30*time.Minute, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(10 * time.Minute)
	e.HandleDue(t)
	wantState(t, e.Get(t, parent.ID), drawbridge.StateExpired)
	got := e.Get(t, ext.ID)
	wantState(t, got, drawbridge.StateCancelled)
	if !strings.Contains(got.EndReason, "expired") {
		t.Errorf("end reason %q does not say the parent expired", got.EndReason)
	}
	if e.HasAssignment(t, alice, prod, admin) {
		t.Fatal("access left after the parent expired")
	}
}

// An extension is approved only while its parent is ACTIVE, even if the
// cancellation that should have followed the parent's end never happened
// (a crash between the two writes): the approval cancels it instead.
func TestExtensionApprovalRefusedOnceParentEnded(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	parent := activeAdmin(t, e)
	ext, err := e.Broker.Extend(e.Ctx, parent.ID, 30*time.Minute, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	// The parent ends behind the broker's back: only its row changes.
	p := e.Get(t, parent.ID)
	p.State, p.EndReason, p.EndedAt = drawbridge.StateRevoked, "revoked by test", e.Clock.Now()
	if err := e.Store.UpdateRequest(e.Ctx, p); err != nil {
		t.Fatal(err)
	}
	_, err = e.Broker.Approve(e.Ctx, ext.ID, carol, "", op)
	wantCode(t, err, drawbridge.ECONFLICT, "only while")
	got := e.Get(t, ext.ID)
	wantState(t, got, drawbridge.StateCancelled)
	if n := e.Emu.Calls(emulator.OpCreateAccountAssignment); n != 1 {
		t.Fatalf("%d creates, want only the parent's", n)
	}
}

// Revoking a grant also revokes its ACTIVE extension: the extension only
// continues the access being taken away. Revoking the extension alone
// leaves the parent (the extra time is withdrawn, not the grant).
func TestRevokeEndsActiveExtensions(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	parent := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	ext, err := e.Broker.Extend(e.Ctx, parent.ID, time.Hour, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, ext, drawbridge.StateActive)
	if _, err := e.Broker.Revoke(e.Ctx, parent.ID, "done", op); err != nil {
		t.Fatal(err)
	}
	got := e.Get(t, ext.ID)
	wantState(t, got, drawbridge.StateRevoked)
	if !strings.Contains(got.EndReason, parent.ID) {
		t.Errorf("extension end reason %q does not name the parent", got.EndReason)
	}
	if e.HasAssignment(t, alice, staging, readOnly) {
		t.Fatal("access left after revoking the grant and its extension")
	}

	parent = e.Submit(t, alice, staging, readOnly, time.Hour, "")
	ext, err = e.Broker.Extend(e.Ctx, parent.ID, time.Hour, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Broker.Revoke(e.Ctx, ext.ID, "no longer needed", op); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.Get(t, parent.ID), drawbridge.StateActive)
	if !e.HasAssignment(t, alice, staging, readOnly) {
		t.Fatal("revoking the extension removed the parent's access")
	}
}

// A second extension of the same grant is refused, naming the first.
func TestSecondExtensionRefused(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	parent := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	first, err := e.Broker.Extend(e.Ctx, parent.ID, time.Hour, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, first, drawbridge.StateActive)
	_, err = e.Broker.Extend(e.Ctx, parent.ID, time.Hour, "", "", op)
	wantCode(t, err, drawbridge.ECONFLICT, first.ID)
	// Extending the latest grant of the chain is how to go on.
	second, err := e.Broker.Extend(e.Ctx, first.ID, time.Hour, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, second, drawbridge.StateActive)
	if want := first.ExpiresAt.Add(time.Hour); !second.ExpiresAt.Equal(want) {
		t.Errorf("second extension expires %v, want %v", second.ExpiresAt, want)
	}
}

// An extension's duration_seconds is its real window: activated_at +
// duration = expires_at, as for every other grant.
func TestExtensionDurationIsItsWindow(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	parent := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	e.Clock.Advance(20 * time.Minute)
	ext, err := e.Broker.Extend(e.Ctx, parent.ID, 30*time.Minute, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	got := e.Get(t, ext.ID)
	if want := parent.ExpiresAt.Add(30 * time.Minute); !got.ExpiresAt.Equal(want) {
		t.Fatalf("extension expires %v, want %v", got.ExpiresAt, want)
	}
	if w := got.ExpiresAt.Sub(got.ProvisionStartedAt); got.Duration != w || w != 70*time.Minute {
		t.Errorf("duration_seconds %d, but provision_started_at..expires_at is %s (want 1h10m0s)", got.DurationSeconds(), w)
	}
	if ev := lastEvent(t, e, ext.ID); ev.Details["extends_by"] != "30m0s" {
		t.Errorf("activate event does not record the requested extra time: %v", ev.Details)
	}
}

// Chained self-service extensions cannot turn a 4h rule into 16h of
// continuous access: the rule's max_duration bounds the whole window.
func TestChainedExtensionsBoundedByMaxDuration(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	parent := e.Submit(t, alice, staging, power, 4*time.Hour, "") // staging-poweruser, 4h
	wantState(t, parent, drawbridge.StateActive)
	e.Clock.Advance(time.Second)
	ext, err := e.Broker.Extend(e.Ctx, parent.ID, 4*time.Hour, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, ext, drawbridge.StateDenied)
	if !strings.Contains(ext.Decision.Reason, "continuous access") || !strings.Contains(ext.Decision.Reason, "8h0m0s") ||
		!strings.Contains(ext.Decision.Reason, "4h0m0s") {
		t.Errorf("denial reason %q does not name the window and the limit", ext.Decision.Reason)
	}
	// A fresh request overlapping the grant is the same access.
	again := e.Submit(t, alice, staging, power, 4*time.Hour, "")
	wantState(t, again, drawbridge.StateDenied)
	if !strings.Contains(again.Decision.Reason, "continuous access") {
		t.Errorf("overlapping request: %q", again.Decision.Reason)
	}
	// Once the grant has ended, a new window starts.
	e.Clock.Advance(4 * time.Hour)
	e.HandleDue(t)
	wantState(t, e.Get(t, parent.ID), drawbridge.StateExpired)
	wantState(t, e.Submit(t, alice, staging, power, 4*time.Hour, ""), drawbridge.StateActive)
}

const continuousPolicy = `version: 1
rules:
  - name: ro
    match: {provider: aws, accounts: ["*"], permission_sets: [ReadOnlyAccess], requesters: ["*"]}
    max_duration: 2h
    max_continuous: 5h
    decision: allow
  - name: admin
    match: {provider: aws, accounts: ["*"], permission_sets: [AdministratorAccess], requesters: ["*"]}
    approval: {approvers: ["group:sre-leads"], timeout: 8h}
    max_duration: 2h
    max_continuous: 3h
    decision: require_approval
`

// max_continuous widens the window beyond max_duration, and is enforced
// again at approval with the policy in force then.
func TestMaxContinuous(t *testing.T) {
	e := testenv.New(t, testenv.Options{Policy: continuousPolicy})
	p := e.Submit(t, alice, staging, readOnly, 2*time.Hour, "")
	x1, err := e.Broker.Extend(e.Ctx, p.ID, 2*time.Hour, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, x1, drawbridge.StateActive)
	x2, err := e.Broker.Extend(e.Ctx, x1.ID, 2*time.Hour, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, x2, drawbridge.StateDenied)
	if !strings.Contains(x2.Decision.Reason, "6h0m0s") || !strings.Contains(x2.Decision.Reason, "max_continuous 5h0m0s") {
		t.Errorf("reason %q", x2.Decision.Reason)
	}
	x2, err = e.Broker.Extend(e.Ctx, x1.ID, time.Hour, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, x2, drawbridge.StateActive)

	// Approval: the admin grant is 2h, the extension asks 1h (3h window,
	// allowed at submission); the policy then tightens max_continuous.
	a := e.Submit(t, bob, prod, admin, 2*time.Hour, "")
	a, err = e.Broker.Approve(e.Ctx, a.ID, carol, "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, a, drawbridge.StateActive)
	ax, err := e.Broker.Extend(e.Ctx, a.ID, time.Hour, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, ax, drawbridge.StatePendingApproval)
	tight, err := policy.Parse("access_rules.yaml", []byte(strings.Replace(continuousPolicy, "max_continuous: 3h", "max_continuous: 2h30m", 1)))
	if err != nil {
		t.Fatal(err)
	}
	e.Broker.SetPolicy(tight)
	creates := e.Emu.Calls(emulator.OpCreateAccountAssignment)
	ax, err = e.Broker.Approve(e.Ctx, ax.ID, carol, "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, ax, drawbridge.StateDenied)
	if !strings.Contains(ax.EndReason, "continuous access") || !strings.Contains(ax.EndReason, "2h30m0s") {
		t.Errorf("end reason %q", ax.EndReason)
	}
	if n := e.Emu.Calls(emulator.OpCreateAccountAssignment); n != creates {
		t.Errorf("the denied extension was provisioned (%d creates, then %d)", creates, n)
	}
}
