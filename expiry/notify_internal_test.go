package expiry

import (
	"testing"
	"time"
)

// Notify wakes the engine only for something due before its planned wake,
// so a stream of activations that expire later costs no extra queries.
func TestNotifyOnlyWakesForEarlierDue(t *testing.T) {
	e := &Engine{}
	e.init()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	e.wakeAt.Store(now.Add(2 * time.Second).UnixNano())

	e.Notify(now.Add(time.Hour))
	if len(e.kick) != 0 {
		t.Fatal("a grant due in an hour woke an engine planning to wake in 2 s")
	}
	e.Notify(now.Add(time.Second))
	if len(e.kick) != 1 {
		t.Fatal("a grant due before the planned wake did not wake the engine")
	}
	<-e.kick
	e.wakeAt.Store(0) // a pass is running: its next-due read may miss the change
	e.Notify(now.Add(time.Hour))
	if len(e.kick) != 1 {
		t.Fatal("a change during a pass did not make the engine look again")
	}
}
