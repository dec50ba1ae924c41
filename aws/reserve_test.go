package aws_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/clock"
)

// waitFor polls cond every few milliseconds for at most limit (bounded:
// a failure costs limit, a pass returns as soon as cond holds).
func waitFor(limit time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// Issue 7 item 9: a flood of grants (inbound HTTP submits) must never
// starve revocations of in-flight slots. Creations here never finish (the
// emulator's clock stands still), so every slot a grant takes stays taken;
// a revocation must still reach AWS through the slot kept for removals.
func TestRevocationsKeepAnInFlightSlot(t *testing.T) {
	frozen := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	em, p := setupWith(t, emulator.Options{MaxInFlight: 100, Delay: time.Second, Now: frozen.Now},
		aws.Config{MaxInFlight: 5, MaxTPS: -1})
	victim := assignment("ReadOnlyAccess", "leaver")
	if err := em.AddAssignment(victim.Resource, victim.Role, victim.PrincipalRef); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 11)
	defer func() {
		cancel()
		for range 11 {
			<-done
		}
	}()
	for i := range 10 {
		go func() { done <- grant(ctx, p, assignment("ReadOnlyAccess", fmt.Sprintf("user-%02d", i))) }()
	}
	// Grants take every slot they may (4 of 5) and wait for the rest.
	if !waitFor(20*time.Second, func() bool { return em.Calls(emulator.OpCreateAccountAssignment) >= 4 }) {
		t.Fatalf("%d creations reached the emulator, want 4", em.Calls(emulator.OpCreateAccountAssignment))
	}
	go func() { done <- revoke(ctx, p, victim) }()
	if !waitFor(20*time.Second, func() bool { return em.Calls(emulator.OpDeleteAccountAssignment) == 1 }) {
		t.Fatalf("the revocation never reached AWS: %d creations hold every in-flight slot", em.Calls(emulator.OpCreateAccountAssignment))
	}
	if n := em.Calls(emulator.OpCreateAccountAssignment); n != 4 {
		t.Errorf("%d creations in flight, want 4: one slot of 5 is kept for removals", n)
	}
}
