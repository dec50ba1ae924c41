package sqlite_test

import (
	"context"
	"sync"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
	"github.com/drawbridge-jit/drawbridge/internal/storetest"
)

// That concurrent writers stay isolated is the conformance suite's
// ConcurrentWritersAreIsolated; this is the case only a shared commit has.

// Two updates of one request from the same version in one batch: one
// wins, the other is stale and its event is not recorded.
func TestGroupCommitStaleWithinBatch(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	r := storetest.Create(t, db, storetest.NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	for round := range 20 {
		a, b := r.Clone(), r.Clone()
		var wg sync.WaitGroup
		var ea, eb error
		wg.Add(2)
		go func() { defer wg.Done(); ea = db.UpdateRequest(ctx, a, drawbridge.AuditEvent{Action: "a"}) }()
		go func() { defer wg.Done(); eb = db.UpdateRequest(ctx, b, drawbridge.AuditEvent{Action: "b"}) }()
		wg.Wait()
		if (ea == nil) == (eb == nil) {
			t.Fatalf("round %d: errors %v and %v: exactly one must win", round, ea, eb)
		}
		if ea == nil {
			r = a
		} else {
			r = b
		}
		if !drawbridge.IsStale(ea) && !drawbridge.IsStale(eb) {
			t.Fatalf("round %d: the loser's error is not stale: %v %v", round, ea, eb)
		}
	}
	res, err := audit.Verify(ctx, db.ScanAudit)
	if err != nil || !res.OK || res.Events != 21 {
		t.Fatalf("audit: %+v %v, want 21 events", res, err)
	}
}
