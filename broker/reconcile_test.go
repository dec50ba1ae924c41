package broker_test

import (
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

func findings(rep *broker.ReconcileReport, kind string) []broker.Finding {
	var out []broker.Finding
	for _, f := range rep.Findings {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// Drift of every kind is found; --fix deletes only what Drawbridge itself
// created, never standing access or assignments made outside Drawbridge.
func TestReconcileFindsDriftAndFixesOnlyOwnLeftovers(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	// Standing access: alice already holds ReadOnly on staging; her grant
	// records it and expiry keeps it.
	aliceID := e.AWSUserID(t, alice)
	if err := e.Emu.AddAssignment(staging, readOnly, aliceID); err != nil {
		t.Fatal(err)
	}
	standing := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	if !standing.PreexistingAccess {
		t.Fatal("grant over standing access not recorded as preexisting")
	}
	e.Clock.Advance(time.Hour)
	e.HandleDue(t)
	if got := e.Get(t, standing.ID); got.State != drawbridge.StateExpired || !e.HasAssignment(t, alice, staging, readOnly) {
		t.Fatalf("standing grant %s, assignment present %v", got.State, e.HasAssignment(t, alice, staging, readOnly))
	}
	// Out of band: someone assigned an outsider directly in AWS.
	if err := e.Emu.AddAssignment(staging, power, "outsider-0001"); err != nil {
		t.Fatal(err)
	}
	// Leftover: bob's grant was revoked, then the assignment came back.
	bobGrant := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	if _, err := e.Broker.Revoke(e.Ctx, bobGrant.ID, "done", testenv.Operator); err != nil {
		t.Fatal(err)
	}
	if err := e.Emu.AddAssignment(prod, readOnly, e.AWSUserID(t, bob)); err != nil {
		t.Fatal(err)
	}
	// Missing: alice's ACTIVE prod grant lost its assignment out of band.
	active := e.Submit(t, alice, prod, readOnly, time.Hour, "")
	e.Emu.RemoveAssignment(prod, readOnly, aliceID)

	rep, err := e.Broker.Reconcile(e.Ctx, false, testenv.Operator)
	if err != nil {
		t.Fatal(err)
	}
	un, left, miss := findings(rep, broker.DriftUnmanaged), findings(rep, broker.DriftLeftover), findings(rep, broker.DriftMissing)
	if len(un) != 1 || un[0].Assignment.Principal != "outsider-0001" {
		t.Errorf("unmanaged = %+v, want the outsider only (standing access is explained)", un)
	}
	if len(left) != 1 || left[0].RequestID != bobGrant.ID {
		t.Errorf("leftover = %+v, want bob's revoked grant %s", left, bobGrant.ID)
	}
	if len(miss) != 1 || miss[0].RequestID != active.ID {
		t.Errorf("missing = %+v, want %s", miss, active.ID)
	}
	if len(rep.Findings) != 3 {
		t.Errorf("%d findings, want 3: %+v", len(rep.Findings), rep.Findings)
	}
	if n := testenv.Count(e.Actions(t, bobGrant.ID), "drift_detected"); n != 1 {
		t.Errorf("%d drift_detected events on %s, want 1", n, bobGrant.ID)
	}

	rep, err = e.Broker.Reconcile(e.Ctx, true, testenv.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if left := findings(rep, broker.DriftLeftover); len(left) != 1 || !left[0].Fixed {
		t.Errorf("fix: leftover %+v, want fixed", left)
	}
	if e.HasAssignment(t, bob, prod, readOnly) {
		t.Error("fix left bob's leftover assignment")
	}
	if !e.Emu.HasAssignment(staging, power, "outsider-0001") {
		t.Error("fix deleted an assignment made outside Drawbridge")
	}
	if !e.HasAssignment(t, alice, staging, readOnly) {
		t.Error("fix deleted standing access")
	}
}

// revoke --all revokes every ACTIVE grant in scope, and only those.
func TestRevokeAllScopes(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	a1 := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	a2 := e.Submit(t, alice, prod, readOnly, time.Hour, "")
	b1 := e.Submit(t, bob, staging, readOnly, time.Hour, "")
	b2 := e.Submit(t, bob, prod, readOnly, time.Hour, "")

	if _, err := e.Broker.RevokeAll(e.Ctx, broker.RevokeScope{}, "x", 0, testenv.Operator); drawbridge.ErrorCode(err) != drawbridge.EINVALID {
		t.Fatalf("unscoped revoke-all: %v, want EINVALID", err)
	}
	steps, err := e.Broker.RevokeAll(e.Ctx, broker.RevokeScope{Requester: "U12345678"}, "incident", 0, testenv.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 {
		t.Fatalf("%d steps for alice, want 2", len(steps))
	}
	for _, id := range []string{a1.ID, a2.ID} {
		if got := e.Get(t, id); got.State != drawbridge.StateRevoked || got.EndReason != "incident" {
			t.Errorf("%s: %s (%s), want REVOKED (incident)", id, got.State, got.EndReason)
		}
	}
	if _, err := e.Broker.RevokeAll(e.Ctx, broker.RevokeScope{Resource: staging}, "", 0, testenv.Operator); err != nil {
		t.Fatal(err)
	}
	if got := e.Get(t, b1.ID); got.State != drawbridge.StateRevoked {
		t.Errorf("bob's staging grant %s, want REVOKED", got.State)
	}
	if got := e.Get(t, b2.ID); got.State != drawbridge.StateActive {
		t.Errorf("bob's prod grant %s, want still ACTIVE (out of scope)", got.State)
	}
	if e.HasAssignment(t, alice, staging, readOnly) || e.HasAssignment(t, bob, staging, readOnly) || !e.HasAssignment(t, bob, prod, readOnly) {
		t.Error("assignments do not match the revoked scope")
	}
}

// A retryable provisioning failure leaves the grant PROVISIONING with its
// own attempt count (not the revocation counter), and a later attempt
// activates it.
func TestProvisioningRetryCountsItsOwnAttempts(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Emu.Fail(emulator.OpCreateAccountAssignment, emulator.Fault{Code: "ThrottlingException", Times: 2})
	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	if r.State != drawbridge.StateProvisioning || r.ProvisionAttempts != 1 || r.RevokeAttempts != 0 {
		t.Fatalf("after a throttled create: %s, provision attempts %d, revoke attempts %d", r.State, r.ProvisionAttempts, r.RevokeAttempts)
	}
	for i := 0; i < 3 && e.Get(t, r.ID).State == drawbridge.StateProvisioning; i++ {
		e.Clock.Advance(5 * time.Second) // past the capped backoff of testenv
		e.HandleDue(t)
	}
	got := e.Get(t, r.ID)
	if got.State != drawbridge.StateActive || got.ProvisionAttempts != 2 || got.RevokeAttempts != 0 {
		t.Fatalf("after retries: %s, provision attempts %d, revoke attempts %d", got.State, got.ProvisionAttempts, got.RevokeAttempts)
	}
	if n := testenv.Count(e.Actions(t, r.ID), drawbridge.ActionProvisionAttemptFailed); n != 2 {
		t.Errorf("%d provision_attempt_failed events, want 2", n)
	}
}
