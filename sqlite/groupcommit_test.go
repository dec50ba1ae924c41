package sqlite_test

import (
	"context"
	"sync"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
)

// Concurrent writers share commits, but each stays its own transaction: a
// writer that fails (a duplicate id, a stale version) or whose caller gave
// up leaves no trace, and everyone else's writes and audit events land,
// with the chain intact.
func TestGroupCommitIsolatesWriters(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	dup := create(t, db, newRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	gone, cancel := context.WithCancel(ctx)
	cancel()

	const n = 60
	var wg sync.WaitGroup
	errs := make([]error, n)
	reqs := make([]*drawbridge.Request, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newRequest("bob@example.com", "123456789012", "ReadOnlyAccess")
			c := ctx
			switch i % 6 {
			case 1:
				r.ID = dup.ID // duplicate: ECONFLICT
			case 2:
				c = gone // the caller gave up
			}
			reqs[i] = r
			errs[i] = db.CreateRequest(c, r, drawbridge.AuditEvent{Actor: "bob@example.com", Action: "submit"})
		}()
	}
	wg.Wait()
	want := 0
	for i, err := range errs {
		switch i % 6 {
		case 1:
			if drawbridge.ErrorCode(err) != drawbridge.ECONFLICT {
				t.Errorf("duplicate %d: %v, want ECONFLICT", i, err)
			}
		case 2:
			if err == nil {
				if _, gerr := db.GetRequest(ctx, reqs[i].ID); gerr != nil {
					t.Errorf("cancelled writer %d reported success but wrote nothing", i)
				}
				want++
			}
		default:
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
				continue
			}
			want++
			if _, err := db.GetRequest(ctx, reqs[i].ID); err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}
	}
	all, err := db.ListRequests(ctx, drawbridge.RequestFilter{Requester: "bob@example.com", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != want {
		t.Errorf("%d requests stored, want %d", len(all), want)
	}
	res, err := audit.Verify(ctx, db.ScanAudit)
	if err != nil || !res.OK {
		t.Fatalf("audit chain: %+v %v", res, err)
	}
	if res.Events != int64(want+1) {
		t.Errorf("%d audit events, want %d (one per stored request)", res.Events, want+1)
	}
}

// Two updates of one request from the same version in one batch: one
// wins, the other is stale and its event is not recorded.
func TestGroupCommitStaleWithinBatch(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	r := create(t, db, newRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
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
