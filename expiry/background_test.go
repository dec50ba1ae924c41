package expiry_test

import (
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/expiry"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// Record now, provision in the background: a submission or approval with
// broker.ProvisionInBackground returns APPROVED without asking the provider
// anything, and a sleeping engine (MaxSleep 10 minutes, fake clock never
// advanced) is woken at once to provision it — not at its next sweep.
func TestProvisionInBackground(t *testing.T) {
	e := testenv.New(t, testenv.Options{})

	r, err := e.Broker.Submit(e.Ctx, broker.SubmitInput{
		Requester: alice, Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: staging, Role: readOnly},
		Duration: time.Hour, Reason: "test",
	}, testenv.Operator, broker.ProvisionInBackground)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != drawbridge.StateApproved {
		t.Fatalf("submit in the background returned %s, want APPROVED", r.State)
	}
	calls := e.Emu.Calls(emulator.OpCreateAccountAssignment) + e.Emu.Calls(emulator.OpListAccountAssignmentsForPrincipal)
	if calls != 0 {
		t.Fatalf("submit in the background called Identity Center %d times before returning", calls)
	}
	if got := strings.Join(e.Actions(t, r.ID), ","); got != "submit,allow" {
		t.Fatalf("audit actions %s, want submit,allow", got)
	}
	if !r.NextAttemptAt.Equal(testenv.Start) {
		t.Fatalf("next attempt %v, want now (%v): the engine must find it due at once", r.NextAttemptAt, testenv.Start)
	}

	eng := expiry.New(e.Broker, 10*time.Minute, 2)
	e.Broker.OnChange = eng.Notify
	runEngine(t, eng)
	got := waitState(t, e, r.ID, drawbridge.StateActive)
	if !got.ExpiresAt.Equal(testenv.Start.Add(time.Hour)) || !e.HasAssignment(t, alice, staging, readOnly) {
		t.Fatalf("expires %v, assignment %v", got.ExpiresAt, e.HasAssignment(t, alice, staging, readOnly))
	}

	// The engine is asleep for 10 minutes now; an approval in the
	// background must wake it.
	waitAsleep(t, e, 1)
	p := e.Submit(t, alice, prod, "AdministratorAccess", time.Hour, "INC-1")
	if p.State != drawbridge.StatePendingApproval {
		t.Fatalf("prod admin request is %s", p.State)
	}
	a, err := e.Broker.Approve(e.Ctx, p.ID, bob, "ok", testenv.Operator, broker.ProvisionInBackground)
	if err != nil {
		t.Fatal(err)
	}
	if a.State != drawbridge.StateApproved {
		t.Fatalf("approve in the background returned %s, want APPROVED", a.State)
	}
	waitState(t, e, p.ID, drawbridge.StateActive)
	if now := e.Clock.Now(); !now.Equal(testenv.Start) {
		t.Fatalf("clock moved to %v", now)
	}
}
