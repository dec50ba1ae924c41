package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// A named lease is one holder's among every handle on the store until it
// ends: another holder is refused while it runs, the holder renews it, and
// once it ended anyone takes it.
func testLeases(t *testing.T, s Stores) {
	ctx := context.Background()
	other := s.Reopen(t)
	take := func(b drawbridge.Leaser, holder string, now time.Time, want bool) {
		t.Helper()
		got, err := b.TakeLease(ctx, "reconcile", holder, now, now.Add(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("TakeLease(reconcile, %s) at +%s = %v, want %v", holder, now.Sub(T0), got, want)
		}
	}
	take(s, "replica-a", T0, true)
	take(other, "replica-b", T0.Add(time.Minute), false)
	take(s, "replica-a", T0.Add(9*time.Minute), true) // renewed until +19m
	take(other, "replica-b", T0.Add(18*time.Minute), false)
	take(other, "replica-b", T0.Add(19*time.Minute), true) // a's lease ended
	take(s, "replica-a", T0.Add(20*time.Minute), false)
	// Names are separate leases.
	if got, err := s.TakeLease(ctx, "other-job", "replica-a", T0.Add(20*time.Minute), T0.Add(30*time.Minute)); err != nil || !got {
		t.Fatalf("a second lease name: %v, %v", got, err)
	}
	for _, bad := range [][2]string{{"", "replica-a"}, {"reconcile", ""}} {
		if _, err := s.TakeLease(ctx, bad[0], bad[1], T0, T0.Add(time.Minute)); drawbridge.ErrorCode(err) != drawbridge.EINVALID {
			t.Errorf("TakeLease(%q, %q): %v, want EINVALID", bad[0], bad[1], err)
		}
	}
}

// Of many holders asking for one free lease at once through two handles,
// exactly one gets it.
func testLeaseRace(t *testing.T, s Stores) {
	ctx := context.Background()
	handles := []drawbridge.Leaser{s, s.Reopen(t)}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := handles[i%2].TakeLease(ctx, "reconcile", string(rune('a'+i)), T0, T0.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d holders took one lease at once, want 1", n)
	}
}
