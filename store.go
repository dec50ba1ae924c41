package drawbridge

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RequestFilter selects requests for listing. Zero fields do not filter.
// Resources and Roles, when non-nil, are an attribute scope (ABAC): only
// requests whose resource and role are in them are visible, applied inside
// the query.
type RequestFilter struct {
	States    []State
	Requester string
	Provider  string
	Resource  string
	Role      string
	// Providers, Resources and Roles are a caller's scope (Caller.Narrow):
	// nil leaves the attribute unrestricted, a non-nil empty list matches
	// nothing.
	Providers []string
	Resources []string
	Roles     []string
	// PreexistingOnly keeps only grants that found the assignment already
	// in place (recorded standing access).
	PreexistingOnly bool
	CreatedFrom     time.Time // inclusive
	CreatedTo       time.Time // exclusive
	// Cursor is the id of the last request of the previous page; results
	// are ordered newest first (ids are time-sortable).
	Cursor string
	// Limit is the page size: DefaultListLimit when zero or negative, at
	// most MaxListLimit.
	Limit int
}

// Page sizes of ListRequests (and DueRequests' default), the same in every
// store so that paging callers see one behaviour.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// Store persists requests and the audit chain. Every change to a request is
// written in one transaction together with the audit events that record it.
//
// Writes also keep one rule about provider assignments, across every
// process that shares the store: an assignment is never being provisioned
// and deleted at once. A request written in PROVISIONING, while another
// request of the same assignment is REVOKING with DeletesAssignment (a
// deletion claim), is refused; a request written REVOKING with
// DeletesAssignment, while another request of the same assignment is
// PROVISIONING or ACTIVE, is refused. Both refusals are an
// *AssignmentBusyError and write nothing. The check and the write are one
// transaction that excludes every other writer of the assignment: SQLite's
// IMMEDIATE transactions serialise all writers; a PostgreSQL store must take
// a lock per assignment (a row lock on an assignment row, or a
// transaction-scoped advisory lock on its key) before checking, because
// READ COMMITTED alone lets two such transactions both pass.
type Store interface {
	// CreateRequest inserts r (Version becomes 1) and appends events. A
	// live extension of a request that already has a live one (pending,
	// approved, provisioning or ACTIVE) is refused with ECONFLICT naming
	// that one, in the same transaction, so the rule holds across
	// processes.
	CreateRequest(ctx context.Context, r *Request, events ...AuditEvent) error
	// UpdateRequest writes r if the stored version still equals r.Version
	// (optimistic concurrency; ECONFLICT otherwise), increments r.Version
	// and appends events, atomically.
	UpdateRequest(ctx context.Context, r *Request, events ...AuditEvent) error
	// GetRequest returns the request or an ENOTFOUND error.
	GetRequest(ctx context.Context, id string) (*Request, error)
	ListRequests(ctx context.Context, f RequestFilter) ([]*Request, error)
	// RequestExporter streams what ListRequests pages through, for exports.
	RequestExporter
	// DueRequests returns up to limit (DefaultListLimit when zero or
	// negative) requests whose DueAt is at or before now, earliest first,
	// ties by id.
	DueRequests(ctx context.Context, now time.Time, limit int) ([]*Request, error)
	// NextDue returns the earliest DueAt of any request, ok=false if none.
	NextDue(ctx context.Context) (t time.Time, ok bool, err error)
	// AssignmentGrants returns the requests of one provider assignment that
	// reached provisioning and had not ended before since: every live grant
	// (PROVISIONING, ACTIVE, REVOKING) and every grant that ended at or
	// after since, oldest first. It is the history standing access is
	// judged against.
	AssignmentGrants(ctx context.Context, a Assignment, since time.Time) ([]*Request, error)
	// AssignmentHolders returns up to limit (DefaultListLimit when zero or
	// negative) of the requests of one provider and resource that explain
	// an assignment to reconciliation — every live grant (PROVISIONING,
	// ACTIVE, REVOKING) and every recorded standing access
	// (PreexistingAccess, in any state) — ordered by role, principal ref
	// and request id, starting after after (the zero value starts at the
	// beginning). Keyset pages: any number of grants is read in bounded
	// memory, through an index of exactly those rows.
	AssignmentHolders(ctx context.Context, provider, resource string, after AssignmentHolder, limit int) ([]AssignmentHolder, error)
	// LastEndedGrant returns the grant of assignment a that ended last (a
	// terminal state with an end time; ties: the lowest id), or nil when
	// none has ended.
	LastEndedGrant(ctx context.Context, a Assignment) (*Request, error)
	// AppendAudit appends events that record something other than a change
	// of a request (a failed attempt, a denied login).
	AppendAudit(ctx context.Context, events ...AuditEvent) error
	// RequestEvents returns the audit events of one request in order.
	RequestEvents(ctx context.Context, requestID string) ([]AuditEvent, error)
	// ScanAudit calls fn for every audit event in sequence order, streaming.
	ScanAudit(ctx context.Context, fn func(AuditEvent) error) error
	// AuditTreeSize returns the number of committed audit events: the size
	// of the audit log's Merkle tree (package audit).
	AuditTreeSize(ctx context.Context) (int64, error)
	// AuditHashes returns the Merkle tree hashes stored at the given
	// storage indexes (golang.org/x/mod/sumdb/tlog.StoredHashIndex), in
	// that order; ENOTFOUND when one is not stored. The store writes them
	// append-only, in the transaction that appends their event.
	AuditHashes(ctx context.Context, indexes []int64) ([][32]byte, error)
	// AuditAfter returns up to limit audit events whose Seq is greater
	// than after, in sequence order: how a notifier reads its outbox.
	AuditAfter(ctx context.Context, after int64, limit int) ([]AuditEvent, error)
	// LeaseNotifyCursor takes or renews, for holder, the lease on the
	// delivery cursor of notifier name until until: when the cursor is
	// unleased, its lease ended at or before now, or holder already holds
	// it. A cursor seen for the first time is created at the current end of
	// the audit chain (a new notifier starts from now, not from history).
	// When another holder's lease is still running, it returns a stale
	// error (IsStale) naming that holder, and changes nothing.
	LeaseNotifyCursor(ctx context.Context, name, holder string, now, until time.Time) (NotifyCursor, error)
	// AdvanceNotifyCursor moves name's cursor forward to seq, only while
	// holder holds its lease (a stale error otherwise, when another worker
	// took it over); a seq at or behind the cursor changes nothing.
	AdvanceNotifyCursor(ctx context.Context, name, holder string, seq int64) error
	Close() error
}

// DueWatcher is a store that tells every process sharing it when any of
// them wrote a request due at some time (PostgreSQL's LISTEN/NOTIFY), so
// that a request approved on one replica and due in a second is handled
// by whichever replica's expiry engine wakes first, not after the next
// periodic re-read. It is a shortcut: the store stays the record, and an
// engine that misses an announcement still finds the request when it
// re-reads (expiry.max_sleep).
type DueWatcher interface {
	// WatchDue calls fn with the due time of each request written, until
	// ctx ends, and with the zero time whenever it (re)starts listening:
	// what was written while it was not listening must be re-read.
	// Connection failures go to failed (nil: ignored) and are retried.
	WatchDue(ctx context.Context, fn func(due time.Time), failed func(error))
}

// AssignmentHolder is one row of Store.AssignmentHolders: the request
// RequestID explains Assignment, as a grant in State (activated at
// ActivatedAt when it got that far) or as recorded standing access.
type AssignmentHolder struct {
	Assignment
	RequestID         string
	State             State
	PreexistingAccess bool
	ActivatedAt       time.Time
}

// RequestExporter streams the requests a filter selects, for the CSV
// exports: newest first, starting after f.Cursor, at most f.Limit of them
// (every one when f.Limit is zero or negative). A store reads them in
// large batches, each its own snapshot, and only the fields ExportFields
// names; fn gets one *Request that is reused for the next row, so it must
// not keep it. fn runs while a batch is being read: a slow fn holds that
// read open (on SQLite the write-ahead log cannot be checkpointed past it).
// An error from fn stops the export and is returned.
type RequestExporter interface {
	ExportRequests(ctx context.Context, f RequestFilter, fn func(*Request) error) error
}

// ExportFields are the fields of the *Request RequestExporter fills: the
// columns of a request CSV (audit.RequestHeader). The others are zero.
const ExportFields = "ID, State, Requester, Entitlement, Duration, Reason, Ticket, Channel, Decision.Rule, " +
	"Decision.PolicySHA, Decision.Reason, Approvals, CreatedAt, DecidedAt, ActivatedAt, ExpiresAt, EndedAt, EndReason, LastError"

// ExportBatch is how many rows a RequestExporter reads per query.
const ExportBatch = 10000

// RequestCounter counts requests for the gauges of /metrics.
type RequestCounter interface {
	// CountRequests returns how many requests are in each state through
	// each channel (pairs with none are left out), and how many of them
	// have failed revocation attempts.
	CountRequests(ctx context.Context) ([]RequestCount, error)
}

// Pinger answers readiness probes.
type Pinger interface {
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
}

// Backend is one store implementation as the wiring sees it: requests and
// the audit chain, tokens, counts and readiness, all on one database.
// cmd/drawbridge opens the one store.driver names; everything else takes
// the interface it needs. internal/storetest is the suite every
// implementation passes.
type Backend interface {
	Store
	TokenStore
	RequestCounter
	Pinger
	ReplayGuard
	GroupMembershipStore
	Leaser
}

// Leaser hands out named leases shared by every process on the store, for
// periodic jobs one replica should run at a time (drift reconciliation):
// the holder runs the job, the others skip it, and when the holder dies
// another takes over once its lease ended.
type Leaser interface {
	// TakeLease gives the lease name to holder until until and reports
	// true when it is free, ended at or before now, or already holder's;
	// otherwise it reports false and changes nothing. Of several holders
	// asking at once, from any process, at most one gets it.
	TakeLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
}

// ReplayGuard remembers single-use keys — the signature of a Slack request
// — in the store, so that a request replayed to another replica, or after
// a restart, is still recognised within its validity window.
type ReplayGuard interface {
	// FirstUse records key as used until expires and reports whether it
	// was unused: false when key was recorded before and has not expired
	// at now. Exactly one of several concurrent calls with one key, from
	// any process sharing the store, gets true. Expired keys are
	// forgotten, so the memory stays as small as the window.
	FirstUse(ctx context.Context, key string, now, expires time.Time) (bool, error)
}

// NotifyCursor is one notifier's position in the audit chain (the
// outbox): Seq is the last event it has finished with, delivered or found
// to need no notification. Holder's lease, until LeaseUntil, makes it the
// one worker delivering for this notifier among every process sharing the
// store.
type NotifyCursor struct {
	Name       string
	Seq        int64
	Holder     string
	LeaseUntil time.Time
}

// LeaseHeldError is a notifier cursor lease refused because holder holds
// it until until; like a lost optimistic update it is stale (IsStale):
// the caller tries again later.
func LeaseHeldError(name, holder string, until time.Time) error {
	return &Error{Code: ECONFLICT, Message: fmt.Sprintf("notifier %s is delivered by %s until %s", name, holder, until.Format(time.RFC3339)), stale: true}
}

// DueAt is when the expiry engine must next look at r, zero if never:
// the approval deadline of a pending request, the pre-expiry notice or else
// the expiry of an active grant, the next attempt of a grant being
// provisioned or revoked. A notice is always before the expiry, so it can
// only make the engine look earlier, never later.
func (r *Request) DueAt() time.Time {
	switch r.State {
	case StatePendingApproval:
		return r.ApprovalDeadline
	case StateActive:
		if !r.NoticeAt.IsZero() && r.NoticeAt.Before(r.ExpiresAt) {
			return r.NoticeAt
		}
		return r.ExpiresAt
	case StateApproved, StateProvisioning, StateRevoking:
		return r.NextAttemptAt
	}
	return time.Time{}
}

// AssignmentBusyError is a write refused because another request of the
// same assignment is in the way (see Store): Holder is that request, in
// state HolderState — REVOKING and deleting the assignment when
// provisioning was refused, PROVISIONING or ACTIVE when a deletion claim
// was refused.
type AssignmentBusyError struct {
	Request     string
	Assignment  Assignment
	Holder      string
	HolderState State
}

func (e *AssignmentBusyError) Error() string {
	if e.HolderState == StateRevoking {
		return fmt.Sprintf("%s: the assignment %s for %s is being deleted by the revocation of %s; provisioning waits until that deletion is confirmed",
			e.Request, e.Assignment.Entitlement, e.Assignment.PrincipalRef, e.Holder)
	}
	return fmt.Sprintf("%s: the assignment %s for %s is still needed by %s (%s)",
		e.Request, e.Assignment.Entitlement, e.Assignment.PrincipalRef, e.Holder, e.HolderState)
}

// AsAssignmentBusy returns the *AssignmentBusyError in err's chain, or nil.
func AsAssignmentBusy(err error) *AssignmentBusyError {
	var e *AssignmentBusyError
	if errors.As(err, &e) {
		return e
	}
	return nil
}
