package expiry_test

import (
	"context"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/expiry"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// With several replicas on one store, each interval's reconciliation pass
// runs on one of them (the holder of the reconcile lease), not on all; when
// the holder stops, another takes the pass over once the lease ended.
func TestReconcileRunsOnOneReplica(t *testing.T) {
	e := testenv.New(t, testenv.Options{SkipAuditCheck: true}) // nothing is written to the chain
	const every = 10 * time.Minute
	runs := map[string]int{}
	engine := func(holder string) *expiry.Engine {
		eng := expiry.New(e.Broker, time.Minute, 2)
		eng.ReconcileEvery = every
		eng.Reconcile = func(context.Context) { runs[holder]++ }
		eng.Leases, eng.Holder = e.Store, holder
		return eng
	}
	a, b := engine("replica-a"), engine("replica-b")
	for range 3 { // three intervals, both engines' passes each time
		a.TryReconcile(e.Ctx)
		e.Clock.Advance(time.Minute)
		b.TryReconcile(e.Ctx)
		e.Clock.Advance(every - time.Minute)
	}
	if runs["replica-a"] != 3 || runs["replica-b"] != 0 {
		t.Fatalf("passes run: %v, want replica-a 3 (one per interval) and replica-b 0", runs)
	}
	// replica-a stops; replica-b's next pass after the lease ended runs.
	e.Clock.Advance(time.Minute)
	if !b.TryReconcile(e.Ctx) || runs["replica-b"] != 1 {
		t.Fatalf("after the holder stopped: %v, want replica-b to run the pass", runs)
	}
}
