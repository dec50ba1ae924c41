package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/drawbridge-jit/drawbridge"
)

// bind records r's state, as written, in the last of events that is r's
// (drawbridge.RecordState), and the chain's view of r in request_bindings,
// inside the write's transaction; it returns the events to append. A write
// with no event of r's that changes the recorded state gets a
// state_recorded event, so the chain always holds the row's state.
func bind(ctx context.Context, tx *sql.Tx, r *drawbridge.Request, events []drawbridge.AuditEvent) ([]drawbridge.AuditEvent, error) {
	events = slices.Clone(events)
	state := drawbridge.StateOf(r)
	digest := state.Digest()
	if !drawbridge.RecordState(r, events) {
		var have string
		err := tx.QueryRowContext(ctx, `SELECT digest FROM request_bindings WHERE request_id = ?`, r.ID).Scan(&have)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("bind request %s: %w", r.ID, err)
		}
		if have == digest {
			return events, nil
		}
		events = append(events, drawbridge.AuditEvent{Actor: drawbridge.StateRecorder, Action: drawbridge.ActionStateRecorded, RequestID: r.ID})
		drawbridge.RecordState(r, events)
	}
	if err := upsertBinding(ctx, tx, r.ID, state); err != nil {
		return nil, err
	}
	return events, nil
}

func upsertBinding(ctx context.Context, tx *sql.Tx, id string, state drawbridge.RequestState) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO request_bindings (request_id, digest, chain_due) VALUES (?, ?, ?)
		ON CONFLICT (request_id) DO UPDATE SET digest = excluded.digest, chain_due = excluded.chain_due`,
		id, state.Digest(), nanos(state.Due()))
	if err != nil {
		return fmt.Errorf("bind request %s: %w", id, err)
	}
	return nil
}
