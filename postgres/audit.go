package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"golang.org/x/mod/sumdb/tlog"

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
		batch.Queue(`INSERT INTO audit_events (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			ev.Seq, ev.Time.UnixNano(), ev.Actor, ev.Action, ev.RequestID, string(details), ev.PrevHash, ev.Hash)
		leaves = append(leaves, audit.Leaf(&ev))
		prev = ev.Hash
	}
	if err := queueHashes(ctx, tx, batch, size, leaves); err != nil {
		return err
	}
	batch.Queue(`UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, seq, prev)
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("append audit events up to %d: %w", seq, err)
	}
	return nil
}

// queueHashes queues the inserts of the Merkle hashes of leaves appended
// after a tree of size events; the hashes it reads are committed ones (the
// caller holds the audit_head lock).
func queueHashes(ctx context.Context, tx pgx.Tx, batch *pgx.Batch, size int64, leaves [][]byte) error {
	first, hashes, err := audit.AppendHashes(size, leaves, func(indexes []int64) ([][32]byte, error) {
		return readHashes(ctx, tx, indexes)
	})
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	idx := make([]int64, len(hashes))
	hs := make([][]byte, len(hashes))
	for i := range hashes {
		idx[i], hs[i] = first+int64(i), hashes[i][:]
	}
	batch.Queue(`INSERT INTO audit_hashes (idx, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])`, idx, hs)
	return nil
}

func readHashes(ctx context.Context, q querier, indexes []int64) ([][32]byte, error) {
	out := make([][32]byte, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT idx, hash FROM audit_hashes WHERE idx = ANY($1)`, indexes)
	if err != nil {
		return nil, fmt.Errorf("read merkle hashes: %w", err)
	}
	got := make(map[int64][]byte, len(indexes))
	for rows.Next() {
		var idx int64
		var h []byte
		if err := rows.Scan(&idx, &h); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read merkle hashes: %w", err)
		}
		got[idx] = h
	}
	rows.Close()
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

// AuditTreeSize returns the number of committed audit events.
func (db *DB) AuditTreeSize(ctx context.Context) (int64, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT seq FROM audit_head WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("audit tree size: %w", err)
	}
	return n, nil
}

// AuditHashes returns the stored Merkle hashes at indexes, in order.
func (db *DB) AuditHashes(ctx context.Context, indexes []int64) ([][32]byte, error) {
	return readHashes(ctx, db.pool, indexes)
}

// hashOlderEvents adds to the Merkle tree the events appended before the
// tree existed (a database migrated to 00014), under the audit_head lock
// so that no append runs meanwhile.
func (db *DB) hashOlderEvents(ctx context.Context) error {
	return db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var last, stored int64
		if err := tx.QueryRow(ctx, `SELECT seq, (SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_hashes) FROM audit_head WHERE id = 1 FOR UPDATE`).Scan(&last, &stored); err != nil {
			return fmt.Errorf("merkle tree: %w", err)
		}
		size := int64(sort.Search(int(last)+1, func(n int) bool { return tlog.StoredHashCount(int64(n)) >= stored }))
		if size == last {
			return nil
		}
		// In chunks, so memory stays flat however long the log is.
		const chunk = 10_000
		for n := size; n < last; {
			leaves := make([][]byte, 0, chunk)
			err := scanRows(ctx, tx, func(ev drawbridge.AuditEvent) error {
				if ev.Seq != n+int64(len(leaves))+1 {
					return fmt.Errorf("audit event %d is missing (run drawbridge audit verify)", n+int64(len(leaves))+1)
				}
				leaves = append(leaves, audit.Leaf(&ev))
				return nil
			}, `SELECT `+auditColumns+` FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`, n, chunk)
			if err != nil {
				return fmt.Errorf("merkle tree: %w", err)
			}
			batch := &pgx.Batch{}
			if err := queueHashes(ctx, tx, batch, n, leaves); err != nil {
				return err
			}
			if err := tx.SendBatch(ctx, batch).Close(); err != nil {
				return fmt.Errorf("merkle tree: %w", err)
			}
			n += int64(len(leaves))
		}
		return nil
	})
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
	return scanRows(ctx, db.pool, fn, query, args...)
}

func scanRows(ctx context.Context, q querier, fn func(drawbridge.AuditEvent) error, query string, args ...any) error {
	rows, err := q.Query(ctx, query, args...)
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
		var err error
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
