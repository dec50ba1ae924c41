package expiry_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/expiry"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// heldSteps is a store that, before every read of due requests, counts how
// many of the requests the engine's finished steps carried are still
// reachable (weak pointers, after a full collection).
type heldSteps struct {
	drawbridge.Store
	mu   sync.Mutex
	held []weak.Pointer[drawbridge.Request]
	peak int
}

func (s *heldSteps) DueRequests(ctx context.Context, now time.Time, limit int) ([]*drawbridge.Request, error) {
	runtime.GC()
	s.mu.Lock()
	n := 0
	for _, w := range s.held {
		if w.Value() != nil {
			n++
		}
	}
	s.peak = max(s.peak, n)
	s.mu.Unlock()
	return s.Store.DueRequests(ctx, now, limit)
}

func (s *heldSteps) step(st broker.Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = append(s.held, weak.Make(st.Request))
}

// The running engine holds one batch of due grants at a time, however many
// fall due together: it used to keep every step of a wake-up (up to 100
// batches) until the wake-up ended. 40 grants expire at once with a batch
// of 5; before each read of the next batch, at most two batches' requests
// are still reachable.
func TestEngineHoldsOneBatchAtATime(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	const n, batch = 40, 5
	for i := range n {
		principal := fmt.Sprintf("9067e8a1b2-a1b2c3d4-0000-4000-8000-%012d", i)
		if err := e.Emu.AddAssignment(staging, readOnly, principal); err != nil {
			t.Fatal(err)
		}
		now := e.Clock.Now()
		r := &drawbridge.Request{ID: drawbridge.NewRequestID(), Requester: fmt.Sprintf("user%d@example.com", i),
			Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: staging, Role: readOnly},
			Duration:    time.Minute, Reason: "load", Channel: drawbridge.ChannelCLI, State: drawbridge.StateActive,
			CreatedAt: now, ProvisionStartedAt: now, ActivatedAt: now, ExpiresAt: now.Add(time.Minute), PrincipalRef: principal}
		if err := e.Store.CreateRequest(e.Ctx, r, drawbridge.AuditEvent{Actor: r.Requester, Action: "submit"}); err != nil {
			t.Fatal(err)
		}
	}
	e.Clock.Advance(2 * time.Minute)

	store := &heldSteps{Store: e.Store}
	eng := expiry.New(e.Broker, 10*time.Minute, 4)
	eng.Store, eng.Batch = store, batch
	var expired atomic.Int64
	eng.OnStep = func(s broker.Step) {
		store.step(s)
		if s.Request.State == drawbridge.StateExpired {
			expired.Add(1)
		}
	}
	runEngine(t, eng)
	// Each step is a revocation through the emulator: on a loaded machine
	// 40 of them can take longer than waitFor's 5 s.
	for deadline := time.Now().Add(time.Minute); expired.Load() < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d grants expired within a minute", expired.Load(), n)
		}
	}
	waitAsleep(t, e, 1)
	if store.peak > 2*batch {
		t.Fatalf("the engine held %d finished steps' requests at once; want at most %d (two batches of %d)", store.peak, 2*batch, batch)
	}
	t.Logf("peak %d requests held", store.peak)
}
