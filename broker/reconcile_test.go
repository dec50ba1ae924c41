package broker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
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

// outsider is someone Drawbridge does not know, with access granted by hand.
const outsider = "9067e8a1b2-a1b2c3d4-0000-4000-8000-00000000abcd"

// Drift of every kind is found; --fix re-grants the missing assignment of
// an ACTIVE grant and deletes nothing it cannot prove Drawbridge left
// behind: not standing access, not an assignment made outside Drawbridge,
// and not one re-created by hand after a grant ended (issue 7 item 2).
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
	if err := e.Emu.AddAssignment(staging, power, outsider); err != nil {
		t.Fatal(err)
	}
	// Hand grant after a Drawbridge grant ended: bob's grant was revoked
	// (Drawbridge deleted the assignment), then an admin granted it by hand.
	bobGrant := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	if _, err := e.Broker.Revoke(e.Ctx, bobGrant.ID, "done", testenv.Operator); err != nil {
		t.Fatal(err)
	}
	if err := e.Emu.AddAssignment(prod, readOnly, e.AWSUserID(t, bob)); err != nil {
		t.Fatal(err)
	}
	// Leftover: bob's staging grant ended without its assignment being
	// deleted (the end is written behind the broker's back, a lost delete).
	leftGrant := e.Submit(t, bob, staging, readOnly, time.Hour, "")
	leftover := e.Get(t, leftGrant.ID)
	leftover.State, leftover.EndReason, leftover.EndedAt = drawbridge.StateExpired, "expired", e.Clock.Now()
	if err := e.Store.UpdateRequest(e.Ctx, leftover); err != nil {
		t.Fatal(err)
	}
	// Missing: alice's ACTIVE prod grant lost its assignment out of band.
	e.Clock.Advance(time.Minute)
	active := e.Submit(t, alice, prod, readOnly, time.Hour, "")
	e.Emu.RemoveAssignment(prod, readOnly, aliceID)
	e.Clock.Advance(time.Minute)

	rep, err := e.Broker.Reconcile(e.Ctx, false, testenv.Operator)
	if err != nil {
		t.Fatal(err)
	}
	un, left, miss := findings(rep, broker.DriftUnmanaged), findings(rep, broker.DriftLeftover), findings(rep, broker.DriftMissing)
	if len(un) != 2 || un[0].Assignment.PrincipalRef == un[1].Assignment.PrincipalRef {
		t.Errorf("unmanaged = %+v, want the outsider and bob's hand grant (standing access is explained)", un)
	}
	for _, f := range un {
		if f.Assignment.PrincipalRef == e.AWSUserID(t, bob) && (f.RequestID != bobGrant.ID || !strings.Contains(f.Note, "deleted")) {
			t.Errorf("bob's hand grant: %+v, want it named as made after %s deleted the assignment", f, bobGrant.ID)
		}
	}
	if len(left) != 1 || left[0].RequestID != leftGrant.ID {
		t.Errorf("leftover = %+v, want bob's ended staging grant %s", left, leftGrant.ID)
	}
	if len(miss) != 1 || miss[0].RequestID != active.ID {
		t.Errorf("missing = %+v, want %s", miss, active.ID)
	}
	if len(rep.Findings) != 4 {
		t.Errorf("%d findings, want 4: %+v", len(rep.Findings), rep.Findings)
	}
	if n := testenv.Count(e.Actions(t, leftGrant.ID), "drift_detected"); n != 1 {
		t.Errorf("%d drift_detected events on %s, want 1", n, leftGrant.ID)
	}

	rep, err = e.Broker.Reconcile(e.Ctx, true, testenv.Operator)
	if err != nil {
		t.Fatal(err)
	}
	// The AWS provider cannot tell when an assignment was created, so even
	// the leftover is reported, not deleted.
	if left := findings(rep, broker.DriftLeftover); len(left) != 1 || left[0].Fixed || !strings.Contains(left[0].Note, "creation time") {
		t.Errorf("fix: leftover %+v, want reported and not deleted", left)
	}
	if !e.HasAssignment(t, bob, staging, readOnly) {
		t.Error("fix deleted a leftover it could not date")
	}
	if !e.HasAssignment(t, bob, prod, readOnly) {
		t.Error("fix deleted bob's hand grant made after his Drawbridge grant ended")
	}
	if !e.Emu.HasAssignment(staging, power, outsider) {
		t.Error("fix deleted an assignment made outside Drawbridge")
	}
	if !e.HasAssignment(t, alice, staging, readOnly) {
		t.Error("fix deleted standing access")
	}
	// The ACTIVE grant gets its access back, recorded in the audit trail.
	if miss := findings(rep, broker.DriftMissing); len(miss) != 1 || !miss[0].Fixed {
		t.Errorf("fix: missing %+v, want re-granted", miss)
	}
	if !e.HasAssignment(t, alice, prod, readOnly) {
		t.Error("fix did not re-grant the missing assignment of an ACTIVE grant")
	}
	evs, err := e.Store.RequestEvents(e.Ctx, active.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.Action != "drift_detected" || last.Details["fixed"] != "true" || last.Details["fix"] != "re-granted" {
		t.Errorf("last event of %s: %s %v", active.ID, last.Action, last.Details)
	}
}

// datingProvider is the AWS provider plus the optional creation-time
// capability, answered from times the test sets; and a hook run before
// every listing.
type datingProvider struct {
	*aws.Provider
	created    map[drawbridge.Assignment]time.Time
	beforeList func()
}

func (p *datingProvider) AssignmentCreatedAt(_ context.Context, a drawbridge.Assignment) (time.Time, bool, error) {
	c, ok := p.created[a]
	return c, ok, nil
}

func (p *datingProvider) ListAssignments(ctx context.Context, resources []string) ([]drawbridge.Assignment, error) {
	if p.beforeList != nil {
		p.beforeList()
	}
	return p.Provider.ListAssignments(ctx, resources)
}

// With a provider that tells creation times, --fix deletes an assignment
// created by an ended grant's own create, and never one created after the
// grant ended.
func TestReconcileFixDeletesOnlyDatedLeftovers(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	dp := &datingProvider{Provider: e.Provider, created: map[drawbridge.Assignment]time.Time{}}
	e.Broker.Providers["aws"] = dp
	end := func(id string) {
		r := e.Get(t, id)
		r.State, r.EndReason, r.EndedAt = drawbridge.StateExpired, "expired", e.Clock.Now()
		if err := e.Store.UpdateRequest(e.Ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	own := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	ownA := drawbridge.Assignment{Entitlement: own.Entitlement, PrincipalRef: own.PrincipalRef}
	dp.created[ownA] = own.ProvisionStartedAt
	late := e.Submit(t, bob, staging, readOnly, time.Hour, "")
	lateA := drawbridge.Assignment{Entitlement: late.Entitlement, PrincipalRef: late.PrincipalRef}
	e.Clock.Advance(time.Hour)
	end(own.ID)
	end(late.ID)
	// bob's assignment was removed and granted again by hand after his
	// grant ended: its creation time says so.
	e.Clock.Advance(time.Minute)
	dp.created[lateA] = e.Clock.Now()
	e.Clock.Advance(time.Minute)

	rep, err := e.Broker.Reconcile(e.Ctx, true, testenv.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if e.HasAssignment(t, alice, staging, readOnly) {
		t.Errorf("fix left the leftover of %s: %+v", own.ID, rep.Findings)
	}
	if !e.HasAssignment(t, bob, staging, readOnly) {
		t.Errorf("fix deleted an assignment created after %s ended: %+v", late.ID, rep.Findings)
	}
}

// Reconcile lists the provider before it reads the store: a grant that
// becomes ACTIVE while reconcile runs is never taken for drift, and --fix
// never deletes its assignment.
func TestReconcileListsProviderBeforeStore(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	// bob's earlier grant of the same assignment ended (deleted).
	old := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	if _, err := e.Broker.Revoke(e.Ctx, old.ID, "done", testenv.Operator); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Minute)
	var fresh *drawbridge.Request
	dp := &datingProvider{Provider: e.Provider, beforeList: func() {
		if fresh == nil { // a new grant lands while reconcile runs
			fresh = e.Submit(t, bob, prod, readOnly, time.Hour, "")
		}
	}}
	e.Broker.Providers["aws"] = dp
	rep, err := e.Broker.Reconcile(e.Ctx, true, testenv.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 0 {
		t.Errorf("findings %+v, want none (the new grant explains the assignment)", rep.Findings)
	}
	wantState(t, e.Get(t, fresh.ID), drawbridge.StateActive)
	if !e.HasAssignment(t, bob, prod, readOnly) {
		t.Fatal("reconcile --fix deleted the assignment of a grant made while it ran")
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
