package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge"
)

// holdersSQL pages through the requests_holders partial index (migration
// 00020), whose condition the WHERE clause repeats so the planner can prove
// the index applies.
const holdersSQL = `SELECT role, principal_ref, id, state, preexisting_access, activated_at FROM requests
	WHERE provider = $1 AND resource = $2
	AND (state IN ('PROVISIONING', 'ACTIVE', 'REVOKING') OR preexisting_access)
	AND (role, principal_ref, id) > ($3, $4, $5)
	ORDER BY role, principal_ref, id LIMIT $6`

// AssignmentHolders returns one keyset page of the live grants and
// recorded standing access of a provider's resource (drawbridge.Store).
func (db *DB) AssignmentHolders(ctx context.Context, provider, resource string, after drawbridge.AssignmentHolder, limit int) ([]drawbridge.AssignmentHolder, error) {
	if limit <= 0 {
		limit = drawbridge.DefaultListLimit
	}
	rows, err := db.pool.Query(ctx, holdersSQL, provider, resource, after.Role, after.PrincipalRef, after.RequestID, limit)
	if err != nil {
		return nil, fmt.Errorf("assignment holders of %s/%s: %w", provider, resource, err)
	}
	defer rows.Close()
	out := make([]drawbridge.AssignmentHolder, 0, limit)
	for rows.Next() {
		h := drawbridge.AssignmentHolder{Assignment: drawbridge.Assignment{Entitlement: drawbridge.Entitlement{Provider: provider, Resource: resource}}}
		var state string
		var activated sql.NullInt64
		if err := rows.Scan(&h.Role, &h.PrincipalRef, &h.RequestID, &state, &h.PreexistingAccess, &activated); err != nil {
			return nil, fmt.Errorf("assignment holders of %s/%s: %w", provider, resource, err)
		}
		h.State, h.ActivatedAt = drawbridge.State(state), fromNanos(activated)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("assignment holders of %s/%s: %w", provider, resource, err)
	}
	return out, nil
}

// LastEndedGrant returns the grant of a that ended last, or nil: one step
// back along the requests_assignment index, which ends in ended_at.
func (db *DB) LastEndedGrant(ctx context.Context, a drawbridge.Assignment) (*drawbridge.Request, error) {
	r, err := scanRequest(db.pool.QueryRow(ctx, `SELECT `+requestColumns+` FROM requests
		WHERE provider = $1 AND resource = $2 AND role = $3 AND principal_ref = $4 AND ended_at IS NOT NULL
		AND state IN ('DENIED', 'CANCELLED', 'FAILED', 'EXPIRED', 'REVOKED')
		ORDER BY ended_at DESC, id LIMIT 1`, a.Provider, a.Resource, a.Role, a.PrincipalRef))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("last ended grant of %s for %s: %w", a.Entitlement, a.PrincipalRef, err)
	}
	return r, nil
}
