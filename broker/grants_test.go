package broker_test

// Tests of how grants share one provider assignment: standing access is
// decided from what the provider said at each grant's own provisioning
// (never inherited), and the decision to delete an assignment is safe
// against a concurrent grant of the same assignment.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// useProvider replaces the env's AWS provider with p.
func useProvider(e *testenv.Env, p drawbridge.Provider) {
	e.Broker.Providers = map[string]drawbridge.Provider{"aws": p}
}

// expireAll advances the clock past every grant in the test and runs the
// due steps until nothing is due (bounded).
func expireAll(t *testing.T, e *testenv.Env) {
	t.Helper()
	e.Clock.Advance(9 * time.Hour)
	for i := 0; i < 5; i++ {
		e.HandleDue(t)
		e.Clock.Advance(10 * time.Second)
	}
}

func provisionEvent(t *testing.T, e *testenv.Env, id string) map[string]string {
	t.Helper()
	evs, err := e.Store.RequestEvents(e.Ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Action == string(drawbridge.EventProvision) {
			return ev.Details
		}
	}
	t.Fatalf("%s has no provision event", id)
	return nil
}

// Item 1 of issue 7, as reported: bob has standing ReadOnly on prod; his
// JIT grant A records it; an admin then removes the standing assignment
// (the usual migration to JIT); bob asks again (B). B's own create makes
// the assignment, so B is not standing, and once A and B have ended the
// assignment is gone — whichever ends first.
func TestStandingAccessIsNotInherited(t *testing.T) {
	for _, order := range []string{"A ends first", "B ends first"} {
		t.Run(order, func(t *testing.T) {
			e := testenv.New(t, testenv.Options{})
			bobID := e.AWSUserID(t, bob)
			if err := e.Emu.AddAssignment(prod, readOnly, bobID); err != nil {
				t.Fatal(err)
			}
			a := e.Submit(t, bob, prod, readOnly, time.Hour, "")
			wantState(t, a, drawbridge.StateActive)
			if !a.PreexistingAccess || !a.AssignmentFound {
				t.Fatalf("A: preexisting %v found %v, want both (standing access)", a.PreexistingAccess, a.AssignmentFound)
			}
			e.Emu.RemoveAssignment(prod, readOnly, bobID)
			e.Clock.Advance(time.Minute)

			b := e.Submit(t, bob, prod, readOnly, 2*time.Hour, "")
			wantState(t, b, drawbridge.StateActive)
			if b.PreexistingAccess || b.AssignmentFound {
				t.Errorf("B inherited standing access: preexisting %v found %v; its own create made the assignment", b.PreexistingAccess, b.AssignmentFound)
			}
			if d := provisionEvent(t, e, b.ID); d["assignment_found"] != "false" || d["preexisting_access"] != "false" {
				t.Errorf("B's provision event does not record what the provider said: %v", d)
			}
			if !e.Emu.HasAssignment(prod, readOnly, bobID) {
				t.Fatal("B is ACTIVE without the assignment")
			}

			first, second := a, b
			if order == "B ends first" {
				first, second = b, a
			}
			if _, err := e.Broker.Revoke(e.Ctx, first.ID, "done", op); err != nil {
				t.Fatal(err)
			}
			if !e.Emu.HasAssignment(prod, readOnly, bobID) {
				t.Fatalf("assignment removed while %s still needs it", second.ID)
			}
			if _, err := e.Broker.Revoke(e.Ctx, second.ID, "done", op); err != nil {
				t.Fatal(err)
			}
			for _, r := range []*drawbridge.Request{a, b} {
				wantState(t, e.Get(t, r.ID), drawbridge.StateRevoked)
			}
			if e.Emu.HasAssignment(prod, readOnly, bobID) {
				t.Error("the assignment Drawbridge re-created lives on after every grant ended")
			}
		})
	}
}

// Extending a grant that recorded standing access, after the standing
// assignment was removed, is the same scenario through Extend.
func TestExtensionOfStandingGrantDoesNotInherit(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	bobID := e.AWSUserID(t, bob)
	if err := e.Emu.AddAssignment(prod, readOnly, bobID); err != nil {
		t.Fatal(err)
	}
	a := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	e.Emu.RemoveAssignment(prod, readOnly, bobID)
	ext, err := e.Broker.Extend(e.Ctx, a.ID, time.Hour, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, ext, drawbridge.StateActive)
	if ext.PreexistingAccess {
		t.Fatal("the extension inherited standing access from the grant it extends")
	}
	expireAll(t, e)
	if e.Emu.HasAssignment(prod, readOnly, bobID) {
		t.Error("assignment left in place after the grant and its extension expired")
	}
}

// staleLister answers Exists from a stale listing: it keeps reporting an
// assignment present for as long as stale is set, whatever the provider
// holds (ListAccountAssignments is not documented as strongly consistent).
type staleLister struct {
	*aws.Provider
	stale bool
}

func (p *staleLister) Exists(ctx context.Context, a drawbridge.Assignment) (bool, error) {
	if p.stale {
		return true, nil
	}
	return p.Provider.Exists(ctx, a)
}

// Item 18: a listing taken right after Drawbridge deleted an assignment
// may still show it. Concluding "standing" from it would keep the next
// grant's assignment forever.
func TestStaleListingAfterDeletionIsNotStanding(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	p := &staleLister{Provider: e.Provider}
	useProvider(e, p)
	bobID := e.AWSUserID(t, bob)
	a := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	if _, err := e.Broker.Revoke(e.Ctx, a.ID, "done", op); err != nil {
		t.Fatal(err)
	}
	if e.Emu.HasAssignment(prod, readOnly, bobID) {
		t.Fatal("A's assignment not deleted")
	}
	p.stale = true // the listing still shows A's assignment
	e.Clock.Advance(30 * time.Second)
	b := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	wantState(t, b, drawbridge.StateActive)
	if b.PreexistingAccess {
		t.Errorf("B concluded standing access from a listing taken %s after Drawbridge deleted the assignment", 30*time.Second)
	}
	if d := provisionEvent(t, e, b.ID); d["assignment_found"] != "true" || !strings.Contains(d["standing"], a.ID) {
		t.Errorf("B's provision event should record that the provider said present and why that is not standing: %v", d)
	}
	p.stale = false
	if _, err := e.Broker.Revoke(e.Ctx, b.ID, "done", op); err != nil {
		t.Fatal(err)
	}
	if e.Emu.HasAssignment(prod, readOnly, bobID) {
		t.Error("B's assignment kept as if it were standing access")
	}
}

// While one Drawbridge grant holds the assignment, a second grant that
// finds it present is not standing access: Drawbridge made it.
func TestPresentBecauseOfALiveGrantIsNotStanding(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	a := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	b := e.Submit(t, bob, prod, readOnly, 2*time.Hour, "")
	if a.PreexistingAccess || b.PreexistingAccess {
		t.Fatalf("preexisting A %v B %v", a.PreexistingAccess, b.PreexistingAccess)
	}
	if !b.AssignmentFound {
		t.Error("B should record that the provider reported the assignment present")
	}
	if d := provisionEvent(t, e, b.ID); !strings.Contains(d["standing"], a.ID) {
		t.Errorf("provision event should name the live grant that explains the assignment: %v", d)
	}
}

// gatedRevoke pauses inside Revoke, after Drawbridge decided to delete the
// assignment and before the provider is asked, until released.
type gatedRevoke struct {
	*aws.Provider
	entered chan struct{}
	release chan struct{}
}

func (p *gatedRevoke) Revoke(ctx context.Context, spec drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	p.entered <- struct{}{}
	select {
	case <-p.release:
	case <-ctx.Done():
		return drawbridge.RevokeResult{}, ctx.Err()
	}
	return p.Provider.Revoke(ctx, spec)
}

// Item 3: A's revocation decides "nobody else needs it" and is about to
// delete; B is then granted onto the existing assignment. B must not end
// ACTIVE without access: it waits until A's deletion is confirmed and then
// creates the assignment afresh.
func TestGrantDuringDeletionWaitsForIt(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	p := &gatedRevoke{Provider: e.Provider, entered: make(chan struct{}), release: make(chan struct{})}
	useProvider(e, p)
	bobID := e.AWSUserID(t, bob)
	a := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	wantState(t, a, drawbridge.StateActive)

	revoked := make(chan error, 1)
	go func() {
		_, err := e.Broker.Revoke(e.Ctx, a.ID, "done", op)
		revoked <- err
	}()
	<-p.entered // A decided to delete and is inside the provider call

	b := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	if b.State == drawbridge.StateActive {
		t.Errorf("B became ACTIVE on an assignment whose deletion is under way")
	}
	close(p.release)
	if err := <-revoked; err != nil {
		t.Fatal(err)
	}
	wantState(t, e.Get(t, a.ID), drawbridge.StateRevoked)

	// B is provisioned once A's deletion is confirmed.
	for i := 0; i < 5 && e.Get(t, b.ID).State != drawbridge.StateActive; i++ {
		e.Clock.Advance(5 * time.Second)
		e.HandleDue(t)
	}
	got := e.Get(t, b.ID)
	wantState(t, got, drawbridge.StateActive)
	if !e.Emu.HasAssignment(prod, readOnly, bobID) {
		t.Fatal("B is ACTIVE but its assignment was deleted by A's revocation")
	}
	if got.PreexistingAccess {
		t.Error("B took the assignment A was deleting for standing access")
	}
	if !got.ExpiresAt.Equal(got.ProvisionStartedAt.Add(time.Hour)) {
		t.Errorf("B expires %v, want an hour after its provisioning began (%v)", got.ExpiresAt, got.ProvisionStartedAt)
	}
	if got.ProvisionAttempts > 1 {
		t.Errorf("B needed %d attempts", got.ProvisionAttempts)
	}
}

// The other interleaving: B is provisioned first, then A's revocation must
// see B and keep the assignment.
func TestRevocationKeepsAssignmentOfGrantBeingProvisioned(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	bobID := e.AWSUserID(t, bob)
	a := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	b := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	r, err := e.Broker.Revoke(e.Ctx, a.ID, "done", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, drawbridge.StateRevoked)
	if !e.Emu.HasAssignment(prod, readOnly, bobID) {
		t.Fatal("A deleted the assignment B needs")
	}
	if n := e.Emu.Calls(emulator.OpDeleteAccountAssignment); n != 0 {
		t.Errorf("%d deletes", n)
	}
	evs, _ := e.Store.RequestEvents(e.Ctx, a.ID)
	if last := evs[len(evs)-1]; !strings.Contains(last.Details["provider"], b.ID) {
		t.Errorf("confirm event should name the grant that still needs the assignment: %v", last.Details)
	}
}

// crashStore loses the first ACTIVE write, as a process killed between the
// provider's answer and that write would: the request stays PROVISIONING
// with its lease, and the assignment exists.
type crashStore struct {
	drawbridge.Store
	crashed bool
}

func (s *crashStore) UpdateRequest(ctx context.Context, r *drawbridge.Request, events ...drawbridge.AuditEvent) error {
	if r.State == drawbridge.StateActive && !s.crashed {
		s.crashed = true
		return errors.New("process killed before the ACTIVE write")
	}
	return s.Store.UpdateRequest(ctx, r, events...)
}

// Item 8: access began when the provider created the assignment, not when
// a resumed provisioning finally wrote ACTIVE a lease later; expiry counts
// from the former.
func TestCrashBeforeActiveWriteDoesNotStretchAccess(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Broker.Store = &crashStore{Store: e.Store}
	began := e.Clock.Now()
	if _, err := e.Broker.Submit(e.Ctx, broker.SubmitInput{Requester: bob, Duration: time.Hour, Reason: "test",
		Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: prod, Role: readOnly}}, op); err == nil {
		t.Fatal("submit succeeded although the ACTIVE write was lost")
	}
	rs, err := e.Store.ListRequests(e.Ctx, drawbridge.RequestFilter{Limit: 1})
	if err != nil || len(rs) != 1 {
		t.Fatalf("%d requests, %v", len(rs), err)
	}
	r := rs[0]
	wantState(t, r, drawbridge.StateProvisioning)
	if !e.HasAssignment(t, bob, prod, readOnly) {
		t.Fatal("the provider's create did not happen")
	}
	e.Clock.Advance(e.Broker.ProvisionLease + time.Second)
	e.HandleDue(t)
	got := e.Get(t, r.ID)
	wantState(t, got, drawbridge.StateActive)
	if want := began.Add(time.Hour); !got.ExpiresAt.Equal(want) {
		t.Errorf("expires at %v, want %v: access began when the provider was asked, %s before the resumed activation",
			got.ExpiresAt, want, got.ActivatedAt.Sub(began))
	}
}

// Across retries, an attempt the provider definitely rejected did not
// start access; one whose outcome is unknown may have.
func TestExpiryCountsFromFirstAttemptThatMayHaveGivenAccess(t *testing.T) {
	throttled := emulator.Fault{Code: "ThrottlingException", Message: "Rate exceeded"} // 400: refused
	failed := emulator.Fault{Code: "InternalServerException", Message: "oops"}         // 500: may have happened
	for _, tc := range []struct {
		name   string
		script []emulator.Fault
		from   int // the attempt expiry counts from (0 = first)
	}{
		{"rejected, then granted", []emulator.Fault{throttled}, 1},
		{"unknown, then granted", []emulator.Fault{failed}, 0},
		{"unknown, rejected, then granted", []emulator.Fault{failed, throttled}, 0},
		{"rejected, unknown, then granted", []emulator.Fault{throttled, failed}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := testenv.New(t, testenv.Options{})
			e.Emu.Script(emulator.OpCreateAccountAssignment, tc.script...)
			var starts []time.Time
			starts = append(starts, e.Clock.Now())
			r := e.Submit(t, bob, prod, readOnly, time.Hour, "")
			for i := 0; i < len(tc.script); i++ {
				wantState(t, e.Get(t, r.ID), drawbridge.StateProvisioning)
				e.Clock.Advance(5 * time.Second)
				starts = append(starts, e.Clock.Now())
				e.HandleDue(t)
			}
			got := e.Get(t, r.ID)
			wantState(t, got, drawbridge.StateActive)
			if want := starts[tc.from].Add(time.Hour); !got.ExpiresAt.Equal(want) {
				t.Errorf("expires at %v, want %v (an hour after attempt %d began)", got.ExpiresAt, want, tc.from+1)
			}
		})
	}
}

// pauseKeep holds the write that records request id keeping the
// assignment (REVOKING without the deletion claim) until released.
type pauseKeep struct {
	drawbridge.Store
	id      string
	paused  chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *pauseKeep) UpdateRequest(ctx context.Context, r *drawbridge.Request, events ...drawbridge.AuditEvent) error {
	if r.ID == s.id && r.State == drawbridge.StateRevoking && !r.DeletesAssignment {
		s.once.Do(func() {
			s.paused <- struct{}{}
			<-s.release
		})
	}
	return s.Store.UpdateRequest(ctx, r, events...)
}

// Two grants of one assignment revoked at once (revoke --all, two expiries
// in the same second): each may try its claim while the other is still
// ACTIVE, and both keep the assignment — unless the one that keeps it asks
// again once it is REVOKING itself. The last grant to end deletes it.
func TestConcurrentRevocationsOfOneAssignmentDelete(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	bobID := e.AWSUserID(t, bob)
	a := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	b := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	st := &pauseKeep{Store: e.Store, id: a.ID, paused: make(chan struct{}), release: make(chan struct{})}
	e.Broker.Store = st

	done := make(chan error, 1)
	go func() {
		_, err := e.Broker.Revoke(e.Ctx, a.ID, "done", op)
		done <- err
	}()
	<-st.paused // A's claim was refused (B is ACTIVE); its "keep" is not written yet
	if _, err := e.Broker.Revoke(e.Ctx, b.ID, "done", op); err != nil {
		t.Fatal(err)
	}
	close(st.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, r := range []*drawbridge.Request{a, b} {
		wantState(t, e.Get(t, r.ID), drawbridge.StateRevoked)
	}
	if e.Emu.HasAssignment(prod, readOnly, bobID) {
		t.Error("both grants ended keeping the assignment for the other: it lives on with no grant")
	}
}
