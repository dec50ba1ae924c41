package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// FirstUse records key until expires and reports whether it was unused
// (drawbridge.ReplayGuard). The write transaction serialises it with every
// other writer of the file, so of two processes presenting one key at the
// same instant exactly one is told it is new; expired keys are deleted in
// the same transaction.
func (db *DB) FirstUse(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	var fresh bool
	err := db.inWriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM used_keys WHERE expires_at <= ?`, nanos(now)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO used_keys (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, nanos(expires))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("remember used key: %w", err)
	}
	return fresh, nil
}
