package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

func testAppendAudit(t *testing.T, s Stores) {
	ctx := context.Background()
	r := Create(t, s, NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	at := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	err := s.AppendAudit(ctx,
		drawbridge.AuditEvent{Actor: "expiry", Action: drawbridge.ActionRevokeAttemptFailed, RequestID: r.ID, Time: at,
			Details: map[string]string{"error": "aws: ThrottlingException"}},
		drawbridge.AuditEvent{Actor: "mallory@example.com", Action: "login_denied"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx); err != nil {
		t.Fatalf("appending nothing: %v", err)
	}
	evs, err := s.RequestEvents(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("got %d events for the request, want 2", len(evs))
	}
	got := evs[1]
	if got.Seq != 2 || !got.Time.Equal(at) || got.Details["error"] != "aws: ThrottlingException" || got.PrevHash != evs[0].Hash {
		t.Fatalf("appended event = %+v", got)
	}
	if evs[0].RequestID != r.ID || !evs[0].Time.Equal(T0) || evs[0].Details["state"] != string(r.State) {
		t.Fatalf("create's event: request id %q, time %v, details %v; want the request's id, the clock's time and its details",
			evs[0].RequestID, evs[0].Time, evs[0].Details)
	}
	if res := Verify(t, s); !res.OK || res.Events != 3 {
		t.Fatalf("chain: %+v", res)
	}
	if evs, err := s.RequestEvents(ctx, drawbridge.NewRequestID()); err != nil || len(evs) != 0 {
		t.Fatalf("events of an unknown request: %v, %v; want none", evs, err)
	}
}

func testScanAuditStopsOnCallerError(t *testing.T, s Stores) {
	for range 3 {
		Create(t, s, NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	}
	stop := errors.New("enough")
	n := 0
	err := s.ScanAudit(context.Background(), func(ev drawbridge.AuditEvent) error {
		n++
		if ev.Seq != int64(n) {
			t.Fatalf("event %d has seq %d", n, ev.Seq)
		}
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("scan returned %v after %d events, want the caller's error after 2", err, n)
	}
}

// A realistic history, requests moved through their lifecycle with
// several events per write plus events that record no change, verifies
// as one gap-free chain.
func testAuditChainVerifiesAfterManyWrites(t *testing.T, s Stores) {
	ctx := context.Background()
	const n = 40
	for i := range n {
		r := Create(t, s, NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
		r.State = drawbridge.StateApproved
		if err := s.UpdateRequest(ctx, r,
			drawbridge.AuditEvent{Actor: "carol@example.com", Action: "approve"},
			drawbridge.AuditEvent{Actor: "broker", Action: drawbridge.ActionApprovalRecorded}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := s.AppendAudit(ctx, drawbridge.AuditEvent{Actor: "expiry", Action: drawbridge.ActionRevokeAttemptFailed, RequestID: r.ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := int64(3*n + (n+2)/3)
	if res := Verify(t, s); !res.OK || res.Events != want || res.LastSeq != want {
		t.Fatalf("chain: %+v, want OK with %d events numbered 1 to %d", res, want, want)
	}
}
