package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

const tokenColumns = `id, principal, roles, providers, accounts, permission_sets, description, secret_sha256, created_at, expires_at, revoked_at`

// CreateToken inserts t. Its secret is never stored, only t.Hash.
func (db *DB) CreateToken(ctx context.Context, t *drawbridge.Token) error {
	if t.ID == "" || t.Hash == "" || t.CreatedAt.IsZero() {
		return drawbridge.Errorf(drawbridge.EINVALID, "token needs an id, a secret hash and a creation time")
	}
	roles, _ := json.Marshal(orEmpty(rolesToStrings(t.Roles)))
	providers, _ := json.Marshal(orEmpty(t.Scope.Providers))
	accounts, _ := json.Marshal(orEmpty(t.Scope.Resources))
	sets, _ := json.Marshal(orEmpty(t.Scope.Roles))
	return db.inWriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Principal, string(roles), string(providers), string(accounts), string(sets), t.Description, t.Hash,
			nanos(t.CreatedAt), nanos(t.ExpiresAt), nanos(t.RevokedAt))
		if err != nil && strings.Contains(err.Error(), "UNIQUE") {
			return drawbridge.Errorf(drawbridge.ECONFLICT, "token %s already exists", t.ID)
		} else if err != nil {
			return fmt.Errorf("create token %s: %w", t.ID, err)
		}
		return nil
	})
}

// TokenByHash returns the token whose secret hashes to hash.
func (db *DB) TokenByHash(ctx context.Context, hash string) (*drawbridge.Token, error) {
	t, err := scanToken(db.readRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE secret_sha256 = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, drawbridge.Errorf(drawbridge.ENOTFOUND, "no such token")
	} else if err != nil {
		return nil, fmt.Errorf("token by hash: %w", err)
	}
	return t, nil
}

// ListTokens returns every token, newest first.
func (db *DB) ListTokens(ctx context.Context) ([]*drawbridge.Token, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []*drawbridge.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken marks token id revoked; revoking twice keeps the first time.
func (db *DB) RevokeToken(ctx context.Context, id string, at time.Time) error {
	return db.inWriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, at.UnixNano(), id)
		if err != nil {
			return fmt.Errorf("revoke token %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return drawbridge.Errorf(drawbridge.ENOTFOUND, "token %s not found", id)
		}
		return nil
	})
}

func scanToken(s scanner) (*drawbridge.Token, error) {
	var t drawbridge.Token
	var roles, providers, accounts, sets string
	var created, expires, revoked sql.NullInt64
	if err := s.Scan(&t.ID, &t.Principal, &roles, &providers, &accounts, &sets, &t.Description, &t.Hash, &created, &expires, &revoked); err != nil {
		return nil, err
	}
	var rs []string
	if err := errors.Join(json.Unmarshal([]byte(roles), &rs), json.Unmarshal([]byte(providers), &t.Scope.Providers),
		json.Unmarshal([]byte(accounts), &t.Scope.Resources), json.Unmarshal([]byte(sets), &t.Scope.Roles)); err != nil {
		return nil, fmt.Errorf("token %s: %w", t.ID, err)
	}
	for _, r := range rs {
		t.Roles = append(t.Roles, drawbridge.Role(r))
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromNanos(created), fromNanos(expires), fromNanos(revoked)
	return &t, nil
}

func rolesToStrings(rs []drawbridge.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CountRequests returns how many requests are in each state through each
// channel, and how many of them have failed revocation attempts: the
// gauges of /metrics, read from counts kept as requests are written.
func (db *DB) CountRequests(ctx context.Context) ([]drawbridge.RequestCount, error) {
	rows, err := db.read.QueryContext(ctx, countRequestsSQL)
	if err != nil {
		return nil, fmt.Errorf("count requests: %w", err)
	}
	defer rows.Close()
	var out []drawbridge.RequestCount
	for rows.Next() {
		var c drawbridge.RequestCount
		if err := rows.Scan(&c.State, &c.Channel, &c.N, &c.Failing); err != nil {
			return nil, fmt.Errorf("count requests: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// countRequestsSQL reads the counts the request_counts triggers keep
// (migration 00020), so a scrape costs the same at any number of requests.
const countRequestsSQL = `SELECT state, channel, SUM(n), SUM(failing) FROM request_counts
		GROUP BY state, channel HAVING SUM(n) > 0`

// Ping reports whether the database answers (readiness).
func (db *DB) Ping(ctx context.Context) error {
	return db.read.PingContext(ctx)
}
