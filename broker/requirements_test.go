package broker_test

import (
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// MissingDetails names the ticket (and its pattern) or the reason the
// deciding rule requires and the request lacks, and records nothing.
func TestMissingDetails(t *testing.T) {
	e := testenv.New(t, testenv.Options{SkipAuditCheck: true}) // nothing is recorded, so there is no chain
	in := broker.SubmitInput{Requester: "alice@example.com", Duration: time.Hour,
		Entitlement: drawbridge.Entitlement{Resource: "111122223333", Role: "AdministratorAccess"}}
	m, err := e.Broker.MissingDetails(e.Ctx, in)
	if err != nil || m.Rule != "prod-admin" || m.Ticket != "^(INC|CHG)-[0-9]+$" || m.Reason || !m.Any() {
		t.Fatalf("no ticket: %+v, %v", m, err)
	}
	in.Ticket = "INC-1"
	if m, err := e.Broker.MissingDetails(e.Ctx, in); err != nil || m.Any() {
		t.Fatalf("with a ticket: %+v, %v", m, err)
	}
	in.Entitlement.Role = "ReadOnlyAccess"
	if m, err := e.Broker.MissingDetails(e.Ctx, in); err != nil || m.Any() {
		t.Fatalf("self-service: %+v, %v", m, err)
	}
	if rs, _ := e.Store.ListRequests(e.Ctx, drawbridge.RequestFilter{}); len(rs) != 0 {
		t.Fatalf("recorded %d requests", len(rs))
	}
}
