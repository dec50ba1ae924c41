package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge"
)

// LeaseNotifyCursor takes or renews holder's lease on notifier name's
// cursor. A cursor seen for the first time is inserted at the chain's head
// (ON CONFLICT DO NOTHING, so two first askers make one row), then the row
// is locked FOR UPDATE while the lease is checked and written: two
// processes asking at once are served one after the other.
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
	err := db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO notify_cursors (name, seq, holder, lease_until, updated_at)
			SELECT $1::text, seq, '', 0, $2::bigint FROM audit_head WHERE id = 1 ON CONFLICT (name) DO NOTHING`, name, now.UnixNano()); err != nil {
			return err
		}
		var leaseUntil int64
		if err := tx.QueryRow(ctx, `SELECT seq, holder, lease_until FROM notify_cursors WHERE name = $1 FOR UPDATE`, name).
			Scan(&c.Seq, &c.Holder, &leaseUntil); err != nil {
			return err
		}
		if c.Holder != "" && c.Holder != holder && leaseUntil > now.UnixNano() {
			return drawbridge.LeaseHeldError(name, c.Holder, fromNanos(sql.NullInt64{Int64: leaseUntil, Valid: true}))
		}
		c.Holder, c.LeaseUntil = holder, until.UTC()
		_, err := tx.Exec(ctx, `UPDATE notify_cursors SET holder = $1, lease_until = $2, updated_at = $3 WHERE name = $4`,
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
	err := db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var cur, until int64
		var h string
		err := tx.QueryRow(ctx, `SELECT seq, holder, lease_until FROM notify_cursors WHERE name = $1 FOR UPDATE`, name).Scan(&cur, &h, &until)
		if errors.Is(err, pgx.ErrNoRows) {
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
		_, err = tx.Exec(ctx, `UPDATE notify_cursors SET seq = $1, updated_at = $2 WHERE name = $3`, seq, db.now().UnixNano(), name)
		return err
	})
	if err != nil && drawbridge.ErrorCode(err) == drawbridge.EINTERNAL {
		return fmt.Errorf("advance notifier cursor %s: %w", name, err)
	}
	return err
}

// FirstUse records key until expires and reports whether it was unused
// (drawbridge.ReplayGuard). The insert replaces only an expired row (ON
// CONFLICT DO UPDATE … WHERE expired): PostgreSQL makes a second inserter
// of one key wait for the first and then re-checks the condition against
// the row the first committed, so exactly one of several concurrent calls
// gets true. Expired keys are deleted in the same transaction.
func (db *DB) FirstUse(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	var fresh bool
	err := db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO used_keys (key, expires_at) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE used_keys.expires_at <= $3`,
			key, expires.UnixNano(), now.UnixNano())
		if err != nil {
			return err
		}
		fresh = tag.RowsAffected() == 1
		_, err = tx.Exec(ctx, `DELETE FROM used_keys WHERE expires_at <= $1`, now.UnixNano())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("remember used key: %w", err)
	}
	return fresh, nil
}
