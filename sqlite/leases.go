package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// TakeLease gives name to holder until until when it is free, ended at or
// before now, or holder's already (drawbridge.Leaser). The upsert runs in
// the write transaction, which SQLite serialises across processes, so of
// several takers one finds the lease free.
func (db *DB) TakeLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	if name == "" || holder == "" {
		return false, drawbridge.Errorf(drawbridge.EINVALID, "lease: need a name and a holder")
	}
	var taken bool
	err := db.inWriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO leases (name, holder, lease_until) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
			WHERE leases.lease_until <= ? OR leases.holder = excluded.holder`, name, holder, nanos(until), nanos(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		taken = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("take lease %s: %w", name, err)
	}
	return taken, nil
}
