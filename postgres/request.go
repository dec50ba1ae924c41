package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge"
)

// requestColumns is the column list of every request query, in the order
// scanRequest reads and requestArgs writes them (the same as sqlite's).
const requestColumns = `id, requester, provider, resource, role, duration_ns, reason, ticket, channel, state,
	effect, rule, policy_sha256, decision_reason, approvals_required, approval_timeout_ns, approvals, extends,
	created_at, decided_at, approval_deadline, activated_at, expires_at, ended_at, next_attempt_at, due_at,
	principal_ref, preexisting_access, revoke_attempts, last_error, end_reason, revoked_by, version, provision_attempts,
	provision_started_at, assignment_found, deletes_assignment, grant_ref, notice_at`

var (
	nColumns         = strings.Count(requestColumns, ",") + 1
	insertRequestSQL = `INSERT INTO requests (` + requestColumns + `) VALUES (` + dollars(1, nColumns) + `) ON CONFLICT (id) DO NOTHING`
	// updateRequestSQL sets every column but the id ($1 .. $n-1), then
	// takes the id and the version the caller read.
	updateRequestSQL = func() string {
		cols := strings.Split(requestColumns, ",")[1:]
		set := make([]string, len(cols))
		for i, c := range cols {
			set[i] = strings.TrimSpace(c) + " = $" + strconv.Itoa(i+1)
		}
		return `UPDATE requests SET ` + strings.Join(set, ", ") +
			` WHERE id = $` + strconv.Itoa(len(cols)+1) + ` AND version = $` + strconv.Itoa(len(cols)+2)
	}()
)

// CreateRequest inserts r with version 1 and appends events in the same
// transaction. An event without a RequestID is recorded against r.
func (db *DB) CreateRequest(ctx context.Context, r *drawbridge.Request, events ...drawbridge.AuditEvent) error {
	if err := validateRequest(r); err != nil {
		return err
	}
	args, err := requestArgs(r, 1)
	if err != nil {
		return err
	}
	skew := drawbridge.RequestIDSkew(r.ID, r.CreatedAt)
	err = db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := checkAssignment(ctx, tx, r); err != nil {
			return err
		}
		if err := checkExtension(ctx, tx, r); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, insertRequestSQL, args...)
		if sqlState(err) == foreignKeyViolation {
			return drawbridge.Errorf(drawbridge.EINVALID, "request %s extends %s, which does not exist", r.ID, r.Extends)
		} else if err != nil {
			return fmt.Errorf("create request %s: %w", r.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return drawbridge.Errorf(drawbridge.ECONFLICT, "request %s already exists", r.ID)
		}
		if err := db.raiseIDSkew(ctx, tx, skew); err != nil {
			return err
		}
		events, err := bind(ctx, tx, r, events)
		if err != nil {
			return err
		}
		if err := notifyDue(ctx, tx, r.DueAt()); err != nil {
			return fmt.Errorf("create request %s: %w", r.ID, err)
		}
		return db.appendAudit(ctx, tx, r.ID, events)
	})
	if err != nil {
		return err
	}
	db.sawIDSkew(skew)
	r.Version = 1
	return nil
}

// UpdateRequest writes r if the stored version is still r.Version, and
// appends events in the same transaction. A lost race is
// drawbridge.StaleError (ECONFLICT) and writes nothing, events included.
func (db *DB) UpdateRequest(ctx context.Context, r *drawbridge.Request, events ...drawbridge.AuditEvent) error {
	if err := validateRequest(r); err != nil {
		return err
	}
	args, err := requestArgs(r, r.Version+1)
	if err != nil {
		return err
	}
	args = append(args[1:], r.ID, r.Version)
	skew := drawbridge.RequestIDSkew(r.ID, r.CreatedAt)
	err = db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := checkAssignment(ctx, tx, r); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, updateRequestSQL, args...)
		if sqlState(err) == foreignKeyViolation {
			return drawbridge.Errorf(drawbridge.EINVALID, "request %s extends %s, which does not exist", r.ID, r.Extends)
		} else if err != nil {
			return fmt.Errorf("update request %s: %w", r.ID, err)
		}
		if tag.RowsAffected() == 0 {
			var v int
			err := tx.QueryRow(ctx, `SELECT version FROM requests WHERE id = $1`, r.ID).Scan(&v)
			if errors.Is(err, pgx.ErrNoRows) {
				return notFound(r.ID)
			} else if err != nil {
				return fmt.Errorf("update request %s: %w", r.ID, err)
			}
			return drawbridge.StaleError(r.ID, r.Version)
		}
		if err := db.raiseIDSkew(ctx, tx, skew); err != nil {
			return err
		}
		events, err := bind(ctx, tx, r, events)
		if err != nil {
			return err
		}
		if err := notifyDue(ctx, tx, r.DueAt()); err != nil {
			return fmt.Errorf("update request %s: %w", r.ID, err)
		}
		return db.appendAudit(ctx, tx, r.ID, events)
	})
	if err != nil {
		return err
	}
	db.sawIDSkew(skew)
	r.Version++
	return nil
}

// raiseIDSkew keeps request_id_skew at least skew, in the transaction
// that stores the request (see sqlite's: the skew widens the id range a
// window of creation times is read as). The stored value only grows; a
// process that has already seen it this large skips the write and so the
// row lock.
func (db *DB) raiseIDSkew(ctx context.Context, tx pgx.Tx, skew int64) error {
	if skew <= db.idSkew.Load() {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE request_id_skew SET ms = GREATEST(ms, $1)`, skew); err != nil {
		return fmt.Errorf("raise id skew: %w", err)
	}
	return nil
}

// sawIDSkew records, after a commit, that the stored skew is at least
// skew.
func (db *DB) sawIDSkew(skew int64) {
	for {
		old := db.idSkew.Load()
		if skew <= old || db.idSkew.CompareAndSwap(old, skew) {
			return
		}
	}
}

// GetRequest returns the request with id, or ENOTFOUND.
func (db *DB) GetRequest(ctx context.Context, id string) (*drawbridge.Request, error) {
	r, err := scanRequest(db.pool.QueryRow(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("get request %s: %w", id, err)
	}
	return r, nil
}

// params numbers the bound parameters of a query built piece by piece.
type params []any

func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// ListRequests returns the requests f selects, newest first. Every value
// of f is a bound parameter. PostgreSQL needs none of sqlite's merged
// per-state arms: an ordered scan of the primary key with the filters
// applied stops after the page. A window of creation times is read in a
// REPEATABLE READ snapshot, so the id skew that bounds it (listQuery) and
// the page are one view of the table.
func (db *DB) ListRequests(ctx context.Context, f drawbridge.RequestFilter) ([]*drawbridge.Request, error) {
	if emptyScope(f) {
		return []*drawbridge.Request{}, nil
	}
	limit := f.Limit
	if limit <= 0 {
		limit = drawbridge.DefaultListLimit
	}
	limit = min(limit, drawbridge.MaxListLimit)
	var q querier = db.pool
	if windowed(f) {
		tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return nil, fmt.Errorf("list requests: %w", err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck // read-only
		q = tx
	}
	query, p, err := listQuery(ctx, q, f, requestColumns, limit)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	return db.queryRequestsIn(ctx, q, "list requests", query, p...)
}

// emptyScope reports whether f's scope lets nothing through: a non-nil
// empty list means the caller may see nothing at all.
func emptyScope(f drawbridge.RequestFilter) bool {
	return f.Providers != nil && len(f.Providers) == 0 || f.Resources != nil && len(f.Resources) == 0 || f.Roles != nil && len(f.Roles) == 0
}

func windowed(f drawbridge.RequestFilter) bool {
	return !f.CreatedFrom.IsZero() || !f.CreatedTo.IsZero()
}

// listQuery is the SELECT of columns for one page of f. A window of
// creation times is also a range of ids (they sort like creation times,
// drawbridge.RequestIDRange), so the ordered scan of the primary key starts
// and stops at its ends instead of walking every newer row; q must then be
// a REPEATABLE READ transaction, in which the skew that widens the range
// is read.
func listQuery(ctx context.Context, q querier, f drawbridge.RequestFilter, columns string, limit int) (string, params, error) {
	var where []string
	var p params
	eq := func(col, val string) {
		if val != "" {
			where = append(where, col+" = "+p.add(val))
		}
	}
	in := func(col string, vals []string) {
		if vals != nil {
			where = append(where, col+" = ANY("+p.add(vals)+")")
		}
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, s := range f.States {
			states[i] = string(s)
		}
		in("state", states)
	}
	eq("requester", f.Requester)
	eq("provider", f.Provider)
	eq("resource", f.Resource)
	eq("role", f.Role)
	in("provider", f.Providers)
	in("resource", f.Resources)
	in("role", f.Roles)
	if f.PreexistingOnly {
		where = append(where, "preexisting_access")
	}
	var lo, hi string
	if windowed(f) {
		var skew int64
		if err := q.QueryRow(ctx, `SELECT ms FROM request_id_skew`).Scan(&skew); err != nil {
			return "", nil, fmt.Errorf("id skew: %w", err)
		}
		lo, hi, _ = drawbridge.RequestIDRange(f.CreatedFrom, f.CreatedTo, skew)
	}
	if !f.CreatedFrom.IsZero() {
		where = append(where, "created_at >= "+p.add(f.CreatedFrom.UnixNano()))
	}
	if !f.CreatedTo.IsZero() {
		where = append(where, "created_at < "+p.add(f.CreatedTo.UnixNano()))
	}
	if f.Cursor != "" && (hi == "" || f.Cursor < hi) {
		hi = f.Cursor
	}
	if lo != "" {
		where = append(where, "id >= "+p.add(lo))
	}
	if hi != "" {
		where = append(where, "id < "+p.add(hi))
	}
	query := `SELECT ` + columns + ` FROM requests`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	return query + ` ORDER BY id DESC LIMIT ` + p.add(limit), p, nil
}

// exportColumns are the columns of drawbridge.ExportFields, in the order
// ExportRequests scans them.
const exportColumns = `id, state, requester, provider, resource, role, duration_ns, reason, ticket, channel,
	rule, policy_sha256, decision_reason, approvals, created_at, decided_at, activated_at, expires_at, ended_at, end_reason, last_error`

// ExportRequests streams the requests f selects (see
// drawbridge.RequestExporter): batches of ExportBatch rows, each one
// REPEATABLE READ snapshot with the list's query, scanning only
// exportColumns.
func (db *DB) ExportRequests(ctx context.Context, f drawbridge.RequestFilter, fn func(*drawbridge.Request) error) error {
	if emptyScope(f) {
		return nil
	}
	left := f.Limit
	var r drawbridge.Request
	for {
		batch := drawbridge.ExportBatch
		if f.Limit > 0 {
			batch = min(batch, left)
		}
		n, err := db.exportBatch(ctx, f, batch, &r, fn)
		if err != nil {
			return err
		}
		left -= n
		if n < batch || f.Limit > 0 && left <= 0 {
			return nil
		}
		f.Cursor = r.ID
	}
}

func (db *DB) exportBatch(ctx context.Context, f drawbridge.RequestFilter, batch int, r *drawbridge.Request, fn func(*drawbridge.Request) error) (int, error) {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, fmt.Errorf("export requests: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	query, p, err := listQuery(ctx, tx, f, exportColumns, batch)
	if err != nil {
		return 0, fmt.Errorf("export requests: %w", err)
	}
	rows, err := tx.Query(ctx, query, p...)
	if err != nil {
		return 0, fmt.Errorf("export requests: %w", err)
	}
	defer rows.Close()
	var (
		duration                                    int64
		state, channel, approvals                   string
		created, decided, activated, expires, ended sql.NullInt64
	)
	n := 0
	for rows.Next() {
		err := rows.Scan(&r.ID, &state, &r.Requester, &r.Provider, &r.Resource, &r.Role, &duration, &r.Reason, &r.Ticket, &channel,
			&r.Decision.Rule, &r.Decision.PolicySHA, &r.Decision.Reason, &approvals,
			&created, &decided, &activated, &expires, &ended, &r.EndReason, &r.LastError)
		if err != nil {
			return n, fmt.Errorf("export requests: %w", err)
		}
		r.State, r.Channel, r.Duration = drawbridge.State(state), drawbridge.Channel(channel), time.Duration(duration)
		r.CreatedAt, r.DecidedAt, r.ActivatedAt = fromNanos(created), fromNanos(decided), fromNanos(activated)
		r.ExpiresAt, r.EndedAt = fromNanos(expires), fromNanos(ended)
		if err := decodeApprovals(r, approvals); err != nil {
			return n, err
		}
		n++
		if err := fn(r); err != nil {
			return n, err
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("export requests: %w", err)
	}
	return n, nil
}

// DueRequests returns up to limit (default 100) requests whose due time —
// the row's, or the one of the state the audit chain recorded last
// (request_bindings) — is at or before now, earliest first. Each source
// is read in index order up to limit: the first limit requests by their
// earlier due time are among those.
func (db *DB) DueRequests(ctx context.Context, now time.Time, limit int) ([]*drawbridge.Request, error) {
	if limit <= 0 {
		limit = drawbridge.DefaultListLimit
	}
	return db.queryRequests(ctx, "due requests", `WITH due (id, d) AS (
			(SELECT id, due_at FROM requests
				WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at, id LIMIT $2)
			UNION ALL
			(SELECT request_id, chain_due FROM request_bindings
				WHERE chain_due <= $1 ORDER BY chain_due, request_id LIMIT $2))
		SELECT `+requestColumns+` FROM requests
		JOIN (SELECT id AS due_id, MIN(d) AS first_due FROM due GROUP BY id) first ON id = due_id
		ORDER BY first_due, id LIMIT $2`, now.UnixNano(), limit)
}

// NextDue returns the earliest due time of any request, its row's or its
// recorded state's.
func (db *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	var n sql.NullInt64
	err := db.pool.QueryRow(ctx, `SELECT LEAST(
		(SELECT MIN(due_at) FROM requests WHERE due_at IS NOT NULL),
		(SELECT MIN(chain_due) FROM request_bindings))`).Scan(&n)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due request: %w", err)
	}
	if !n.Valid {
		return time.Time{}, false, nil
	}
	return fromNanos(n), true, nil
}

// checkAssignment keeps the Store's rule that an assignment is never
// provisioned and deleted at once (see sqlite's). It first takes the
// assignment's advisory lock, held to the end of the transaction: every
// write that could change the answer takes the same lock, so the check
// below reads committed rows no concurrent transaction can still change,
// and READ COMMITTED takes a fresh snapshot for it after the wait.
func checkAssignment(ctx context.Context, tx pgx.Tx, r *drawbridge.Request) error {
	var states []string
	claimOnly := false
	switch {
	case r.State == drawbridge.StateProvisioning:
		states, claimOnly = []string{string(drawbridge.StateRevoking)}, true
	case r.State == drawbridge.StateRevoking && r.DeletesAssignment:
		states = []string{string(drawbridge.StateProvisioning), string(drawbridge.StateActive)}
	default:
		return nil
	}
	if r.PrincipalRef == "" {
		return nil
	}
	if err := lockKey(ctx, tx, assignmentKey(r)); err != nil {
		return fmt.Errorf("lock assignment of %s: %w", r.ID, err)
	}
	q := `SELECT id, state FROM requests
		WHERE provider = $1 AND resource = $2 AND role = $3 AND principal_ref = $4 AND id != $5
		AND state = ANY($6)`
	if claimOnly {
		q += ` AND deletes_assignment`
	}
	var holder, state string
	err := tx.QueryRow(ctx, q+` LIMIT 1`, r.Provider, r.Resource, r.Role, r.PrincipalRef, r.ID, states).Scan(&holder, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("check assignment of %s: %w", r.ID, err)
	}
	return &drawbridge.AssignmentBusyError{Request: r.ID, Holder: holder, HolderState: drawbridge.State(state),
		Assignment: drawbridge.Assignment{Entitlement: r.Entitlement, PrincipalRef: r.PrincipalRef}}
}

// assignmentKey names an assignment for its advisory lock; the parts are
// length-prefixed so that no two assignments share a key.
func assignmentKey(r *drawbridge.Request) string {
	var b strings.Builder
	b.WriteString("assignment")
	for _, s := range []string{r.Provider, r.Resource, r.Role, r.PrincipalRef} {
		fmt.Fprintf(&b, "|%d:%s", len(s), s)
	}
	return b.String()
}

// checkExtension keeps the Store's one-live-extension rule under the
// extended request's advisory lock, which every new live extension of it
// takes first.
func checkExtension(ctx context.Context, tx pgx.Tx, r *drawbridge.Request) error {
	if r.Extends == "" || r.State.Terminal() {
		return nil
	}
	if err := lockKey(ctx, tx, "extends|"+r.Extends); err != nil {
		return fmt.Errorf("lock extensions of %s: %w", r.Extends, err)
	}
	var other, state string
	err := tx.QueryRow(ctx, `SELECT id, state FROM requests WHERE extends = $1 AND id != $2
		AND state IN ('PENDING_APPROVAL', 'APPROVED', 'PROVISIONING', 'ACTIVE') LIMIT 1`, r.Extends, r.ID).Scan(&other, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("check extensions of %s: %w", r.Extends, err)
	}
	return drawbridge.Errorf(drawbridge.ECONFLICT, "request %s already has extension %s (%s): extend that one instead once it is ACTIVE, or cancel it",
		r.Extends, other, state)
}

// AssignmentGrants returns the requests of assignment a that reached
// provisioning and had not ended before since, oldest first.
func (db *DB) AssignmentGrants(ctx context.Context, a drawbridge.Assignment, since time.Time) ([]*drawbridge.Request, error) {
	rs, err := db.queryRequests(ctx, "assignment grants", `SELECT `+requestColumns+` FROM requests
		WHERE provider = $1 AND resource = $2 AND role = $3 AND principal_ref = $4
		AND (state IN ($5, $6, $7) OR ended_at >= $8)`,
		a.Provider, a.Resource, a.Role, a.PrincipalRef,
		string(drawbridge.StateProvisioning), string(drawbridge.StateActive), string(drawbridge.StateRevoking), since.UnixNano())
	if err != nil {
		return nil, err
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	return rs, nil
}

func (db *DB) queryRequests(ctx context.Context, what, query string, args ...any) ([]*drawbridge.Request, error) {
	return db.queryRequestsIn(ctx, db.pool, what, query, args...)
}

// querier is the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (db *DB) queryRequestsIn(ctx context.Context, q querier, what, query string, args ...any) ([]*drawbridge.Request, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []*drawbridge.Request{}
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

func notFound(id string) error {
	return drawbridge.Errorf(drawbridge.ENOTFOUND, "request %s not found", id)
}

// validateRequest refuses what the schema cannot hold faithfully.
func validateRequest(r *drawbridge.Request) error {
	if r.ID == "" {
		return drawbridge.Errorf(drawbridge.EINVALID, "request has no id")
	}
	if r.CreatedAt.IsZero() {
		return drawbridge.Errorf(drawbridge.EINVALID, "request %s has no created_at", r.ID)
	}
	if _, err := drawbridge.ParseState(string(r.State)); err != nil {
		return drawbridge.Errorf(drawbridge.EINVALID, "request %s: cannot store state %q", r.ID, r.State)
	}
	for name, t := range map[string]time.Time{
		"created_at": r.CreatedAt, "decided_at": r.DecidedAt, "approval_deadline": r.ApprovalDeadline,
		"activated_at": r.ActivatedAt, "expires_at": r.ExpiresAt, "ended_at": r.EndedAt,
		"next_attempt_at": r.NextAttemptAt, "provision_started_at": r.ProvisionStartedAt, "notice_at": r.NoticeAt,
	} {
		if err := checkTime(name, t); err != nil {
			return drawbridge.Errorf(drawbridge.EINVALID, "request %s: %s", r.ID, drawbridge.ErrorMessage(err))
		}
	}
	for _, a := range r.Approvals {
		if err := checkTime("approval time", a.At); err != nil {
			return drawbridge.Errorf(drawbridge.EINVALID, "request %s: %s", r.ID, drawbridge.ErrorMessage(err))
		}
	}
	return nil
}

// requestArgs returns r's column values in requestColumns order, with the
// given version.
func requestArgs(r *drawbridge.Request, version int) ([]any, error) {
	approvals := r.Approvals
	if approvals == nil {
		approvals = []drawbridge.Approval{}
	}
	aj, err := json.Marshal(approvals)
	if err != nil {
		return nil, fmt.Errorf("request %s: encode approvals: %w", r.ID, err)
	}
	var extends sql.NullString
	if r.Extends != "" {
		extends = sql.NullString{String: r.Extends, Valid: true}
	}
	d := r.Decision
	return []any{
		r.ID, r.Requester, r.Provider, r.Resource, r.Role, int64(r.Duration), r.Reason, r.Ticket, string(r.Channel), string(r.State),
		string(d.Effect), d.Rule, d.PolicySHA, d.Reason, d.ApprovalsRequired, int64(d.ApprovalTimeout), string(aj), extends,
		nanos(r.CreatedAt), nanos(r.DecidedAt), nanos(r.ApprovalDeadline), nanos(r.ActivatedAt), nanos(r.ExpiresAt),
		nanos(r.EndedAt), nanos(r.NextAttemptAt), nanos(r.DueAt()),
		r.PrincipalRef, r.PreexistingAccess, r.RevokeAttempts, r.LastError, r.EndReason, r.RevokedBy, version, r.ProvisionAttempts,
		nanos(r.ProvisionStartedAt), r.AssignmentFound, r.DeletesAssignment, r.GrantRef, nanos(r.NoticeAt),
	}, nil
}

func scanRequest(s pgx.Row) (*drawbridge.Request, error) {
	var (
		r                                     drawbridge.Request
		duration, timeout                     int64
		channel, state, effect, approvals     string
		extends                               sql.NullString
		created, decided, deadline, activated sql.NullInt64
		expires, ended, nextAttempt, due      sql.NullInt64
		provisionStarted, notice              sql.NullInt64
	)
	err := s.Scan(
		&r.ID, &r.Requester, &r.Provider, &r.Resource, &r.Role, &duration, &r.Reason, &r.Ticket, &channel, &state,
		&effect, &r.Decision.Rule, &r.Decision.PolicySHA, &r.Decision.Reason, &r.Decision.ApprovalsRequired, &timeout, &approvals, &extends,
		&created, &decided, &deadline, &activated, &expires, &ended, &nextAttempt, &due,
		&r.PrincipalRef, &r.PreexistingAccess, &r.RevokeAttempts, &r.LastError, &r.EndReason, &r.RevokedBy, &r.Version, &r.ProvisionAttempts,
		&provisionStarted, &r.AssignmentFound, &r.DeletesAssignment, &r.GrantRef, &notice,
	)
	if err != nil {
		return nil, err
	}
	r.Duration = time.Duration(duration)
	r.Channel = drawbridge.Channel(channel)
	r.State = drawbridge.State(state)
	r.Decision.Effect = drawbridge.Effect(effect)
	r.Decision.ApprovalTimeout = time.Duration(timeout)
	r.Extends = extends.String
	r.CreatedAt, r.DecidedAt, r.ApprovalDeadline = fromNanos(created), fromNanos(decided), fromNanos(deadline)
	r.ActivatedAt, r.ExpiresAt, r.EndedAt = fromNanos(activated), fromNanos(expires), fromNanos(ended)
	r.NextAttemptAt = fromNanos(nextAttempt)
	r.ProvisionStartedAt = fromNanos(provisionStarted)
	r.NoticeAt = fromNanos(notice)
	if err := decodeApprovals(&r, approvals); err != nil {
		return nil, err
	}
	return &r, nil
}

// decodeApprovals sets r.Approvals from the approvals column ("[]", the
// common case, without the decoder).
func decodeApprovals(r *drawbridge.Request, approvals string) error {
	r.Approvals = nil
	if approvals == "[]" {
		return nil
	}
	if err := json.Unmarshal([]byte(approvals), &r.Approvals); err != nil {
		return fmt.Errorf("request %s: decode approvals: %w", r.ID, err)
	}
	if len(r.Approvals) == 0 {
		r.Approvals = nil
	}
	for i := range r.Approvals {
		r.Approvals[i].At = r.Approvals[i].At.UTC()
	}
	return nil
}

// dollars returns "$from, …, $(from+n-1)".
func dollars(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ps, ", ")
}
