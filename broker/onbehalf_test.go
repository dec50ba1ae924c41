package broker_test

import (
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// TestActingForSomeoneElseNeedsAdmin: a caller with no principal of its
// own (a channel that failed to say who is acting) is not operator mode
// unless it holds the admin role: it must not become whoever it names.
func TestActingForSomeoneElseNeedsAdmin(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	anonymous := drawbridge.Caller{Channel: drawbridge.ChannelAPI}
	_, err := e.Broker.Submit(e.Ctx, broker.SubmitInput{Requester: alice,
		Entitlement: drawbridge.Entitlement{Resource: staging, Role: readOnly}, Duration: time.Hour}, anonymous)
	wantCode(t, err, drawbridge.EFORBIDDEN, "on behalf of")
	r := pendingAdmin(t, e, alice)
	_, err = e.Broker.Approve(e.Ctx, r.ID, carol, "", anonymous)
	wantCode(t, err, drawbridge.EFORBIDDEN, "on behalf of")
	_, err = e.Broker.Deny(e.Ctx, r.ID, carol, "", anonymous)
	wantCode(t, err, drawbridge.EFORBIDDEN, "on behalf of")
	wantState(t, e.Get(t, r.ID), drawbridge.StatePendingApproval)
}

// TestOnBehalfIsRecorded: an admin acting for someone else stays the
// recorded actor, the event says for whom and how the admin was
// authenticated; a scoped caller cannot submit outside its scope, whatever
// the channel.
func TestOnBehalfIsRecorded(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	adm := drawbridge.Caller{Principal: "admin@example.com", Roles: []drawbridge.Role{drawbridge.RoleAdmin},
		Channel: drawbridge.ChannelSlack, Auth: "slack:U99999999"}
	r, err := e.Broker.Submit(e.Ctx, broker.SubmitInput{Requester: alice,
		Entitlement: drawbridge.Entitlement{Resource: staging, Role: readOnly}, Duration: time.Hour}, adm)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := e.Store.RequestEvents(e.Ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ev := evs[0]; ev.Actor != adm.Principal || ev.Details["on_behalf_of"] != alice || ev.Details["auth"] != adm.Auth || ev.Details["channel"] != "slack" {
		t.Errorf("submit event: actor %q details %v", ev.Actor, ev.Details)
	}
	scoped := drawbridge.Caller{Principal: alice, Roles: []drawbridge.Role{drawbridge.RoleRequester},
		Scope: drawbridge.Scope{Roles: []string{power}}, Channel: drawbridge.ChannelAPI}
	_, err = e.Broker.Submit(e.Ctx, broker.SubmitInput{Requester: alice,
		Entitlement: drawbridge.Entitlement{Resource: staging, Role: readOnly}, Duration: time.Hour}, scoped)
	wantCode(t, err, drawbridge.EFORBIDDEN, "not in the scope")
}
