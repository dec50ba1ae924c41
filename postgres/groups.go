package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge"
)

// ReplaceGroupMemberships makes groups principal's whole membership from
// source, stamped at (drawbridge.GroupMembershipStore). Two replacements
// of one principal's memberships from one source (two replicas signing the
// same person in) take an advisory lock on that pair first: without it, the
// second DELETE would not see the first's new rows and the result would be
// the union of both instead of the later one.
func (db *DB) ReplaceGroupMemberships(ctx context.Context, principal, source string, groups []string, at time.Time) error {
	if principal == "" || source == "" || at.IsZero() {
		return drawbridge.Errorf(drawbridge.EINVALID, "a group membership needs a principal, a source and a time")
	}
	if err := checkTime("group membership time", at); err != nil {
		return err
	}
	err := db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := lockKey(ctx, tx, fmt.Sprintf("groups|%d:%s|%s", len(principal), principal, source)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM group_memberships WHERE principal = $1 AND source = $2`, principal, source); err != nil {
			return err
		}
		if len(groups) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO group_memberships (principal, source, group_name, computed_at)
			SELECT $1, $2, g, $4 FROM unnest($3::text[]) AS g ON CONFLICT DO NOTHING`, principal, source, groups, at.UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("replace group memberships of %s from %s: %w", principal, source, err)
	}
	return nil
}

// GroupMemberships returns principal's computed memberships.
func (db *DB) GroupMemberships(ctx context.Context, principal string) ([]drawbridge.GroupMembership, error) {
	rows, err := db.pool.Query(ctx, `SELECT group_name, source, computed_at FROM group_memberships
		WHERE principal = $1 ORDER BY group_name COLLATE "C", source COLLATE "C"`, principal)
	if err != nil {
		return nil, fmt.Errorf("group memberships of %s: %w", principal, err)
	}
	defer rows.Close()
	var out []drawbridge.GroupMembership
	for rows.Next() {
		m := drawbridge.GroupMembership{Principal: principal}
		var at sql.NullInt64
		if err := rows.Scan(&m.Group, &m.Source, &at); err != nil {
			return nil, fmt.Errorf("group memberships of %s: %w", principal, err)
		}
		m.ComputedAt = fromNanos(at)
		out = append(out, m)
	}
	return out, rows.Err()
}
