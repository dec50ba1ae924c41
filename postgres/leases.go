package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge"
)

// TakeLease gives name to holder until until when it is free, ended at or
// before now, or holder's already (drawbridge.Leaser). INSERT … ON
// CONFLICT DO UPDATE … WHERE makes a second taker of the row wait for the
// first and then re-check the condition against what the first committed,
// so of several takers at once exactly one finds it free.
func (db *DB) TakeLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	if name == "" || holder == "" {
		return false, drawbridge.Errorf(drawbridge.EINVALID, "lease: need a name and a holder")
	}
	var taken bool
	err := db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO leases (name, holder, lease_until) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until
			WHERE leases.lease_until <= $4 OR leases.holder = EXCLUDED.holder`, name, holder, until.UnixNano(), now.UnixNano())
		taken = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("take lease %s: %w", name, err)
	}
	return taken, nil
}
