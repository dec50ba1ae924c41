package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge"
)

// bind records r's state, as written, in the last of events that is r's
// (drawbridge.RecordState), and keeps request_bindings — the recorded end
// of an ACTIVE grant — inside the write's transaction; it returns the
// events to append. A write with no event of r's that changes the recorded
// state gets a state_recorded event, so the chain always holds the row's
// state; one that changes nothing recorded (a work lease) appends nothing.
// It runs after the request row is written and before the chain head is
// locked, the lock order of every write.
func bind(ctx context.Context, tx pgx.Tx, r *drawbridge.Request, events []drawbridge.AuditEvent) ([]drawbridge.AuditEvent, error) {
	events = slices.Clone(events)
	state := drawbridge.StateOf(r)
	if !drawbridge.RecordState(r, events) {
		have, err := recordedDigest(ctx, tx, r.ID)
		if err != nil {
			return nil, err
		}
		if have == state.Digest() {
			return events, nil
		}
		events = append(events, drawbridge.AuditEvent{Actor: drawbridge.StateRecorder, Action: drawbridge.ActionStateRecorded, RequestID: r.ID})
		drawbridge.RecordState(r, events)
	}
	var err error
	if due := state.Due(); due.IsZero() {
		_, err = tx.Exec(ctx, `DELETE FROM request_bindings WHERE request_id = $1`, r.ID)
	} else {
		_, err = tx.Exec(ctx, `INSERT INTO request_bindings (request_id, chain_due) VALUES ($1, $2)
			ON CONFLICT (request_id) DO UPDATE SET chain_due = excluded.chain_due`, r.ID, due.UnixNano())
	}
	if err != nil {
		return nil, fmt.Errorf("bind request %s: %w", r.ID, err)
	}
	return events, nil
}

// recordedDigest returns the digest of the state the chain recorded last
// for id, "" when none: the request's events newest first, up to the
// first that records one (almost always the newest).
func recordedDigest(ctx context.Context, tx pgx.Tx, id string) (string, error) {
	rows, err := tx.Query(ctx, `SELECT details FROM audit_events WHERE request_id = $1 ORDER BY seq DESC`, id)
	if err != nil {
		return "", fmt.Errorf("bind request %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			return "", fmt.Errorf("bind request %s: %w", id, err)
		}
		var d map[string]string
		if json.Unmarshal([]byte(text), &d) == nil && d[drawbridge.DetailRequestDigest] != "" {
			return d[drawbridge.DetailRequestDigest], nil
		}
	}
	return "", rows.Err()
}
