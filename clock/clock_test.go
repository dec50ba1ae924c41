package clock_test

import (
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/clock"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func fired(ch <-chan time.Time) (time.Time, bool) {
	select {
	case t := <-ch:
		return t, true
	default:
		return time.Time{}, false
	}
}

func TestFakeAdvanceWakesDueWaitersOnly(t *testing.T) {
	f := clock.NewFake(t0)
	a := f.After(72 * time.Second)
	b := f.After(10 * time.Minute)
	if f.Waiters() != 2 {
		t.Fatalf("Waiters = %d, want 2", f.Waiters())
	}
	f.Advance(71 * time.Second)
	if _, ok := fired(a); ok {
		t.Fatal("fired one second early")
	}
	f.Advance(time.Second)
	if at, ok := fired(a); !ok || !at.Equal(t0.Add(72*time.Second)) {
		t.Fatalf("72s waiter: fired %v at %v", ok, at)
	}
	if _, ok := fired(b); ok || f.Waiters() != 1 {
		t.Fatalf("10m waiter fired early (waiters %d)", f.Waiters())
	}
	if !f.Now().Equal(t0.Add(72 * time.Second)) {
		t.Errorf("Now = %v", f.Now())
	}
	f.Advance(time.Hour)
	if _, ok := fired(b); !ok || f.Waiters() != 0 {
		t.Fatal("10m waiter did not fire")
	}
}

func TestFakeAfterNonPositiveFiresAtOnce(t *testing.T) {
	f := clock.NewFake(t0)
	for _, d := range []time.Duration{0, -time.Second} {
		if at, ok := fired(f.After(d)); !ok || !at.Equal(t0) {
			t.Errorf("After(%v): fired %v at %v", d, ok, at)
		}
	}
	if f.Waiters() != 0 {
		t.Errorf("Waiters = %d", f.Waiters())
	}
}

func TestRealClock(t *testing.T) {
	var c clock.Clock = clock.Real{}
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Errorf("Real.Now off by %v", d)
	}
	select {
	case <-c.After(time.Millisecond):
	case <-time.After(10 * time.Second):
		t.Fatal("Real.After(1ms) did not fire within 10s")
	}
}
