package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge"
)

// bind records r's state, as written, in the last of events that is r's
// (drawbridge.RecordState), and the chain's view of r in request_bindings,
// inside the write's transaction; it returns the events to append. A write
// with no event of r's that changes the recorded state gets a
// state_recorded event, so the chain always holds the row's state. It runs
// after the request row is written and before the chain head is locked,
// the lock order of every write.
func bind(ctx context.Context, tx pgx.Tx, r *drawbridge.Request, events []drawbridge.AuditEvent) ([]drawbridge.AuditEvent, error) {
	events = slices.Clone(events)
	state := drawbridge.StateOf(r)
	if !drawbridge.RecordState(r, events) {
		var have string
		err := tx.QueryRow(ctx, `SELECT digest FROM request_bindings WHERE request_id = $1`, r.ID).Scan(&have)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("bind request %s: %w", r.ID, err)
		}
		if have == state.Digest() {
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

func upsertBinding(ctx context.Context, tx pgx.Tx, id string, state drawbridge.RequestState) error {
	_, err := tx.Exec(ctx, `INSERT INTO request_bindings (request_id, digest, chain_due) VALUES ($1, $2, $3)
		ON CONFLICT (request_id) DO UPDATE SET digest = excluded.digest, chain_due = excluded.chain_due`,
		id, state.Digest(), nanos(state.Due()))
	if err != nil {
		return fmt.Errorf("bind request %s: %w", id, err)
	}
	return nil
}
