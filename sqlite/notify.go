package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// AuditAfter returns up to limit audit events after seq after, in order.
func (db *DB) AuditAfter(ctx context.Context, after int64, limit int) ([]drawbridge.AuditEvent, error) {
	if limit <= 0 {
		limit = drawbridge.DefaultListLimit
	}
	var out []drawbridge.AuditEvent
	err := db.scanAudit(ctx, func(ev drawbridge.AuditEvent) error {
		out = append(out, ev)
		return nil
	}, `SELECT `+auditColumns+` FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("audit events after %d: %w", after, err)
	}
	return out, nil
}

// LeaseNotifyCursor takes or renews holder's lease on notifier name's
// cursor. The read and the write are one IMMEDIATE transaction, so two
// processes asking at once cannot both get it.
func (db *DB) LeaseNotifyCursor(ctx context.Context, name, holder string, now, until time.Time) (drawbridge.NotifyCursor, error) {
	if name == "" || holder == "" {
		return drawbridge.NotifyCursor{}, drawbridge.Errorf(drawbridge.EINVALID, "notifier cursor: need a name and a holder")
	}
	for _, t := range []struct {
		n string
		t time.Time
	}{{"now", now}, {"lease end", until}} {
		if err := checkTime("notifier cursor "+t.n, t.t); err != nil {
			return drawbridge.NotifyCursor{}, err
		}
	}
	c := drawbridge.NotifyCursor{Name: name}
	err := db.inWriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var leaseUntil int64
		err := tx.QueryRowContext(ctx, `SELECT seq, holder, lease_until FROM notify_cursors WHERE name = ?`, name).
			Scan(&c.Seq, &c.Holder, &leaseUntil)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// A new notifier starts at the end of the chain.
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_events`).Scan(&c.Seq); err != nil {
				return err
			}
			c.Holder, c.LeaseUntil = holder, until.UTC()
			_, err = tx.ExecContext(ctx, `INSERT INTO notify_cursors (name, seq, holder, lease_until, updated_at) VALUES (?, ?, ?, ?, ?)`,
				name, c.Seq, holder, until.UnixNano(), now.UnixNano())
			return err
		case err != nil:
			return err
		}
		if c.Holder != holder && leaseUntil > now.UnixNano() {
			return drawbridge.LeaseHeldError(name, c.Holder, fromNanos(sql.NullInt64{Int64: leaseUntil, Valid: true}))
		}
		c.Holder, c.LeaseUntil = holder, until.UTC()
		_, err = tx.ExecContext(ctx, `UPDATE notify_cursors SET holder = ?, lease_until = ?, updated_at = ? WHERE name = ?`,
			holder, until.UnixNano(), now.UnixNano(), name)
		return err
	})
	if err != nil {
		if drawbridge.IsStale(err) {
			return drawbridge.NotifyCursor{}, err
		}
		return drawbridge.NotifyCursor{}, fmt.Errorf("lease notifier cursor %s: %w", name, err)
	}
	return c, nil
}

// AdvanceNotifyCursor moves name's cursor forward to seq while holder
// holds its lease.
func (db *DB) AdvanceNotifyCursor(ctx context.Context, name, holder string, seq int64) error {
	err := db.inWriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var cur int64
		var h string
		var until int64
		err := tx.QueryRowContext(ctx, `SELECT seq, holder, lease_until FROM notify_cursors WHERE name = ?`, name).Scan(&cur, &h, &until)
		if errors.Is(err, sql.ErrNoRows) {
			return drawbridge.Errorf(drawbridge.ENOTFOUND, "notifier cursor %s does not exist: lease it first", name)
		}
		if err != nil {
			return err
		}
		if h != holder {
			return drawbridge.LeaseHeldError(name, h, fromNanos(sql.NullInt64{Int64: until, Valid: true}))
		}
		if seq <= cur {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE notify_cursors SET seq = ?, updated_at = ? WHERE name = ?`, seq, db.now().UnixNano(), name)
		return err
	})
	if err != nil && drawbridge.ErrorCode(err) == drawbridge.EINTERNAL {
		return fmt.Errorf("advance notifier cursor %s: %w", name, err)
	}
	return err
}
