package sqlite

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

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/drawbridge-jit/drawbridge"
)

// requestColumns is the column list of every request query, in the order
// scanRequest reads and requestArgs writes them.
const requestColumns = `id, requester, provider, resource, role, duration_ns, reason, ticket, channel, state,
	effect, rule, policy_sha256, decision_reason, approvals_required, approval_timeout_ns, approvals, extends,
	created_at, decided_at, approval_deadline, activated_at, expires_at, ended_at, next_attempt_at, due_at,
	principal_ref, preexisting_access, revoke_attempts, last_error, end_reason, revoked_by, version, provision_attempts,
	provision_started_at, assignment_found, deletes_assignment, grant_ref, notice_at`

// insertRequestSQL and updateRequestSQL write every column; the update
// takes the id and the version the caller read last.
var (
	insertRequestSQL = `INSERT INTO requests (` + requestColumns + `) VALUES (` +
		placeholders(strings.Count(requestColumns, ",")+1) + `) ON CONFLICT (id) DO NOTHING`
	updateRequestSQL = func() string {
		cols := strings.Split(requestColumns, ",")[1:]
		set := make([]string, len(cols))
		for i, c := range cols {
			set[i] = strings.TrimSpace(c) + " = ?"
		}
		return `UPDATE requests SET ` + strings.Join(set, ", ") + ` WHERE id = ? AND version = ?`
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
	err = db.inWriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := checkAssignment(ctx, tx, r); err != nil {
			return err
		}
		if err := checkExtension(ctx, tx, r); err != nil {
			return err
		}
		res, err := tx.StmtContext(ctx, db.stmts.insertRequest).ExecContext(ctx, args...)
		if isForeignKeyError(err) {
			return drawbridge.Errorf(drawbridge.EINVALID, "request %s extends %s, which does not exist", r.ID, r.Extends)
		} else if err != nil {
			return fmt.Errorf("create request %s: %w", r.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("create request %s: %w", r.ID, err)
		} else if n == 0 {
			return drawbridge.Errorf(drawbridge.ECONFLICT, "request %s already exists", r.ID)
		}
		if err := db.raiseIDSkew(ctx, tx, skew); err != nil {
			return err
		}
		events, err := bind(ctx, tx, r, events)
		if err != nil {
			return err
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
	// args[0] is the id: every other column is SET, then the WHERE clause
	// takes the id and the version the caller read.
	args = append(args[1:], r.ID, r.Version)
	skew := drawbridge.RequestIDSkew(r.ID, r.CreatedAt)

	err = db.inWriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := checkAssignment(ctx, tx, r); err != nil {
			return err
		}
		res, err := tx.StmtContext(ctx, db.stmts.updateRequest).ExecContext(ctx, args...)
		if isForeignKeyError(err) {
			return drawbridge.Errorf(drawbridge.EINVALID, "request %s extends %s, which does not exist", r.ID, r.Extends)
		} else if err != nil {
			return fmt.Errorf("update request %s: %w", r.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("update request %s: %w", r.ID, err)
		}
		if n == 0 {
			var v int
			err := tx.StmtContext(ctx, db.stmts.requestVersion).QueryRowContext(ctx, r.ID).Scan(&v)
			if errors.Is(err, sql.ErrNoRows) {
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
// that stores the request, so no reader sees the row without the skew
// that covers it. The stored value only grows; a process that has
// already seen it this large skips the write (the common case: the
// broker's ids are taken within a millisecond of CreatedAt).
func (db *DB) raiseIDSkew(ctx context.Context, tx *sql.Tx, skew int64) error {
	if skew <= db.idSkew.Load() {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE request_id_skew SET ms = max(ms, ?)`, skew); err != nil {
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
	r, err := scanRequest(db.stmts.getRequest.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("get request %s: %w", id, err)
	}
	return r, nil
}

// ListRequests returns the requests f selects, newest first. Every value
// of f but the page size (written into the text, see limitClause) is a
// bound parameter; only the shape of the query depends on which fields are
// set. The query reads an index in id order and stops after the page (see
// listQuery); what it needs to know first (an account's permission sets,
// the id skew for a window) is read in the same read transaction, so that
// everything sees one snapshot. A list that needs nothing first is one
// query outside a transaction, so that its statement is prepared once.
func (db *DB) ListRequests(ctx context.Context, f drawbridge.RequestFilter) ([]*drawbridge.Request, error) {
	// A non-nil empty scope means the caller may see nothing at all.
	if f.Providers != nil && len(f.Providers) == 0 || f.Resources != nil && len(f.Resources) == 0 || f.Roles != nil && len(f.Roles) == 0 {
		return []*drawbridge.Request{}, nil
	}
	limit := listLimit(f.Limit)
	if !listReadsStore(f) {
		// Nothing to read before the page: it is one query, outside a
		// transaction, so that its statement is prepared once (see
		// queryRequests).
		query, args := listQuery(f, listInputs{skew: drawbridge.NoIDSkew}, requestColumns, limit)
		traceList(query, args)
		return db.queryRequests(ctx, "list requests", db.read, query, args...)
	}
	// What listQuery needs from the store (an account's permission sets,
	// the id skew) is read in the same read transaction as the page, so
	// that both see one snapshot.
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	li, err := listInputsIn(ctx, tx, f)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	query, args := listQuery(f, li, requestColumns, limit)
	traceList(query, args)
	return db.queryRequests(ctx, "list requests", tx, query, args...)
}

// listInputsIn reads, in tx, what listQuery needs from the store for f.
func listInputsIn(ctx context.Context, tx *sql.Tx, f drawbridge.RequestFilter) (listInputs, error) {
	li := listInputs{skew: drawbridge.NoIDSkew}
	var err error
	if listReadsRoles(f) {
		if li.accountRoles, err = accountRoles(ctx, tx, f.Resource); err != nil {
			return li, err
		}
	}
	if listReadsSkew(f) {
		if err := tx.QueryRowContext(ctx, `SELECT ms FROM request_id_skew`).Scan(&li.skew); err != nil {
			return li, fmt.Errorf("id skew: %w", err)
		}
	}
	return li, nil
}

// listReadsRoles says listQuery needs the permission sets requested on
// f.Resource: an account without a permission set is split by them.
func listReadsRoles(f drawbridge.RequestFilter) bool {
	return f.Resource != "" && f.Role == "" && f.Roles == nil
}

// listReadsSkew says listQuery needs request_id_skew: a window of creation
// times bounds the id by it.
func listReadsSkew(f drawbridge.RequestFilter) bool {
	return !f.CreatedFrom.IsZero() || !f.CreatedTo.IsZero()
}

// listReadsStore says listQuery needs anything from the store for f.
func listReadsStore(f drawbridge.RequestFilter) bool {
	return listReadsRoles(f) || listReadsSkew(f)
}

// listLimit is the page size ListRequests reads for limit.
func listLimit(limit int) int {
	if limit <= 0 {
		return drawbridge.DefaultListLimit
	}
	return min(limit, drawbridge.MaxListLimit)
}

// exportColumns are the columns of drawbridge.ExportFields, in the order
// ExportRequests scans them.
const exportColumns = `id, state, requester, provider, resource, role, duration_ns, reason, ticket, channel,
	rule, policy_sha256, decision_reason, approvals, created_at, decided_at, activated_at, expires_at, ended_at, end_reason, last_error`

// ExportRequests streams the requests f selects (see
// drawbridge.RequestExporter): batches of ExportBatch rows, each one read
// transaction with the list's query shape, scanning only exportColumns.
func (db *DB) ExportRequests(ctx context.Context, f drawbridge.RequestFilter, fn func(*drawbridge.Request) error) error {
	if f.Providers != nil && len(f.Providers) == 0 || f.Resources != nil && len(f.Resources) == 0 || f.Roles != nil && len(f.Roles) == 0 {
		return nil
	}
	left := f.Limit
	var r drawbridge.Request
	var e exportScan
	for {
		batch := drawbridge.ExportBatch
		if f.Limit > 0 {
			batch = min(batch, left)
		}
		n, err := db.exportBatch(ctx, f, batch, &r, &e, fn)
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

func (db *DB) exportBatch(ctx context.Context, f drawbridge.RequestFilter, batch int, r *drawbridge.Request, e *exportScan, fn func(*drawbridge.Request) error) (int, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, fmt.Errorf("export requests: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	li, err := listInputsIn(ctx, tx, f)
	if err != nil {
		return 0, fmt.Errorf("export requests: %w", err)
	}
	query, args := listQuery(f, li, exportColumns, batch)
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("export requests: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if err := e.scan(rows, r); err != nil {
			return n, fmt.Errorf("export requests: %w", err)
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

// exportScan holds the scan targets of exportColumns, reused row after row.
type exportScan struct {
	duration                                    int64
	state, channel, approvals                   string
	created, decided, activated, expires, ended sql.NullInt64
}

func (e *exportScan) scan(rows *sql.Rows, r *drawbridge.Request) error {
	err := rows.Scan(&r.ID, &e.state, &r.Requester, &r.Provider, &r.Resource, &r.Role, &e.duration, &r.Reason, &r.Ticket, &e.channel,
		&r.Decision.Rule, &r.Decision.PolicySHA, &r.Decision.Reason, &e.approvals,
		&e.created, &e.decided, &e.activated, &e.expires, &e.ended, &r.EndReason, &r.LastError)
	if err != nil {
		return err
	}
	r.State, r.Channel, r.Duration = drawbridge.State(e.state), drawbridge.Channel(e.channel), time.Duration(e.duration)
	r.CreatedAt, r.DecidedAt, r.ActivatedAt = fromNanos(e.created), fromNanos(e.decided), fromNanos(e.activated)
	r.ExpiresAt, r.EndedAt = fromNanos(e.expires), fromNanos(e.ended)
	return decodeApprovals(r, e.approvals)
}

// listInputs is what listQuery needs from the store besides the filter.
type listInputs struct {
	accountRoles []string // the permission sets requested on f.Resource
	skew         int64    // request_id_skew, NoIDSkew when not read
}

// listQuery is the SELECT for one page of f. Each page is read in id order
// from an index and stops after the page, rather than finding every match
// and sorting it:
//   - several states, an account's permission sets, a scope's accounts or
//     providers become one SELECT each ("arms") that reads (state, id),
//     (resource, role, id), (resource, id) or (provider, id) newest first;
//     SQLite merges them (MERGE (UNION ALL)). The arms are disjoint (a
//     request has one state, role, resource and provider), so the rows are
//     exactly those of the single query.
//   - a window of creation times also bounds the id (RequestIDRange), so
//     each read starts and stops at the window's ends.
//   - a scope's lists are written "+col IN (…)" when they do not make arms:
//     the unary plus keeps SQLite from reading them through an index and
//     sorting, which is what it preferred (3.2 s for a scoped first page).
func listQuery(f drawbridge.RequestFilter, li listInputs, columns string, limit int) (string, []any) {
	var where []string
	var args []any
	cond := func(c string, a ...any) {
		where = append(where, c)
		args = append(args, a...)
	}
	in := func(col string, vals []string) {
		cond(col+" IN ("+placeholders(len(vals))+")", strs(vals)...)
	}
	eq := func(col, val string) {
		if val != "" {
			cond(col+" = ?", val)
		}
	}
	// The arms' dimensions, most selective first. States and an account's
	// permission sets are always split (or the query falls back to one
	// sort); a scope's accounts or providers only when nothing narrower
	// drives the read and the arms stay few.
	var dims []dim
	var states []string
	for _, s := range f.States {
		states = append(states, string(s))
	}
	if len(states) > 1 {
		dims = append(dims, dim{"state", states})
	} else if len(states) == 1 {
		eq("state", states[0])
	}
	if f.Resource != "" && f.Role == "" {
		roles := li.accountRoles
		if f.Roles != nil {
			roles = f.Roles
		}
		if len(roles) == 0 { // the account has no request: match nothing
			return `SELECT ` + columns + ` FROM requests WHERE 0 LIMIT 0`, nil
		}
		dims = append(dims, dim{"role", roles})
	} else if f.Roles != nil {
		in("+role", f.Roles)
	}
	if arms(dims) > maxArms {
		// Too many arms: one query, sorted by SQLite.
		for _, d := range dims {
			in(d.col, d.vals)
		}
		dims = nil
	}
	narrow := f.Requester != "" || f.Resource != "" || f.Role != "" || len(states) == 1
	for _, sc := range []struct {
		col   string
		scope []string
	}{{"resource", f.Resources}, {"provider", f.Providers}} {
		switch {
		case sc.scope == nil:
		case !narrow && arms(dims)*len(sc.scope) <= maxArms:
			dims = append(dims, dim{sc.col, sc.scope})
			narrow = true
		default:
			in("+"+sc.col, sc.scope)
		}
	}
	eq("requester", f.Requester)
	eq("provider", f.Provider)
	eq("resource", f.Resource)
	eq("role", f.Role)
	if f.PreexistingOnly {
		cond("preexisting_access")
	}
	lo, hi, bounded := drawbridge.RequestIDRange(f.CreatedFrom, f.CreatedTo, li.skew)
	// With the id bounding the window, created_at only filters: the plus
	// keeps SQLite from reading the window through requests_created and
	// sorting it.
	created := "created_at"
	if bounded {
		created = "+created_at"
	}
	if !f.CreatedFrom.IsZero() {
		cond(created+" >= ?", f.CreatedFrom.UnixNano())
	}
	if !f.CreatedTo.IsZero() {
		cond(created+" < ?", f.CreatedTo.UnixNano())
	}
	if f.Cursor != "" && (hi == "" || f.Cursor < hi) {
		hi = f.Cursor
	}
	if lo != "" {
		cond("id >= ?", lo)
	}
	if hi != "" {
		cond("id < ?", hi)
	}
	// One SELECT per combination of the dimensions' values.
	selects := []string{selectRequests(columns, where)}
	all := args
	if len(dims) > 0 {
		selects, all = nil, nil
		var walk func(i int, w []string, a []any)
		walk = func(i int, w []string, a []any) {
			if i == len(dims) {
				selects = append(selects, selectRequests(columns, w))
				all = append(all, a...)
				return
			}
			for _, v := range dims[i].vals {
				walk(i+1, append(w[:len(w):len(w)], dims[i].col+" = ?"), append(a[:len(a):len(a)], v))
			}
		}
		walk(0, where, args)
	}
	return strings.Join(selects, " UNION ALL ") + ` ORDER BY id DESC` + limitClause(limit), all
}

// dim is one column listQuery splits into arms, with its values.
type dim struct {
	col  string
	vals []string
}

// arms is how many SELECTs the dimensions make.
func arms(dims []dim) int {
	n := 1
	for _, d := range dims {
		n *= len(d.vals)
	}
	return n
}

func strs(vals []string) []any {
	a := make([]any, len(vals))
	for i, v := range vals {
		a[i] = v
	}
	return a
}

func selectRequests(columns string, where []string) string {
	q := `SELECT ` + columns + ` FROM requests`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	return q
}

// maxArms bounds how many SELECTs listQuery joins (SQLite allows 500).
const maxArms = 64

// accountRoles returns the distinct roles requested on resource, at most
// maxArms+1 of them, with one index seek each (a loose scan of the
// (resource, role, id) index) rather than a walk of all the account's rows.
func accountRoles(ctx context.Context, tx *sql.Tx, resource string) ([]string, error) {
	var roles []string
	for len(roles) <= maxArms {
		q, a := `SELECT role FROM requests WHERE resource = ? ORDER BY role LIMIT 1`, []any{resource}
		if len(roles) > 0 {
			q, a = `SELECT role FROM requests WHERE resource = ? AND role > ? ORDER BY role LIMIT 1`, []any{resource, roles[len(roles)-1]}
		}
		var role string
		err := tx.QueryRowContext(ctx, q, a...).Scan(&role)
		if errors.Is(err, sql.ErrNoRows) {
			break
		} else if err != nil {
			return nil, err
		}
		roles = append(roles, role)
	}
	return roles, nil
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
	lim := limitClause(limit)
	return db.queryRequests(ctx, "due requests", db.read, `WITH due (id, d) AS (
			SELECT * FROM (SELECT id, due_at FROM requests
				WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY due_at, id`+lim+`)
			UNION ALL
			SELECT * FROM (SELECT request_id, chain_due FROM request_bindings
				WHERE chain_due <= ?1 ORDER BY chain_due, request_id`+lim+`))
		SELECT `+requestColumns+` FROM requests
		JOIN (SELECT id AS due_id, MIN(d) AS first_due FROM due GROUP BY id) ON id = due_id
		ORDER BY first_due, id`+lim, now.UnixNano())
}

// limitClause is " LIMIT n" with n written into the text. A bound LIMIT
// makes SQLite (3.47 and later) read the bound value when it plans the
// query, which marks the statement to be prepared again at every new
// binding: a prepared statement would be parsed and planned on every run.
// n is an int, so the text cannot carry anything else.
func limitClause(n int) string { return " LIMIT " + strconv.Itoa(n) }

// NextDue returns the earliest due time of any request, its row's or its
// recorded state's.
func (db *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	var n sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT MIN(d) FROM (
		SELECT MIN(due_at) AS d FROM requests WHERE due_at IS NOT NULL
		UNION ALL
		SELECT MIN(chain_due) FROM request_bindings)`).Scan(&n)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due request: %w", err)
	}
	if !n.Valid {
		return time.Time{}, false, nil
	}
	return fromNanos(n), true, nil
}

// checkAssignment keeps the Store's rule that an assignment is never
// provisioned and deleted at once: writing r in PROVISIONING needs no other
// request of the assignment REVOKING with a deletion claim, and writing a
// deletion claim needs no other request of it PROVISIONING or ACTIVE. It
// runs inside the write transaction, which holds SQLite's write lock (the
// transactions are IMMEDIATE), so no other writer — in this process or
// another — can change the answer before r is written.
func checkAssignment(ctx context.Context, tx *sql.Tx, r *drawbridge.Request) error {
	var states []drawbridge.State
	claimOnly := false
	switch {
	case r.State == drawbridge.StateProvisioning:
		states, claimOnly = []drawbridge.State{drawbridge.StateRevoking}, true
	case r.State == drawbridge.StateRevoking && r.DeletesAssignment:
		states = []drawbridge.State{drawbridge.StateProvisioning, drawbridge.StateActive}
	default:
		return nil
	}
	if r.PrincipalRef == "" {
		return nil
	}
	q := `SELECT id, state FROM requests
		WHERE provider = ? AND resource = ? AND role = ? AND principal_ref = ? AND id != ?
		AND state IN (` + placeholders(len(states)) + `)`
	args := []any{r.Provider, r.Resource, r.Role, r.PrincipalRef, r.ID}
	for _, st := range states {
		args = append(args, string(st))
	}
	if claimOnly {
		q += ` AND deletes_assignment`
	}
	// No ORDER BY (any holder will do): ordering by id would tempt the
	// planner into walking the (state, id) index over every ACTIVE grant.
	var holder, state string
	err := tx.QueryRowContext(ctx, q+` LIMIT 1`, args...).Scan(&holder, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("check assignment of %s: %w", r.ID, err)
	}
	return &drawbridge.AssignmentBusyError{Request: r.ID, Holder: holder, HolderState: drawbridge.State(state),
		Assignment: drawbridge.Assignment{Entitlement: r.Entitlement, PrincipalRef: r.PrincipalRef}}
}

// checkExtension keeps the Store's one-live-extension rule: a new live
// (not terminal) extension of a grant that already has one is refused.
// The broker checks first and explains; this check, inside the write
// transaction, is what holds when two processes extend at the same
// instant. A recorded refusal (DENIED) is never blocked.
func checkExtension(ctx context.Context, tx *sql.Tx, r *drawbridge.Request) error {
	if r.Extends == "" || r.State.Terminal() {
		return nil
	}
	var other string
	var state string
	err := tx.QueryRowContext(ctx, `SELECT id, state FROM requests WHERE extends = ? AND id != ?
		AND state IN ('PENDING_APPROVAL', 'APPROVED', 'PROVISIONING', 'ACTIVE') LIMIT 1`, r.Extends, r.ID).Scan(&other, &state)
	if errors.Is(err, sql.ErrNoRows) {
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
	// No ORDER BY: it would tempt the planner into walking the (state, id)
	// index over every live grant instead of the assignment index, which
	// finds the handful of rows directly. The few rows are sorted here.
	rs, err := db.queryRequests(ctx, "assignment grants", db.read, `SELECT `+requestColumns+` FROM requests
		WHERE provider = ? AND resource = ? AND role = ? AND principal_ref = ?
		AND (state IN (?, ?, ?) OR ended_at >= ?)`,
		a.Provider, a.Resource, a.Role, a.PrincipalRef,
		string(drawbridge.StateProvisioning), string(drawbridge.StateActive), string(drawbridge.StateRevoking), since.UnixNano())
	if err != nil {
		return nil, err
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	return rs, nil
}

// querier is a pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (db *DB) queryRequests(ctx context.Context, what string, q querier, query string, args ...any) ([]*drawbridge.Request, error) {
	var rows *sql.Rows
	var err error
	// Prepared only outside a transaction: preparing takes a connection of
	// the pool, which a goroutine holding one in a transaction must not
	// wait for.
	_, inTx := q.(*sql.Tx)
	switch st := db.readStmt(ctx, query, !inTx && q == db.read); {
	case st == nil:
		rows, err = q.QueryContext(ctx, query, args...)
	case q == db.read:
		rows, err = st.QueryContext(ctx, args...)
	case inTx:
		rows, err = q.(*sql.Tx).StmtContext(ctx, st).QueryContext(ctx, args...)
	default:
		rows, err = q.QueryContext(ctx, query, args...)
	}
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

// isForeignKeyError reports whether err is SQLite refusing a reference to
// a row that does not exist (requests.extends).
func isForeignKeyError(err error) bool {
	var e *sqlitedriver.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
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

type scanner interface{ Scan(dest ...any) error }

func scanRequest(s scanner) (*drawbridge.Request, error) {
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

// decodeApprovals sets r.Approvals from the approvals column.
func decodeApprovals(r *drawbridge.Request, approvals string) error {
	r.Approvals = nil
	// Most requests have no approvals: "[]" decodes to nothing, and
	// skipping the decoder for it is a sixth of the CPU of an export.
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

// placeholders returns "?, ?, …" for n parameters.
// traceList is a test hook: the plan tests read the query a list ran.
var traceList = func(string, []any) {}

func placeholders(n int) string {
	if n == 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
