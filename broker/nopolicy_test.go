package broker_test

import (
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// A broker wired without a policy (janitor, revoke, status) still revokes
// and expires, and refuses to decide rather than deciding on nothing.
func TestBrokerWithoutPolicyRevokesButDoesNotDecide(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	active := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	due := e.Submit(t, bob, staging, readOnly, time.Minute, "")
	pending := pendingAdmin(t, e, alice)
	e.Broker.SetPolicy(nil)

	_, err := e.Broker.Submit(e.Ctx, broker.SubmitInput{Requester: alice,
		Entitlement: drawbridge.Entitlement{Resource: staging, Role: readOnly}, Duration: time.Hour}, op)
	wantCode(t, err, drawbridge.EINTERNAL, "no policy loaded")
	_, err = e.Broker.Approve(e.Ctx, pending.ID, carol, "", op)
	wantCode(t, err, drawbridge.EINTERNAL, "no policy loaded")
	wantState(t, e.Get(t, pending.ID), drawbridge.StatePendingApproval)

	r, err := e.Broker.Revoke(e.Ctx, active.ID, "done", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, drawbridge.StateRevoked)
	e.Clock.Advance(2 * time.Minute)
	e.HandleDue(t)
	wantState(t, e.Get(t, due.ID), drawbridge.StateExpired)
}
