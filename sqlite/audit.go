package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
)

const (
	auditColumns   = `seq, time, actor, action, request_id, details, prev_hash, hash`
	insertAuditSQL = `INSERT INTO audit_events (` + auditColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
)

// AppendAudit appends events that record something other than a change of
// a request, in one transaction.
func (db *DB) AppendAudit(ctx context.Context, events ...drawbridge.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	return db.inWriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return db.appendAudit(ctx, tx, "", events)
	})
}

// appendAudit seals and inserts events after the current head of the
// chain. It must run inside the write transaction: the transaction began
// IMMEDIATE, so no other writer, in this process or another, can append
// between reading the head and inserting after it. requestID fills in
// events that name no request.
func (db *DB) appendAudit(ctx context.Context, tx *sql.Tx, requestID string, events []drawbridge.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	var seq int64
	prev := audit.GenesisHash
	err := tx.StmtContext(ctx, db.stmts.chainHead).QueryRowContext(ctx).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("append audit: read chain head: %w", err)
	}
	now := db.now()
	insert := tx.StmtContext(ctx, db.stmts.insertAudit)
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
			if details, err = json.Marshal(ev.Details); err != nil {
				return fmt.Errorf("append audit: encode details: %w", err)
			}
		}
		audit.Seal(prev, &ev)
		_, err := insert.ExecContext(ctx, ev.Seq, ev.Time.UnixNano(), ev.Actor, ev.Action, ev.RequestID, string(details), ev.PrevHash, ev.Hash)
		if err != nil {
			return fmt.Errorf("append audit event %d (%s): %w", ev.Seq, ev.Action, err)
		}
		prev = ev.Hash
	}
	return nil
}

// RequestEvents returns the audit events of one request in seq order.
func (db *DB) RequestEvents(ctx context.Context, requestID string) ([]drawbridge.AuditEvent, error) {
	out := []drawbridge.AuditEvent{}
	err := db.scanAudit(ctx, func(ev drawbridge.AuditEvent) error {
		out = append(out, ev)
		return nil
	}, `SELECT `+auditColumns+` FROM audit_events WHERE request_id = ? ORDER BY seq`, requestID)
	if err != nil {
		return nil, fmt.Errorf("events of request %s: %w", requestID, err)
	}
	return out, nil
}

// ScanAudit calls fn for every audit event in seq order, one row at a time;
// an error from fn stops the scan and is returned as is. The scan reads one
// consistent snapshot (a single SELECT), so events appended meanwhile are
// not seen.
func (db *DB) ScanAudit(ctx context.Context, fn func(drawbridge.AuditEvent) error) error {
	return db.scanAudit(ctx, fn, `SELECT `+auditColumns+` FROM audit_events ORDER BY seq`)
}

func (db *DB) scanAudit(ctx context.Context, fn func(drawbridge.AuditEvent) error, query string, args ...any) error {
	rows, err := db.read.QueryContext(ctx, query, args...)
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
