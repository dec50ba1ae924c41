package expiry_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/expiry"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

const (
	alice, bob      = testenv.Alice, testenv.Bob
	staging, prod   = testenv.Staging, testenv.Prod
	readOnly, power = "ReadOnlyAccess", "PowerUserAccess"
	grant72s        = 72 * time.Second // "0.02" hours on the command line
)

// runEngine runs eng until the test ends and waits for it to return.
func runEngine(t *testing.T, eng *expiry.Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("engine returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("engine did not stop within 10s of its context ending")
		}
	})
}

// waitFor polls cond every few milliseconds of real time, for at most 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after 5s waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitAsleep waits until the engine sleeps on the fake clock: n After
// calls are pending (stale ones from earlier wake-ups by Kick count too).
func waitAsleep(t *testing.T, e *testenv.Env, n int) {
	t.Helper()
	waitFor(t, "the engine to sleep on the fake clock", func() bool { return e.Clock.Waiters() >= n })
}

func waitState(t *testing.T, e *testenv.Env, id string, s drawbridge.State) *drawbridge.Request {
	t.Helper()
	var r *drawbridge.Request
	waitFor(t, id+" to become "+string(s), func() bool {
		var err error
		r, err = e.Store.GetRequest(e.Ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return r.State == s
	})
	return r
}

// The acceptance test of the expiry engine: a 72-second grant is EXPIRED,
// and its assignment gone, when the clock reaches its expiry — with
// MaxSleep at 10 minutes, so the engine must have woken at expires_at and
// not at a polling period.
func TestGrantExpiresAtExpiresAt(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	r := e.Submit(t, alice, staging, readOnly, grant72s, "")
	if r.State != drawbridge.StateActive || !e.HasAssignment(t, alice, staging, readOnly) {
		t.Fatalf("grant is %s, assignment present %v", r.State, e.HasAssignment(t, alice, staging, readOnly))
	}
	eng := expiry.New(e.Broker, 10*time.Minute, 2)
	runEngine(t, eng)
	waitAsleep(t, e, 1)

	e.Clock.Advance(grant72s - time.Second)
	time.Sleep(20 * time.Millisecond) // give a wrongly early engine the chance to act
	if got := e.Get(t, r.ID); got.State != drawbridge.StateActive {
		t.Fatalf("%s is %s one second before its expiry", r.ID, got.State)
	}
	e.Clock.Advance(time.Second) // exactly 72 s after activation
	got := waitState(t, e, r.ID, drawbridge.StateExpired)
	if e.HasAssignment(t, alice, staging, readOnly) {
		t.Error("assignment still present after EXPIRED")
	}
	if !got.EndedAt.Equal(got.ExpiresAt) || !got.ExpiresAt.Equal(testenv.Start.Add(grant72s)) {
		t.Errorf("ended %v, expires %v: want both at start + 72s", got.EndedAt, got.ExpiresAt)
	}
	if n := e.Emu.Calls(emulator.OpDeleteAccountAssignment); n != 1 {
		t.Errorf("%d deletes, want 1", n)
	}
}

// Notify wakes a sleeping engine so that it re-reads the next due time: a
// grant activated while the engine sleeps for MaxSleep (10 minutes) still
// expires on time.
func TestKickPicksUpNewGrant(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	eng := expiry.New(e.Broker, 10*time.Minute, 2)
	e.Broker.OnChange = eng.Notify
	runEngine(t, eng)
	waitAsleep(t, e, 1) // nothing due: asleep for MaxSleep

	r := e.Submit(t, alice, staging, readOnly, grant72s, "")
	if r.State != drawbridge.StateActive {
		t.Fatalf("grant is %s", r.State)
	}
	// The kicked engine goes back to sleep until the grant's expiry.
	waitAsleep(t, e, 2)
	e.Clock.Advance(grant72s)
	waitState(t, e, r.ID, drawbridge.StateExpired)
	if e.HasAssignment(t, alice, staging, readOnly) {
		t.Error("assignment still present after EXPIRED")
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	g1 := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	g2 := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	pending := e.Submit(t, alice, prod, "AdministratorAccess", time.Hour, "INC-1")
	later := e.Submit(t, bob, staging, readOnly, 8*time.Hour, "")
	for _, r := range []*drawbridge.Request{g1, g2, later} {
		if r.State != drawbridge.StateActive {
			t.Fatalf("%s is %s", r.ID, r.State)
		}
	}
	if pending.State != drawbridge.StatePendingApproval {
		t.Fatalf("pending is %s", pending.State)
	}
	e.Clock.Advance(5 * time.Hour) // past two expiries and the 4 h approval window, not the third
	eventsBefore := countEvents(t, e)
	eng := expiry.New(e.Broker, time.Minute, 2)

	steps, err := eng.RunOnce(e.Ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range steps {
		got[s.Request.ID] = s.Action
		if s.Err != nil {
			t.Errorf("dry-run step %s: %v", s.Request.ID, s.Err)
		}
	}
	want := map[string]string{g1.ID: "expire", g2.ID: "expire", pending.ID: "cancel (approval timeout)"}
	if len(got) != len(want) {
		t.Errorf("dry run reported %v, want %v", got, want)
	}
	for id, a := range want {
		if got[id] != a {
			t.Errorf("dry run for %s: %q, want %q", id, got[id], a)
		}
	}
	for _, r := range []*drawbridge.Request{g1, g2, later} {
		if s := e.Get(t, r.ID).State; s != drawbridge.StateActive {
			t.Errorf("dry run changed %s to %s", r.ID, s)
		}
	}
	if s := e.Get(t, pending.ID).State; s != drawbridge.StatePendingApproval {
		t.Errorf("dry run changed the pending request to %s", s)
	}
	if n := countEvents(t, e); n != eventsBefore {
		t.Errorf("dry run wrote %d audit events", n-eventsBefore)
	}
	if e.Emu.Calls(emulator.OpDeleteAccountAssignment) != 0 || !e.HasAssignment(t, alice, staging, readOnly) {
		t.Error("dry run touched Identity Center")
	}

	steps, err = eng.RunOnce(e.Ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 {
		t.Errorf("real run did %d steps, want 3", len(steps))
	}
	for id, s := range map[string]drawbridge.State{g1.ID: drawbridge.StateExpired, g2.ID: drawbridge.StateExpired,
		pending.ID: drawbridge.StateCancelled, later.ID: drawbridge.StateActive} {
		if got := e.Get(t, id).State; got != s {
			t.Errorf("%s is %s, want %s", id, got, s)
		}
	}
}

func countEvents(t *testing.T, e *testenv.Env) int {
	t.Helper()
	n := 0
	if err := e.Store.ScanAudit(e.Ctx, func(drawbridge.AuditEvent) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// Two engines (as two janitor processes would) on one store file: each
// due grant is revoked exactly once.
func TestTwoEnginesRevokeEachGrantOnce(t *testing.T) {
	a := testenv.New(t, testenv.Options{EmulatorDelay: 3 * time.Millisecond})
	b := testenv.New(t, testenv.Options{SameStoreAs: a, Emulator: a.Emu, Clock: a.Clock})
	var ids []string
	for _, g := range []struct{ who, account, role string }{
		{alice, staging, readOnly}, {alice, prod, readOnly}, {alice, staging, power},
		{bob, staging, readOnly}, {bob, prod, readOnly}, {bob, staging, power},
	} {
		r := a.Submit(t, g.who, g.account, g.role, time.Hour, "")
		if r.State != drawbridge.StateActive {
			t.Fatalf("%s is %s", r.ID, r.State)
		}
		ids = append(ids, r.ID)
	}
	a.Clock.Advance(time.Hour)

	engines := []*expiry.Engine{expiry.New(a.Broker, time.Minute, 3), expiry.New(b.Broker, time.Minute, 3)}
	var mu sync.Mutex
	handled := map[string]int{}
	for _, eng := range engines {
		eng.OnStep = func(s broker.Step) {
			mu.Lock()
			defer mu.Unlock()
			if s.Err == nil && s.Request.State == drawbridge.StateExpired {
				handled[s.Request.ID]++
			}
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(engines))
	for i, eng := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = eng.RunOnce(a.Ctx, false)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("engine %d: %v", i, err)
		}
	}
	for _, id := range ids {
		if s := a.Get(t, id).State; s != drawbridge.StateExpired {
			t.Errorf("%s is %s, want EXPIRED", id, s)
		}
		if handled[id] != 1 {
			t.Errorf("%s expired by %d engines, want 1", id, handled[id])
		}
	}
	if n := a.Emu.Calls(emulator.OpDeleteAccountAssignment); n != len(ids) {
		t.Errorf("%d DeleteAccountAssignment calls for %d grants", n, len(ids))
	}
	if n := len(a.Emu.Assignments()); n != 0 {
		t.Errorf("%d assignments left", n)
	}
	var expires, confirms int
	err := a.Store.ScanAudit(a.Ctx, func(ev drawbridge.AuditEvent) error {
		switch ev.Action {
		case string(drawbridge.EventExpire):
			expires++
		case string(drawbridge.EventConfirmExpired):
			confirms++
		case drawbridge.ActionRevokeAttemptFailed:
			t.Errorf("revoke attempt failed: %v", ev.Details)
		}
		if ev.Action == string(drawbridge.EventConfirmExpired) && !strings.Contains(ev.Details["provider"], "deleted") {
			t.Errorf("confirm_expired of %s: %v", ev.RequestID, ev.Details)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if expires != len(ids) || confirms != len(ids) {
		t.Errorf("audit trail has %d expire and %d confirm_expired events, want %d each", expires, confirms, len(ids))
	}
	// Nothing is left for either engine.
	for i, eng := range engines {
		steps, err := eng.RunOnce(a.Ctx, false)
		if err != nil || len(steps) != 0 {
			t.Errorf("engine %d second pass: %d steps, %v", i, len(steps), err)
		}
	}
}

// Shutting the engine down while a revocation is in flight lets that
// revocation finish and be recorded (EXPIRED), instead of leaving the
// grant REVOKING for the next start to resume after its lease.
func TestShutdownFinishesStepsInFlight(t *testing.T) {
	e := testenv.New(t, testenv.Options{EmulatorDelay: 300 * time.Millisecond})
	r := e.Submit(t, alice, staging, readOnly, grant72s, "")
	eng := expiry.New(e.Broker, 10*time.Minute, 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	waitAsleep(t, e, 1)
	e.Clock.Advance(grant72s)
	waitFor(t, "the delete to be sent", func() bool { return e.Emu.Calls(emulator.OpDeleteAccountAssignment) > 0 })
	cancel() // the deletion is IN_PROGRESS for another ~300 ms
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("engine did not stop")
	}
	got := e.Get(t, r.ID)
	if got.State != drawbridge.StateExpired || e.HasAssignment(t, alice, staging, readOnly) {
		t.Fatalf("after shutdown mid-revocation: %s (last error %q), assignment present %v; want EXPIRED and gone",
			got.State, got.LastError, e.HasAssignment(t, alice, staging, readOnly))
	}
}
