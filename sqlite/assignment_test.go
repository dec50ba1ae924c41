package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

var adminEnt = drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "AdministratorAccess"}

// grantIn returns a request of adminEnt for provider principal "user-1" in
// state s, created in db.
func grantIn(t *testing.T, db *sqlite.DB, s drawbridge.State) *drawbridge.Request {
	t.Helper()
	r := newRequest("alice@example.com", adminEnt.Resource, adminEnt.Role)
	r.State, r.ProviderRef = s, "user-1"
	return create(t, db, r)
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

// Two handles on one file stand for `serve` and a CLI `revoke`: the rule
// that an assignment is never provisioned and deleted at once holds
// across them, and a refused write writes nothing.
func TestAssignmentClaimAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	serve, cli := openTwice(t)

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
	b.State, b.EndedAt = drawbridge.StateRevoked, t0
	if err := serve.UpdateRequest(ctx, b); err != nil {
		t.Fatal(err)
	}
	c := grantIn(t, serve, drawbridge.StateActive)
	c.State, c.DeletesAssignment = drawbridge.StateRevoking, true
	if err := serve.UpdateRequest(ctx, c); err != nil {
		t.Fatalf("claim with nobody else on the assignment: %v", err)
	}
	d := newRequest("alice@example.com", adminEnt.Resource, adminEnt.Role)
	d.State, d.ProviderRef = drawbridge.StateProvisioning, "user-1"
	wantBusy(t, cli.CreateRequest(ctx, d), c.ID)
	if _, err := serve.GetRequest(ctx, d.ID); drawbridge.ErrorCode(err) != drawbridge.ENOTFOUND {
		t.Fatalf("refused create was written: %v", err)
	}
	e := grantIn(t, cli, drawbridge.StateApproved)
	e.State, e.ProviderRef = drawbridge.StateProvisioning, "user-1"
	wantBusy(t, cli.UpdateRequest(ctx, e), c.ID)
	other := newRequest("bob@example.com", adminEnt.Resource, adminEnt.Role)
	other.State, other.ProviderRef = drawbridge.StateProvisioning, "user-2"
	create(t, cli, other)

	// The terminal write releases the claim.
	c.State, c.EndedAt = drawbridge.StateRevoked, t0
	if err := serve.UpdateRequest(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := cli.UpdateRequest(ctx, e); err != nil {
		t.Fatalf("provisioning after the deletion was confirmed: %v", err)
	}
}

// Whatever the interleaving, a deletion claim and a provisioning of the
// same assignment, racing from two handles, never both succeed.
func TestAssignmentClaimRace(t *testing.T) {
	ctx := context.Background()
	serve, path := openDB(t)
	cli, err := sqlite.Open(ctx, filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	for round := 0; round < 30; round++ {
		revoking := grantIn(t, serve, drawbridge.StateActive)
		approved := grantIn(t, serve, drawbridge.StateApproved)
		approved.ProviderRef = ""
		if err := serve.UpdateRequest(ctx, approved); err != nil {
			t.Fatal(err)
		}
		revoking.State, revoking.DeletesAssignment = drawbridge.StateRevoking, true
		approved.State, approved.ProviderRef = drawbridge.StateProvisioning, "user-1"
		var wg sync.WaitGroup
		var claimErr, provErr error
		wg.Add(2)
		go func() { defer wg.Done(); claimErr = serve.UpdateRequest(ctx, revoking) }()
		go func() { defer wg.Done(); provErr = cli.UpdateRequest(ctx, approved) }()
		wg.Wait()
		if (claimErr == nil) == (provErr == nil) {
			t.Fatalf("round %d: claim error %v, provisioning error %v; want exactly one to succeed", round, claimErr, provErr)
		}
		// End both, so the next round starts from a clean assignment.
		for _, r := range []*drawbridge.Request{revoking, approved} {
			fresh, err := serve.GetRequest(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			fresh.State, fresh.EndedAt, fresh.DeletesAssignment = drawbridge.StateFailed, t0, false
			if err := serve.UpdateRequest(ctx, fresh); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestAssignmentGrants(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	a := drawbridge.Assignment{Entitlement: adminEnt, Principal: "user-1"}
	var want []string
	for _, s := range []drawbridge.State{drawbridge.StateProvisioning, drawbridge.StateActive, drawbridge.StateRevoking} {
		want = append(want, grantIn(t, db, s).ID)
	}
	endedAt := func(d time.Duration) string {
		r := grantIn(t, db, drawbridge.StateActive)
		r.State, r.EndedAt = drawbridge.StateExpired, t0.Add(d)
		if err := db.UpdateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	endedAt(-time.Hour)
	want = append(want, endedAt(0), endedAt(time.Minute))
	grantIn(t, db, drawbridge.StatePendingApproval)
	other := newRequest("bob@example.com", adminEnt.Resource, adminEnt.Role)
	other.State, other.ProviderRef = drawbridge.StateActive, "user-2"
	create(t, db, other)

	got, err := db.AssignmentGrants(ctx, a, t0)
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(got); !slices.Equal(g, want) {
		t.Fatalf("AssignmentGrants = %v, want %v", g, want)
	}
}
