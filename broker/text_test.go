package broker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// TestFreeTextIsCheckedOnEveryPath drives each broker entry point that
// takes text from a person (the CLI in local mode calls these directly,
// the HTTP API and later Slack go through them too) with a value that
// would forge a line or an escape sequence on an approver's terminal: each
// is refused as invalid, and nothing is recorded.
func TestFreeTextIsCheckedOnEveryPath(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	active := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	pending := e.Submit(t, alice, prod, admin, time.Hour, "INC-1")
	forged := "debug\nstate:        ACTIVE"
	submit := func(mut func(*broker.SubmitInput)) error {
		in := broker.SubmitInput{Requester: alice, Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: staging, Role: readOnly},
			Duration: time.Hour, Reason: "ok", Ticket: "INC-2"}
		mut(&in)
		_, err := e.Broker.Submit(e.Ctx, in, op)
		return err
	}
	for _, tc := range []struct {
		name, field string
		call        func() error
	}{
		{"submit reason with a newline", "reason", func() error { return submit(func(in *broker.SubmitInput) { in.Reason = forged }) }},
		{"submit reason clearing the screen", "reason", func() error { return submit(func(in *broker.SubmitInput) { in.Reason = "x\x1b[2J\x1b[H" }) }},
		{"submit reason with a bidi override", "reason", func() error { return submit(func(in *broker.SubmitInput) { in.Reason = "fix \u202etxt.exe" }) }},
		{"submit reason over the cap", "reason", func() error {
			return submit(func(in *broker.SubmitInput) { in.Reason = strings.Repeat("a", drawbridge.MaxReasonLen+1) })
		}},
		{"submit ticket with NUL", "ticket", func() error { return submit(func(in *broker.SubmitInput) { in.Ticket = "INC-1\x00" }) }},
		{"submit ticket over the cap", "ticket", func() error {
			return submit(func(in *broker.SubmitInput) { in.Ticket = "INC-" + strings.Repeat("1", drawbridge.MaxTicketLen) })
		}},
		{"submit requester with a newline", "requester", func() error { return submit(func(in *broker.SubmitInput) { in.Requester = alice + "\nx" }) }},
		{"submit role with a zero-width space", "role", func() error {
			return submit(func(in *broker.SubmitInput) { in.Entitlement.Role = "ReadOnly\u200bAccess" })
		}},
		{"extend reason", "reason", func() error {
			_, err := e.Broker.Extend(e.Ctx, active.ID, time.Hour, forged, "", op)
			return err
		}},
		{"extend ticket", "ticket", func() error {
			_, err := e.Broker.Extend(e.Ctx, active.ID, time.Hour, "", "INC-1\u202e", op)
			return err
		}},
		{"deny comment", "comment", func() error {
			_, err := e.Broker.Deny(e.Ctx, pending.ID, carol, "no\x1b]0;pwned\x07", op)
			return err
		}},
		{"approve comment", "comment", func() error {
			_, err := e.Broker.Approve(e.Ctx, pending.ID, carol, forged, op)
			return err
		}},
		{"approver with a control character", "approver", func() error {
			_, err := e.Broker.Approve(e.Ctx, pending.ID, carol+"\r", "", op)
			return err
		}},
		{"revoke reason", "reason", func() error {
			_, err := e.Broker.Revoke(e.Ctx, active.ID, "done\u0085state: REVOKED", op)
			return err
		}},
		{"revoke all reason", "reason", func() error {
			_, err := e.Broker.RevokeAll(e.Ctx, broker.RevokeScope{Requester: alice}, "bye\x1b[2J", 1, op)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.call(), drawbridge.EINVALID, tc.field)
		})
	}
	wantState(t, e.Get(t, active.ID), drawbridge.StateActive)
	wantState(t, e.Get(t, pending.ID), drawbridge.StatePendingApproval)
}
