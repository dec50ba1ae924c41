package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

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
	size := seq
	leaves := make([][]byte, 0, len(events))
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
		audit.Normalize(&ev)
		details := audit.CanonicalDetails(ev.Details)
		audit.Seal(prev, &ev)
		_, err := insert.ExecContext(ctx, ev.Seq, ev.Time.UnixNano(), ev.Actor, ev.Action, ev.RequestID, string(details), ev.PrevHash, ev.Hash)
		if err != nil {
			return fmt.Errorf("append audit event %d (%s): %w", ev.Seq, ev.Action, err)
		}
		leaves = append(leaves, audit.Leaf(&ev))
		prev = ev.Hash
	}
	return db.appendHashes(ctx, tx, size, leaves)
}

// appendHashes stores the Merkle hashes of leaves appended after a tree of
// size events, in the transaction that appends the events.
func (db *DB) appendHashes(ctx context.Context, tx *sql.Tx, size int64, leaves [][]byte) error {
	read := tx.StmtContext(ctx, db.stmts.readHash)
	first, hashes, err := audit.AppendHashes(size, leaves, func(indexes []int64) ([][32]byte, error) {
		out := make([][32]byte, len(indexes))
		for i, idx := range indexes {
			var h []byte
			if err := read.QueryRowContext(ctx, idx).Scan(&h); err != nil {
				return nil, fmt.Errorf("read merkle hash %d: %w", idx, err)
			}
			if len(h) != len(out[i]) {
				return nil, fmt.Errorf("merkle hash %d is %d bytes, want %d", idx, len(h), len(out[i]))
			}
			out[i] = [32]byte(h)
		}
		return out, nil
	})
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	insert := tx.StmtContext(ctx, db.stmts.insertHash)
	for i, h := range hashes {
		if _, err := insert.ExecContext(ctx, first+int64(i), h[:]); err != nil {
			return fmt.Errorf("append audit: store merkle hash %d: %w", first+int64(i), err)
		}
	}
	return nil
}

// hashOlderEvents adds to the Merkle tree the events appended before the
// tree existed (a store migrated to 00014), in one write transaction, so
// that every event is a leaf before anything else appends.
func (db *DB) hashOlderEvents(ctx context.Context) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var last, leaves int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0), (SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_hashes) FROM audit_events`).Scan(&last, &leaves); err != nil {
		return fmt.Errorf("merkle tree: %w", err)
	}
	// leaves holds the number of stored hashes; turn it into the tree size.
	size := sort.Search(int(last)+1, func(n int) bool { return tlog.StoredHashCount(int64(n)) >= leaves })
	if int64(size) == last {
		return nil
	}
	// In chunks, so memory stays flat however long the log is.
	const chunk = 10_000
	for n := int64(size); n < last; {
		leaves := make([][]byte, 0, chunk)
		err = scanRows(ctx, tx, func(ev drawbridge.AuditEvent) error {
			if ev.Seq != n+int64(len(leaves))+1 {
				return fmt.Errorf("audit event %d is missing (run drawbridge audit verify)", n+int64(len(leaves))+1)
			}
			leaves = append(leaves, audit.Leaf(&ev))
			return nil
		}, `SELECT `+auditColumns+` FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`, n, chunk)
		if err != nil {
			return fmt.Errorf("merkle tree: %w", err)
		}
		if err := db.appendHashes(ctx, tx, n, leaves); err != nil {
			return err
		}
		n += int64(len(leaves))
	}
	return tx.Commit()
}

// AuditTreeSize returns the number of committed audit events.
func (db *DB) AuditTreeSize(ctx context.Context) (int64, error) {
	var n int64
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("audit tree size: %w", err)
	}
	return n, nil
}

// AuditHashes returns the stored Merkle hashes at indexes, in order.
func (db *DB) AuditHashes(ctx context.Context, indexes []int64) ([][32]byte, error) {
	out := make([][32]byte, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	args := make([]any, len(indexes))
	for i, idx := range indexes {
		args[i] = idx
	}
	rows, err := db.read.QueryContext(ctx, `SELECT idx, hash FROM audit_hashes WHERE idx IN (?`+strings.Repeat(", ?", len(indexes)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read merkle hashes: %w", err)
	}
	defer rows.Close()
	got := make(map[int64][]byte, len(indexes))
	for rows.Next() {
		var idx int64
		var h []byte
		if err := rows.Scan(&idx, &h); err != nil {
			return nil, fmt.Errorf("read merkle hashes: %w", err)
		}
		got[idx] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read merkle hashes: %w", err)
	}
	for i, idx := range indexes {
		h, ok := got[idx]
		if !ok || len(h) != len(out[i]) {
			return nil, drawbridge.Errorf(drawbridge.ENOTFOUND, "merkle hash %d is not stored (the log is shorter than asked, or the hash table was edited)", idx)
		}
		out[i] = [32]byte(h)
	}
	return out, nil
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
	return scanRows(ctx, db.read, fn, query, args...)
}

func scanRows(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, fn func(drawbridge.AuditEvent) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
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
		if ev.Details, err = audit.DecodeDetails([]byte(details)); err != nil {
			// Details the store did not write (a duplicate key, which SQL
			// and Go would read differently): report it as that event, so
			// Verify can still name it.
			ev.Details = map[string]string{audit.BadDetailsKey: details}
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
