package storetest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

var adminEnt = drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "AdministratorAccess"}

// grantIn creates a request of adminEnt for provider principal "user-1" in
// state st.
func grantIn(t *testing.T, h drawbridge.Store, st drawbridge.State) *drawbridge.Request {
	t.Helper()
	r := NewRequest("alice@example.com", adminEnt.Resource, adminEnt.Role)
	r.State, r.PrincipalRef = st, "user-1"
	return Create(t, h, r)
}

func wantBusy(t *testing.T, err error, holder string) {
	t.Helper()
	busy := drawbridge.AsAssignmentBusy(err)
	if busy == nil {
		t.Fatalf("error %v, want an assignment busy error naming %s", err, holder)
	}
	if busy.Holder != holder {
		t.Fatalf("busy error names %s, want %s: %v", busy.Holder, holder, err)
	}
}

// Two handles stand for `serve` and a CLI `revoke`: the rule that an
// assignment is never provisioned and deleted at once holds across them,
// and a refused write writes nothing.
func testAssignmentClaimAcrossHandles(t *testing.T, s Stores) {
	ctx := context.Background()
	serve, cli := drawbridge.Store(s), s.Reopen(t)

	a := grantIn(t, serve, drawbridge.StateActive)
	b := grantIn(t, serve, drawbridge.StateActive)

	// A may not claim the deletion while B is ACTIVE on the assignment.
	a, _ = cli.GetRequest(ctx, a.ID)
	a.State, a.DeletesAssignment = drawbridge.StateRevoking, true
	wantBusy(t, cli.UpdateRequest(ctx, a, drawbridge.AuditEvent{Action: "revoke"}), b.ID)
	if got, _ := serve.GetRequest(ctx, a.ID); got.State != drawbridge.StateActive || got.Version != 1 {
		t.Fatalf("refused claim wrote the request: %s v%d", got.State, got.Version)
	}
	if evs, _ := serve.RequestEvents(ctx, a.ID); len(evs) != 1 {
		t.Fatalf("refused claim appended events: %d", len(evs))
	}
	// Without the claim (keeping the assignment) the write goes through.
	a.DeletesAssignment = false
	if err := cli.UpdateRequest(ctx, a); err != nil {
		t.Fatal(err)
	}

	// Once B is gone, C's claim succeeds, and then nothing of the same
	// assignment can enter PROVISIONING, created or updated, in either
	// handle; a request of another assignment can.
	b.State, b.EndedAt = drawbridge.StateRevoked, T0
	if err := serve.UpdateRequest(ctx, b); err != nil {
		t.Fatal(err)
	}
	c := grantIn(t, serve, drawbridge.StateActive)
	c.State, c.DeletesAssignment = drawbridge.StateRevoking, true
	if err := serve.UpdateRequest(ctx, c); err != nil {
		t.Fatalf("claim with nobody else on the assignment: %v", err)
	}
	d := NewRequest("alice@example.com", adminEnt.Resource, adminEnt.Role)
	d.State, d.PrincipalRef = drawbridge.StateProvisioning, "user-1"
	wantBusy(t, cli.CreateRequest(ctx, d), c.ID)
	if _, err := serve.GetRequest(ctx, d.ID); drawbridge.ErrorCode(err) != drawbridge.ENOTFOUND {
		t.Fatalf("refused create was written: %v", err)
	}
	e := grantIn(t, cli, drawbridge.StateApproved)
	e.State, e.PrincipalRef = drawbridge.StateProvisioning, "user-1"
	wantBusy(t, cli.UpdateRequest(ctx, e), c.ID)
	other := NewRequest("bob@example.com", adminEnt.Resource, adminEnt.Role)
	other.State, other.PrincipalRef = drawbridge.StateProvisioning, "user-2"
	Create(t, cli, other)

	// The terminal write releases the claim.
	c.State, c.EndedAt = drawbridge.StateRevoked, T0
	if err := serve.UpdateRequest(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := cli.UpdateRequest(ctx, e); err != nil {
		t.Fatalf("provisioning after the deletion was confirmed: %v", err)
	}
}

// Whatever the interleaving, a deletion claim and a provisioning of the
// same assignment, racing from two handles, never both succeed.
func testAssignmentClaimRace(t *testing.T, s Stores) {
	ctx := context.Background()
	serve, cli := drawbridge.Store(s), s.Reopen(t)
	const rounds = 30
	for round := range rounds {
		revoking := grantIn(t, serve, drawbridge.StateActive)
		approved := grantIn(t, serve, drawbridge.StateApproved)
		approved.PrincipalRef = ""
		if err := serve.UpdateRequest(ctx, approved); err != nil {
			t.Fatal(err)
		}
		revoking.State, revoking.DeletesAssignment = drawbridge.StateRevoking, true
		approved.State, approved.PrincipalRef = drawbridge.StateProvisioning, "user-1"
		var wg sync.WaitGroup
		var claimErr, provErr error
		wg.Add(2)
		go func() { defer wg.Done(); claimErr = serve.UpdateRequest(ctx, revoking) }()
		go func() { defer wg.Done(); provErr = cli.UpdateRequest(ctx, approved) }()
		wg.Wait()
		if (claimErr == nil) == (provErr == nil) {
			t.Fatalf("round %d: claim error %v, provisioning error %v; want exactly one to succeed", round, claimErr, provErr)
		}
		for _, err := range []error{claimErr, provErr} {
			if err != nil && drawbridge.AsAssignmentBusy(err) == nil {
				t.Fatalf("round %d: the loser's error is not an assignment busy error: %v", round, err)
			}
		}
		// End both, so the next round starts from a clean assignment.
		for _, r := range []*drawbridge.Request{revoking, approved} {
			fresh, err := serve.GetRequest(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			fresh.State, fresh.EndedAt, fresh.DeletesAssignment = drawbridge.StateFailed, T0, false
			if err := serve.UpdateRequest(ctx, fresh); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func testAssignmentGrants(t *testing.T, s Stores) {
	ctx := context.Background()
	a := drawbridge.Assignment{Entitlement: adminEnt, PrincipalRef: "user-1"}
	var want []string
	for _, st := range []drawbridge.State{drawbridge.StateProvisioning, drawbridge.StateActive, drawbridge.StateRevoking} {
		want = append(want, grantIn(t, s, st).ID)
	}
	endedAt := func(d time.Duration) string {
		r := grantIn(t, s, drawbridge.StateActive)
		r.State, r.EndedAt = drawbridge.StateExpired, T0.Add(d)
		if err := s.UpdateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	endedAt(-time.Hour)
	want = append(want, endedAt(0), endedAt(time.Minute))
	grantIn(t, s, drawbridge.StatePendingApproval)
	other := NewRequest("bob@example.com", adminEnt.Resource, adminEnt.Role)
	other.State, other.PrincipalRef = drawbridge.StateActive, "user-2"
	Create(t, s, other)

	got, err := s.AssignmentGrants(ctx, a, T0)
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(got); !slices.Equal(g, want) {
		t.Fatalf("AssignmentGrants = %v, want %v", g, want)
	}
}

// AssignmentGrants with since in the future returns the live grants of
// exactly one assignment, and binds every value.
func testAssignmentGrantsLiveOnly(t *testing.T, s Stores) {
	ctx := context.Background()
	ent := adminEnt
	mk := func(state drawbridge.State, e drawbridge.Entitlement, ref string) *drawbridge.Request {
		r := NewRequest("alice@example.com", e.Resource, e.Role)
		r.Entitlement, r.State, r.PrincipalRef = e, state, ref
		if state.Terminal() {
			r.EndedAt = T0
		}
		return Create(t, s, r)
	}
	var want []string
	for _, st := range []drawbridge.State{drawbridge.StateProvisioning, drawbridge.StateActive, drawbridge.StateRevoking} {
		want = append(want, mk(st, ent, "user-1").ID)
	}
	for _, st := range []drawbridge.State{drawbridge.StatePendingApproval, drawbridge.StateApproved, drawbridge.StateExpired, drawbridge.StateRevoked, drawbridge.StateFailed} {
		mk(st, ent, "user-1")
	}
	mk(drawbridge.StateActive, ent, "user-2")
	mk(drawbridge.StateActive, drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess"}, "user-1")
	mk(drawbridge.StateActive, drawbridge.Entitlement{Provider: "aws", Resource: "999999999999", Role: "AdministratorAccess"}, "user-1")
	mk(drawbridge.StateActive, drawbridge.Entitlement{Provider: "entra", Resource: "123456789012", Role: "AdministratorAccess"}, "user-1")

	future := T0.Add(time.Hour)
	got, err := s.AssignmentGrants(ctx, drawbridge.Assignment{Entitlement: ent, PrincipalRef: "user-1"}, future)
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(got); !slices.Equal(g, want) {
		t.Fatalf("AssignmentGrants = %v, want %v", g, want)
	}
	if got, _ := s.AssignmentGrants(ctx, drawbridge.Assignment{Entitlement: ent, PrincipalRef: "' OR 1=1 --"}, future); len(got) != 0 {
		t.Fatalf("AssignmentGrants for an unknown principal = %v", ids(got))
	}
}

// One live extension per grant is the store's rule too, not only the
// broker's check-then-create: two `extend` calls in two processes at the
// same instant (serve and a CLI) both pass the broker's read, and only the
// write transaction can refuse the second.
func testOneLiveExtensionPerGrantAcrossHandles(t *testing.T, s Stores) {
	ctx := context.Background()
	serve, cli := drawbridge.Store(s), s.Reopen(t)

	parent := grantIn(t, serve, drawbridge.StateActive)
	extension := func() *drawbridge.Request {
		x := NewRequest(parent.Requester, parent.Resource, parent.Role)
		x.Extends = parent.ID
		return x
	}
	first := Create(t, serve, extension())
	second := extension()
	err := cli.CreateRequest(ctx, second, drawbridge.AuditEvent{Action: "submit"})
	mustCode(t, err, drawbridge.ECONFLICT)
	if !strings.Contains(drawbridge.ErrorMessage(err), first.ID) {
		t.Fatalf("refusal %q does not name the live extension %s", drawbridge.ErrorMessage(err), first.ID)
	}
	if _, gerr := serve.GetRequest(ctx, second.ID); drawbridge.ErrorCode(gerr) != drawbridge.ENOTFOUND {
		t.Fatalf("the refused extension was written: %v", gerr)
	}

	// A recorded refusal (DENIED by policy) takes nothing away and is kept.
	denied := extension()
	denied.State = drawbridge.StateDenied
	Create(t, cli, denied)

	// Once the first has ended, the grant may be extended again.
	first.State, first.EndedAt = drawbridge.StateCancelled, T0
	if err := serve.UpdateRequest(ctx, first); err != nil {
		t.Fatal(err)
	}
	Create(t, cli, extension())
}

// Two extensions of one grant created at the same instant through two
// handles: exactly one is recorded, whatever the interleaving.
func testOneLiveExtensionRace(t *testing.T, s Stores) {
	ctx := context.Background()
	handles := []drawbridge.Store{s, s.Reopen(t)}
	const rounds = 20
	for round := range rounds {
		parent := grantIn(t, s, drawbridge.StateActive)
		errs := make([]error, len(handles))
		var wg sync.WaitGroup
		for i, h := range handles {
			x := NewRequest(parent.Requester, parent.Resource, parent.Role)
			x.Extends = parent.ID
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = h.CreateRequest(ctx, x, drawbridge.AuditEvent{Action: "submit"}) }()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: errors %v and %v; want exactly one extension recorded", round, errs[0], errs[1])
		}
		for _, err := range errs {
			if err != nil && drawbridge.ErrorCode(err) != drawbridge.ECONFLICT {
				t.Fatalf("round %d: the refused extension's error is %v, want ECONFLICT", round, err)
			}
		}
	}
}
