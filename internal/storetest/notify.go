package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// An ACTIVE grant with a pending notice is due at the notice, and once the
// notice is cleared at its expiry: the store keeps due times by DueAt.
func testNoticeIsDueBeforeExpiry(t *testing.T, s Stores) {
	ctx := context.Background()
	r := NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	r.State, r.ApprovalDeadline = drawbridge.StateActive, time.Time{}
	r.ExpiresAt, r.NoticeAt = T0.Add(time.Hour), T0.Add(50*time.Minute)
	Create(t, s, r)
	if next, ok, err := s.NextDue(ctx); err != nil || !ok || !next.Equal(r.NoticeAt) {
		t.Fatalf("NextDue = %v, %v, %v; want the notice at %v", next, ok, err, r.NoticeAt)
	}
	if due, err := s.DueRequests(ctx, T0.Add(50*time.Minute), 10); err != nil || len(due) != 1 || !due[0].NoticeAt.Equal(r.NoticeAt) {
		t.Fatalf("DueRequests at the notice = %v, %v", ids(due), err)
	}
	r.NoticeAt = time.Time{}
	if err := s.UpdateRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	if next, _, _ := s.NextDue(ctx); !next.Equal(r.ExpiresAt) {
		t.Fatalf("after the notice NextDue = %v, want the expiry %v", next, r.ExpiresAt)
	}
}

// AuditAfter pages through the chain by sequence.
func testAuditAfter(t *testing.T, s Stores) {
	ctx := context.Background()
	for range 5 {
		if err := s.AppendAudit(ctx, drawbridge.AuditEvent{Actor: "t", Action: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AuditAfter(ctx, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Seq != 2 || got[2].Seq != 4 {
		t.Fatalf("AuditAfter(1, 3) = %d events from %v", len(got), got)
	}
	if got, err := s.AuditAfter(ctx, 5, 10); err != nil || len(got) != 0 {
		t.Fatalf("AuditAfter(5) = %v, %v; want nothing", got, err)
	}
}

// The notifier cursor: created at the end of the chain, leased by one
// holder at a time across handles (processes), taken over once the lease
// ended, advanced only by its holder and never backwards.
func testNotifyCursorLease(t *testing.T, s Stores) {
	ctx := context.Background()
	for range 3 {
		if err := s.AppendAudit(ctx, drawbridge.AuditEvent{Actor: "t", Action: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	other := s.Reopen(t)
	now := T0
	c, err := s.LeaseNotifyCursor(ctx, "hooks", "a", now, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if c.Seq != 3 || c.Holder != "a" || !c.LeaseUntil.Equal(now.Add(time.Minute)) {
		t.Fatalf("new cursor %+v: want seq 3 (the end of the chain), held by a for a minute", c)
	}
	if _, err := other.LeaseNotifyCursor(ctx, "hooks", "b", now.Add(59*time.Second), now.Add(2*time.Minute)); !drawbridge.IsStale(err) {
		t.Fatalf("b leased a cursor a holds: %v", err)
	}
	if err := other.AdvanceNotifyCursor(ctx, "hooks", "b", 3); !drawbridge.IsStale(err) {
		t.Fatalf("b advanced a's cursor: %v", err)
	}
	// Another notifier's cursor is its own.
	if c, err := other.LeaseNotifyCursor(ctx, "log", "b", now, now.Add(time.Minute)); err != nil || c.Seq != 3 {
		t.Fatalf("second notifier: %+v, %v", c, err)
	}
	if err := s.AdvanceNotifyCursor(ctx, "hooks", "a", 2); err != nil {
		t.Fatal(err)
	}
	if c, err := s.LeaseNotifyCursor(ctx, "hooks", "a", now, now.Add(time.Minute)); err != nil || c.Seq != 3 {
		t.Fatalf("advancing backwards moved the cursor: %+v, %v", c, err)
	}
	if err := s.AppendAudit(ctx, drawbridge.AuditEvent{Actor: "t", Action: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AdvanceNotifyCursor(ctx, "hooks", "a", 4); err != nil {
		t.Fatal(err)
	}
	// a's lease ends: b takes over where a left off, and a can no longer
	// advance it.
	c, err = other.LeaseNotifyCursor(ctx, "hooks", "b", now.Add(time.Minute), now.Add(2*time.Minute))
	if err != nil || c.Seq != 4 || c.Holder != "b" {
		t.Fatalf("take-over after the lease: %+v, %v", c, err)
	}
	if err := s.AdvanceNotifyCursor(ctx, "hooks", "a", 5); !drawbridge.IsStale(err) {
		t.Fatalf("a advanced after losing the lease: %v", err)
	}
	if err := other.AdvanceNotifyCursor(ctx, "nobody", "b", 1); drawbridge.ErrorCode(err) != drawbridge.ENOTFOUND {
		t.Fatalf("advancing a cursor never leased: %v", err)
	}
}

// Workers in two processes asking for one cursor at the same instant, for
// a new notifier and for one whose lease just ended: exactly one gets the
// lease, the others are told it is held (stale), whatever the
// interleaving.
func testNotifyCursorLeaseRace(t *testing.T, s Stores) {
	ctx := context.Background()
	handles := []drawbridge.Store{s, s.Reopen(t)}
	const rounds, perHandle = 15, 8
	for round := range rounds {
		name := fmt.Sprintf("hooks-%d", round)
		now := T0
		for _, phase := range []string{"new cursor", "lease ended"} {
			if phase == "lease ended" {
				now = T0.Add(time.Minute) // every lease of the first phase ends here
			}
			var wg sync.WaitGroup
			start := make(chan struct{}) // released at once, so the asks pile up
			holders := make(chan string, len(handles)*perHandle)
			errs := make(chan error, len(handles)*perHandle)
			for i, h := range handles {
				for j := range perHandle {
					holder := fmt.Sprintf("worker-%d-%d", i, j)
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						c, err := h.LeaseNotifyCursor(ctx, name, holder, now, now.Add(time.Minute))
						switch {
						case err == nil && c.Holder == holder:
							holders <- holder
						case err == nil:
							errs <- fmt.Errorf("%s got a cursor held by %s", holder, c.Holder)
						case !drawbridge.IsStale(err):
							errs <- fmt.Errorf("%s: %w", holder, err)
						}
					}()
				}
			}
			close(start)
			wg.Wait()
			close(holders)
			close(errs)
			for err := range errs {
				t.Fatalf("round %d, %s: %v", round, phase, err)
			}
			var won []string
			for h := range holders {
				won = append(won, h)
			}
			if len(won) != 1 {
				t.Fatalf("round %d, %s: %d workers hold the lease (%v), want exactly one", round, phase, len(won), won)
			}
		}
	}
}
