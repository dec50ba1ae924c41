package aws_test

import (
	"context"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/clock"
)

// ListAccountAssignments is not documented as strongly consistent: right
// after a change a listing may show the state before it. The emulator
// models that (ListLag); Revoke must not take such a listing for proof that
// access is gone when AWS itself did not say the assignment was not found.
func TestRevokeDoesNotTrustAStaleListing(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	em, p := setupWith(t, emulator.Options{ListLag: time.Minute, Now: clk.Now}, aws.Config{MaxTPS: -1})
	ctx := context.Background()
	a := assignment("ReadOnlyAccess", "fresh")
	if err := grant(ctx, p, a); err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Exists(ctx, a); err != nil || ok {
		t.Fatalf("Exists right after the grant = %v, %v; the emulator should still list the state before it", ok, err)
	}

	// The deletion fails for a reason that is not "not found"; the stale
	// listing does not show the assignment, but it is there.
	em.Fail(emulator.OpDeleteAccountAssignment, emulator.Fault{AsyncFailed: true, FailureReason: "Internal failure", Times: 1})
	if err := revoke(ctx, p, a); err == nil {
		t.Fatal("Revoke succeeded on a FAILED deletion because a stale listing did not show the assignment")
	}
	if !em.HasAssignment(account, "ReadOnlyAccess", uid("fresh")) {
		t.Fatal("the assignment is gone: the test shows nothing")
	}

	clk.Advance(time.Minute)
	if ok, err := p.Exists(ctx, a); err != nil || !ok {
		t.Fatalf("Exists once the listing caught up = %v, %v", ok, err)
	}
	if err := revoke(ctx, p, a); err != nil {
		t.Fatal(err)
	}
	if ok, _ := p.Exists(ctx, a); !ok {
		t.Fatal("a listing right after the revocation already misses the assignment; ListLag not in force")
	}
}
