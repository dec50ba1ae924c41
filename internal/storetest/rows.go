package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
)

// activate moves a new request through approval to ACTIVE, one write
// each, as the broker does, and returns it.
func activate(t *testing.T, s drawbridge.Store, who string) *drawbridge.Request {
	t.Helper()
	ctx := context.Background()
	r := NewRequest(who, "123456789012", "ReadOnlyAccess")
	r.Decision = drawbridge.Decision{Effect: drawbridge.EffectRequireApproval, ApprovalsRequired: 1}
	Create(t, s, r)
	r.Approvals = []drawbridge.Approval{{Approver: "carol@example.com", Approved: true, Comment: "ok", At: T0.Add(time.Minute)}}
	r.State = drawbridge.StateApproved
	if err := s.UpdateRequest(ctx, r, drawbridge.AuditEvent{Actor: "carol@example.com", Action: "approve",
		Details: map[string]string{"from": "PENDING_APPROVAL", "to": "APPROVED"}}); err != nil {
		t.Fatal(err)
	}
	r.State = drawbridge.StateActive
	r.ProvisionStartedAt = T0.Add(2 * time.Minute)
	r.ActivatedAt = T0.Add(3 * time.Minute)
	r.ExpiresAt = r.ProvisionStartedAt.Add(r.Duration)
	r.PrincipalRef, r.GrantRef = "user-"+who, "grant-"+who
	if err := s.UpdateRequest(ctx, r, drawbridge.AuditEvent{Actor: "system:expiry", Action: "activate",
		Details: map[string]string{"from": "APPROVED", "to": "ACTIVE"}}); err != nil {
		t.Fatal(err)
	}
	return r
}

func testEveryWriteRecordsTheState(t *testing.T, s Stores) {
	ctx := context.Background()
	r := activate(t, s, "alice@example.com")
	evs, err := s.RequestEvents(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Details[drawbridge.DetailRequestState] == "" || ev.Details[drawbridge.DetailRequestDigest] == "" {
			t.Fatalf("event %d (%s) records no state: %v", ev.Seq, ev.Action, ev.Details)
		}
	}
	if c := drawbridge.CheckRow(s.get(t, r.ID), evs); !c.OK() || c.Seq != evs[len(evs)-1].Seq {
		t.Fatalf("row against its events: %+v, want bound at event %d", c, evs[len(evs)-1].Seq)
	}

	// A write without an event that leaves the recorded state alone (a
	// work lease) appends nothing; one that changes it gets an event.
	r.NextAttemptAt = T0.Add(time.Hour)
	if err := s.UpdateRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := s.events(t, r.ID); len(got) != len(evs) {
		t.Fatalf("a lease write appended %d events", len(got)-len(evs))
	}
	r.DeletesAssignment = true
	if err := s.UpdateRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	got := s.events(t, r.ID)
	if len(got) != len(evs)+1 || got[len(got)-1].Action != drawbridge.ActionStateRecorded || got[len(got)-1].Actor != drawbridge.StateRecorder {
		t.Fatalf("a claim written without an event: events %v, want one %s more", actions(got), drawbridge.ActionStateRecorded)
	}
	if c := drawbridge.CheckRow(s.get(t, r.ID), got); !c.OK() {
		t.Fatalf("after the claim: %+v", c)
	}
	if res := Verify(t, s); !res.OK {
		t.Fatalf("chain: %+v", res)
	}
	for _, deep := range []bool{false, true} {
		if res, err := audit.VerifyRows(ctx, s, deep); err != nil || !res.OK() || res.Requests != 1 || res.Unbound != 0 {
			t.Fatalf("verify rows (deep %v): %+v, %v", deep, res, err)
		}
	}
}

func testRowEditsAreDetected(t *testing.T, s Stores) {
	if s.Tamper == nil {
		t.Skip("this store gives the suite no direct access to its database")
	}
	ctx := context.Background()
	hour := int64(time.Hour)
	attacks := []struct {
		name  string
		stmt  string // %s is the request id
		field string
	}{
		{"state", `UPDATE requests SET state = 'EXPIRED', due_at = NULL WHERE id = '%s'`, "state"},
		{"approvals", `UPDATE requests SET approvals = '[]' WHERE id = '%s'`, "approvals"},
		{"requester", `UPDATE requests SET requester = 'mallory@example.com' WHERE id = '%s'`, "requester"},
		{"expires_at", fmt.Sprintf(`UPDATE requests SET expires_at = expires_at + %d, due_at = due_at + %d WHERE id = '%%s'`, 8*hour, 8*hour), "expires_at"},
		{"preexisting_access", `UPDATE requests SET preexisting_access = TRUE WHERE id = '%s'`, "preexisting_access"},
		{"principal_ref", `UPDATE requests SET principal_ref = 'someone-else' WHERE id = '%s'`, "principal_ref"},
	}
	honest := activate(t, s, "bob@example.com")
	ids := map[string]string{}
	for _, a := range attacks {
		ids[a.name] = activate(t, s, a.name+"@example.com").ID
	}
	if res, err := audit.VerifyRows(ctx, s, true); err != nil || !res.OK() {
		t.Fatalf("before any edit: %+v, %v", res, err)
	}
	for _, a := range attacks {
		s.Tamper(t, fmt.Sprintf(a.stmt, ids[a.name]))
	}
	for _, deep := range []bool{false, true} {
		res, err := audit.VerifyRows(ctx, s, deep)
		if err != nil {
			t.Fatal(err)
		}
		if res.OK() || len(res.Mismatches) != len(attacks) {
			t.Fatalf("deep %v: %d mismatches %v, want %d", deep, len(res.Mismatches), res.Mismatches, len(attacks))
		}
		for _, m := range res.Mismatches {
			if m.RequestID == honest.ID {
				t.Errorf("deep %v: the untouched request is reported: %s", deep, m)
			}
		}
		for _, a := range attacks {
			i := slices.IndexFunc(res.Mismatches, func(m audit.RowMismatch) bool { return m.RequestID == ids[a.name] })
			if i < 0 || !slices.Equal(res.Mismatches[i].Fields, []string{a.field}) {
				t.Errorf("deep %v: edit of %s: reported %v, want the field named", deep, a.name, res.Mismatches)
			}
		}
	}
	// The chain itself is intact: only the rows lie.
	if res := Verify(t, s); !res.OK {
		t.Fatalf("chain: %+v", res)
	}
	// The grant whose end was moved is still due at its recorded end.
	end := honest.ExpiresAt
	due, err := s.DueRequests(ctx, end, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(due, func(r *drawbridge.Request) bool { return r.ID == ids["expires_at"] }) {
		t.Errorf("due at the recorded end: %d requests, without the one whose end was moved", len(due))
	}
	if next, ok, err := s.NextDue(ctx); err != nil || !ok || !next.Equal(end) {
		t.Errorf("next due %v, %v, %v; want the recorded end %v", next, ok, err, end)
	}
	// A deleted row, a row no event records.
	s.Tamper(t, fmt.Sprintf(`DELETE FROM requests WHERE id = '%s'`, honest.ID))
	res, err := audit.VerifyRows(ctx, s, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(res.Mismatches, func(m audit.RowMismatch) bool { return m.RequestID == honest.ID }) {
		t.Errorf("a deleted row is not reported: %v", res.Mismatches)
	}
}

func (s Stores) get(t *testing.T, id string) *drawbridge.Request {
	t.Helper()
	r, err := s.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (s Stores) events(t *testing.T, id string) []drawbridge.AuditEvent {
	t.Helper()
	evs, err := s.RequestEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func actions(evs []drawbridge.AuditEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Action
	}
	return out
}
