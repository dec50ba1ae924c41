package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// ReplaceGroupMemberships makes groups principal's whole membership from
// source, stamped at (drawbridge.GroupMembershipStore).
func (db *DB) ReplaceGroupMemberships(ctx context.Context, principal, source string, groups []string, at time.Time) error {
	if principal == "" || source == "" || at.IsZero() {
		return drawbridge.Errorf(drawbridge.EINVALID, "a group membership needs a principal, a source and a time")
	}
	err := db.inWriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM group_memberships WHERE principal = ? AND source = ?`, principal, source); err != nil {
			return err
		}
		for _, g := range groups {
			if _, err := tx.ExecContext(ctx, `INSERT INTO group_memberships (principal, source, group_name, computed_at) VALUES (?, ?, ?, ?)
				ON CONFLICT DO NOTHING`, principal, source, g, nanos(at)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace group memberships of %s from %s: %w", principal, source, err)
	}
	return nil
}

// GroupMemberships returns principal's computed memberships.
func (db *DB) GroupMemberships(ctx context.Context, principal string) ([]drawbridge.GroupMembership, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT group_name, source, computed_at FROM group_memberships
		WHERE principal = ? ORDER BY group_name, source`, principal)
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
