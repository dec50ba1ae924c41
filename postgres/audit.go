package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
)

const auditColumns = `seq, time, actor, action, request_id, details, prev_hash, hash`

// AppendAudit appends events that record something other than a change of
// a request, in one transaction.
func (db *DB) AppendAudit(ctx context.Context, events ...drawbridge.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	return db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return db.appendAudit(ctx, tx, "", events)
	})
}

// appendAudit seals and inserts events after the head of the chain. It
// locks the head row first (FOR UPDATE), so a concurrent append — from this
// process or another — waits until this transaction ends and then reads the
// head it left: one chain, and sequence numbers without gaps, because a
// rollback undoes the head's move together with the events. The lock is
// taken last in every transaction (after the request row and any advisory
// lock), which keeps lock order the same everywhere.
func (db *DB) appendAudit(ctx context.Context, tx pgx.Tx, requestID string, events []drawbridge.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	var seq int64
	var prev string
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE`).Scan(&seq, &prev); err != nil {
		return fmt.Errorf("append audit: lock chain head: %w", err)
	}
	now := db.now()
	batch := &pgx.Batch{}
	for _, ev := range events {
		seq++
		ev.Seq = seq
		if ev.Time.IsZero() {
			ev.Time = now
		}
		ev.Time = ev.Time.UTC()
		if err := checkTime("audit event time", ev.Time); err != nil {
			return err
		}
		if ev.RequestID == "" {
			ev.RequestID = requestID
		}
		details := []byte("{}")
		if len(ev.Details) > 0 {
			var err error
			if details, err = json.Marshal(ev.Details); err != nil {
				return fmt.Errorf("append audit: encode details: %w", err)
			}
		}
		audit.Seal(prev, &ev)
		batch.Queue(`INSERT INTO audit_events (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			ev.Seq, ev.Time.UnixNano(), ev.Actor, ev.Action, ev.RequestID, string(details), ev.PrevHash, ev.Hash)
		prev = ev.Hash
	}
	batch.Queue(`UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, seq, prev)
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("append audit events up to %d: %w", seq, err)
	}
	return nil
}

// RequestEvents returns the audit events of one request in seq order.
func (db *DB) RequestEvents(ctx context.Context, requestID string) ([]drawbridge.AuditEvent, error) {
	out := []drawbridge.AuditEvent{}
	err := db.scanAudit(ctx, func(ev drawbridge.AuditEvent) error {
		out = append(out, ev)
		return nil
	}, `SELECT `+auditColumns+` FROM audit_events WHERE request_id = $1 ORDER BY seq`, requestID)
	if err != nil {
		return nil, fmt.Errorf("events of request %s: %w", requestID, err)
	}
	return out, nil
}

// ScanAudit calls fn for every audit event in seq order, streaming one
// consistent snapshot (a single SELECT); an error from fn stops the scan
// and is returned as is.
func (db *DB) ScanAudit(ctx context.Context, fn func(drawbridge.AuditEvent) error) error {
	return db.scanAudit(ctx, fn, `SELECT `+auditColumns+` FROM audit_events ORDER BY seq`)
}

// AuditAfter returns up to limit audit events after seq after, in order.
func (db *DB) AuditAfter(ctx context.Context, after int64, limit int) ([]drawbridge.AuditEvent, error) {
	if limit <= 0 {
		limit = drawbridge.DefaultListLimit
	}
	var out []drawbridge.AuditEvent
	err := db.scanAudit(ctx, func(ev drawbridge.AuditEvent) error {
		out = append(out, ev)
		return nil
	}, `SELECT `+auditColumns+` FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("audit events after %d: %w", after, err)
	}
	return out, nil
}

func (db *DB) scanAudit(ctx context.Context, fn func(drawbridge.AuditEvent) error, query string, args ...any) error {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("scan audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ev      drawbridge.AuditEvent
			t       int64
			details string
		)
		if err := rows.Scan(&ev.Seq, &t, &ev.Actor, &ev.Action, &ev.RequestID, &details, &ev.PrevHash, &ev.Hash); err != nil {
			return fmt.Errorf("scan audit: %w", err)
		}
		ev.Time = fromNanos(sql.NullInt64{Int64: t, Valid: true})
		if err := json.Unmarshal([]byte(details), &ev.Details); err != nil {
			// A row whose details are not JSON was written by someone else:
			// report it as that event, so Verify can still name it.
			ev.Details = map[string]string{"<undecodable details>": details}
		}
		if len(ev.Details) == 0 {
			ev.Details = nil
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan audit: %w", err)
	}
	return nil
}
