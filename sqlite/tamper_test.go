package sqlite_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/storetest"
)

// history writes a realistic chain: requests created and moved through
// their lifecycle, plus events that record no change.
func history(t *testing.T, n int) (path string, verifyChain func() (ok bool, seq int64, reason string)) {
	t.Helper()
	ctx := context.Background()
	db, path := openDB(t)
	for i := range n {
		r := storetest.Create(t, db, storetest.NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
		r.State = drawbridge.StateApproved
		if err := db.UpdateRequest(ctx, r,
			drawbridge.AuditEvent{Actor: "carol@example.com", Action: "approve"},
			drawbridge.AuditEvent{Actor: "broker", Action: drawbridge.ActionApprovalRecorded}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := db.AppendAudit(ctx, drawbridge.AuditEvent{Actor: "expiry", Action: drawbridge.ActionRevokeAttemptFailed, RequestID: r.ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	res := storetest.Verify(t, db)
	want := int64(3*n + (n+2)/3)
	if !res.OK || res.Events != want || res.LastSeq != want {
		t.Fatalf("untampered chain: %+v, want OK with %d events", res, want)
	}
	return path, func() (bool, int64, string) {
		res := storetest.Verify(t, db)
		return res.OK, res.FirstBadSeq, res.Reason
	}
}

func exec(t *testing.T, raw *sql.DB, query string, args ...any) {
	t.Helper()
	res, err := raw.Exec(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("%s changed nothing", query)
	}
}

func TestAuditChainDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, raw *sql.DB)
		seq    int64
		reason string
	}{
		{
			name: "edited actor",
			tamper: func(t *testing.T, raw *sql.DB) {
				exec(t, raw, `UPDATE audit_events SET actor = 'mallory@example.com' WHERE seq = 5`)
			},
			seq: 5, reason: "event 5: hash does not match its contents (edited?)",
		},
		{
			name: "edited details",
			tamper: func(t *testing.T, raw *sql.DB) {
				exec(t, raw, `UPDATE audit_events SET details = '{"state":"ACTIVE"}' WHERE seq = 4`)
			},
			seq: 4, reason: "event 4: hash does not match its contents (edited?)",
		},
		{
			name: "edited time",
			tamper: func(t *testing.T, raw *sql.DB) {
				exec(t, raw, `UPDATE audit_events SET time = time + 1 WHERE seq = 9`)
			},
			seq: 9, reason: "event 9: hash does not match its contents (edited?)",
		},
		{
			name:   "deleted event",
			tamper: func(t *testing.T, raw *sql.DB) { exec(t, raw, `DELETE FROM audit_events WHERE seq = 6`) },
			seq:    7, reason: "event 7 follows event 5: event 6 is missing (deleted?)",
		},
		{
			name: "swapped contents of two events",
			tamper: func(t *testing.T, raw *sql.DB) {
				exec(t, raw, `UPDATE audit_events SET seq = -1 WHERE seq = 6`)
				exec(t, raw, `UPDATE audit_events SET seq = 6 WHERE seq = 7`)
				exec(t, raw, `UPDATE audit_events SET seq = 7 WHERE seq = -1`)
			},
			seq: 6, reason: "event 6: prev_hash does not match event 5's hash (reordered or replaced?)",
		},
		{
			name: "deleted and renumbered",
			tamper: func(t *testing.T, raw *sql.DB) {
				exec(t, raw, `DELETE FROM audit_events WHERE seq = 3`)
				exec(t, raw, `UPDATE audit_events SET seq = -(seq - 1) WHERE seq > 3`)
				exec(t, raw, `UPDATE audit_events SET seq = -seq WHERE seq < 0`)
			},
			seq: 3, reason: "event 3: prev_hash does not match event 2's hash (reordered or replaced?)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, verifyChain := history(t, 4)
			tt.tamper(t, rawDB(t, path))
			ok, seq, reason := verifyChain()
			if ok || seq != tt.seq || reason != tt.reason {
				t.Fatalf("verify: ok=%v seq=%d reason=%q\nwant seq=%d reason=%q", ok, seq, reason, tt.seq, tt.reason)
			}
		})
	}
}
