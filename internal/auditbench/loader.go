// Package auditbench measures the audit API at scale: GET /api/requests
// (list with a primary filter, first page and pages deep through the
// cursor) and GET /api/exports.csv over a store of a million requests,
// through the real HTTP handler with a real auditor token. Load fills a
// store quickly with realistic requests (a year of history over many
// requesters, accounts and permission sets, in every state); `make
// bench-audit` runs it at full size and docs/benchmarks.md has the figures.
//
// Only the requests table is filled: the list and the export read nothing
// else (audit events are read by GET /api/requests/{id} alone), so the
// figures do not depend on them.
package auditbench

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// Shape of the generated data. Requesters, accounts and permission sets
// are drawn with a skew (a few are much more frequent than the rest), as
// in a real organisation.
const (
	Requesters     = 2000
	Accounts       = 300
	PermissionSets = 25
)

// Requester, Account and PermissionSet name the i-th value of each.
func Requester(i int) string     { return fmt.Sprintf("user%04d@example.com", i) }
func Account(i int) string       { return fmt.Sprintf("%012d", 100000000000+i*7919) }
func PermissionSet(i int) string { return fmt.Sprintf("PermSet%02d", i) }

// Generator produces the requests of one data set, oldest first, with ids
// that sort like their creation times (UUIDv7, as drawbridge.NewRequestID).
type Generator struct {
	N   int
	Now time.Time // the newest request is created just before Now
	rng *rand.Rand
	i   int
}

// NewGenerator returns a generator of n requests over the year before now.
func NewGenerator(n int, now time.Time, seed uint64) *Generator {
	return &Generator{N: n, Now: now.UTC().Truncate(time.Millisecond), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// skewed draws from [0, n) with a heavy head: about half the draws fall on
// the first tenth of the values.
func (g *Generator) skewed(n int) int {
	u := g.rng.Float64()
	return min(n-1, int(float64(n)*u*u*u))
}

func (g *Generator) id(created time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(created.UnixMilli())<<16|0x7000|uint64(g.rng.IntN(1<<12)))
	binary.BigEndian.PutUint64(b[8:], g.rng.Uint64()&^(3<<62)|(2<<62))
	return drawbridge.RequestIDPrefix + hex.EncodeToString(b[:])
}

// Next returns the next request, or nil after N. Its Version is the one
// the loader stores.
func (g *Generator) Next() *drawbridge.Request {
	if g.i >= g.N {
		return nil
	}
	year := 365 * 24 * time.Hour
	step := year / time.Duration(g.N)
	start := g.Now.Add(-year)
	created := start.Add(time.Duration(g.i)*step + time.Duration(g.rng.Int64N(int64(max(step, 1))))).Truncate(time.Millisecond)
	g.i++
	rng := g.rng
	r := &drawbridge.Request{
		ID:           g.id(created),
		Requester:    Requester(g.skewed(Requesters)),
		Entitlement:  drawbridge.Entitlement{Provider: "aws", Resource: Account(g.skewed(Accounts)), Role: PermissionSet(g.skewed(PermissionSets))},
		Duration:     []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour}[rng.IntN(5)],
		Reason:       []string{"read logs", "deploy hotfix", "incident INC-4711, investigate 5xx", "rotate credentials", "cost report", "-- debugging, \"quoted\", commas"}[rng.IntN(6)],
		Channel:      []drawbridge.Channel{drawbridge.ChannelCLI, drawbridge.ChannelAPI, drawbridge.ChannelSlack, drawbridge.ChannelWeb}[rng.IntN(4)],
		CreatedAt:    created,
		PrincipalRef: fmt.Sprintf("9067e8a1b2-%08x", rng.Uint32()),
	}
	if rng.IntN(3) == 0 {
		r.Ticket = fmt.Sprintf("INC-%05d", rng.IntN(100000))
	}
	r.Decision = drawbridge.Decision{Rule: fmt.Sprintf("rule-%03d", rng.IntN(200)),
		PolicySHA: "3f5e8c2b9a0d4e6f8a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071"}
	decided := created.Add(time.Duration(rng.IntN(50)+1) * time.Millisecond)
	age := g.Now.Sub(created)
	switch p := rng.IntN(1000); {
	case p < 30: // denied by policy
		r.Decision.Effect, r.Decision.Reason = drawbridge.EffectDeny, "denied by "+r.Decision.Rule
		r.State, r.DecidedAt, r.Version = drawbridge.StateDenied, decided, 1
		return r
	case p < 300: // needed approval
		r.Decision.Effect, r.Decision.Reason = drawbridge.EffectRequireApproval, "approval by sre-leads"
		r.Decision.ApprovalsRequired, r.Decision.ApprovalTimeout = 1, 4*time.Hour
		r.ApprovalDeadline = created.Add(4 * time.Hour)
		answered := created.Add(time.Duration(rng.IntN(3600)+30) * time.Second)
		approver := Requester(rng.IntN(20))
		switch q := rng.IntN(100); {
		case age < 4*time.Hour && q < 50 || answered.After(g.Now):
			r.State, r.Version = drawbridge.StatePendingApproval, 1
			return r
		case q < 8:
			r.State, r.DecidedAt, r.Version = drawbridge.StateCancelled, r.ApprovalDeadline, 2
			return r
		case q < 15:
			r.Approvals = []drawbridge.Approval{{Approver: approver, Approved: false, Comment: "use ReadOnly", At: answered}}
			r.State, r.DecidedAt, r.Version = drawbridge.StateDenied, answered, 2
			return r
		}
		r.Approvals = []drawbridge.Approval{{Approver: approver, Approved: true, Comment: "ok", At: answered}}
		decided = answered
	default:
		r.Decision.Effect, r.Decision.Reason = drawbridge.EffectAllow, "allowed by "+r.Decision.Rule
	}
	r.DecidedAt = decided
	if rng.IntN(200) == 0 {
		r.State, r.LastError, r.Version = drawbridge.StateFailed, "CreateAccountAssignment: AccessDeniedException", 4
		return r
	}
	r.ActivatedAt = decided.Add(time.Duration(rng.IntN(3000)+200) * time.Millisecond)
	r.ExpiresAt = r.ActivatedAt.Add(r.Duration)
	switch {
	case r.ExpiresAt.After(g.Now):
		r.State, r.Version = drawbridge.StateActive, 3
	case rng.IntN(10) == 0: // ended early
		r.EndedAt = r.ActivatedAt.Add(time.Duration(rng.Int64N(int64(r.Duration))))
		r.State, r.EndReason, r.RevokedBy, r.Version = drawbridge.StateRevoked, "done", r.Requester, 5
	default:
		r.EndedAt = r.ExpiresAt.Add(time.Duration(rng.IntN(900)+10) * time.Millisecond)
		r.State, r.EndReason, r.Version = drawbridge.StateExpired, "expired", 5
	}
	return r
}

// columns are the requests columns the loader writes, in args order
// (sqlite's requestColumns; a schema change the loader misses fails
// TestLoadReadsBack).
var columns = []string{"id", "requester", "provider", "resource", "role", "duration_ns", "reason", "ticket", "channel", "state",
	"effect", "rule", "policy_sha256", "decision_reason", "approvals_required", "approval_timeout_ns", "approvals", "extends",
	"created_at", "decided_at", "approval_deadline", "activated_at", "expires_at", "ended_at", "next_attempt_at", "due_at",
	"principal_ref", "preexisting_access", "revoke_attempts", "last_error", "end_reason", "revoked_by", "version", "provision_attempts",
	"provision_started_at", "assignment_found", "deletes_assignment", "grant_ref"}

func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func args(r *drawbridge.Request, dst []any) []any {
	approvals := "[]"
	if len(r.Approvals) > 0 {
		b, _ := json.Marshal(r.Approvals)
		approvals = string(b)
	}
	d := r.Decision
	return append(dst,
		r.ID, r.Requester, r.Provider, r.Resource, r.Role, int64(r.Duration), r.Reason, r.Ticket, string(r.Channel), string(r.State),
		string(d.Effect), d.Rule, d.PolicySHA, d.Reason, d.ApprovalsRequired, int64(d.ApprovalTimeout), approvals, nil,
		nanos(r.CreatedAt), nanos(r.DecidedAt), nanos(r.ApprovalDeadline), nanos(r.ActivatedAt), nanos(r.ExpiresAt),
		nanos(r.EndedAt), nanos(r.NextAttemptAt), nanos(r.DueAt()),
		r.PrincipalRef, r.PreexistingAccess, r.RevokeAttempts, r.LastError, r.EndReason, r.RevokedBy, r.Version, r.ProvisionAttempts,
		nanos(r.ProvisionStartedAt), r.AssignmentFound, r.DeletesAssignment, r.GrantRef)
}

// LoadStats describes one load.
type LoadStats struct {
	N        int
	ByState  map[drawbridge.State]int
	Duration time.Duration
}

// Load creates the store at path with sqlite.Open (so the migrations
// ran), then inserts n requests from NewGenerator(n, now, seed) with
// multi-row INSERTs in large transactions on a connection of its own
// (synchronous off: a crashed load is simply run again). It runs no
// ANALYZE, so the query planner sees what a production store sees.
func Load(ctx context.Context, path string, n int, now time.Time, seed uint64) (LoadStats, error) {
	return LoadFrom(ctx, path, n, NewGenerator(n, now, seed).Next)
}

// LoadFrom is Load with the requests next returns (n of them): how other
// benchmarks fill a store with a shape of their own, as fast.
func LoadFrom(ctx context.Context, path string, n int, next func() *drawbridge.Request) (LoadStats, error) {
	start := time.Now()
	st := LoadStats{N: n, ByState: map[drawbridge.State]int{}}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return st, err
	}
	if err := db.Close(); err != nil {
		return st, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return st, err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs),
		RawQuery: "_pragma=synchronous(OFF)&_pragma=cache_size(-262144)&_pragma=temp_store(MEMORY)&_pragma=busy_timeout(10000)"}
	raw, err := sql.Open("sqlite", u.String())
	if err != nil {
		return st, err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)

	const perStmt = 200   // rows per INSERT (33 × 200 bound parameters)
	const perTx = 100_000 // rows per transaction
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
	insert := func(rows int) string {
		return "INSERT INTO requests (" + strings.Join(columns, ", ") + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
	}
	full := insert(perStmt)
	buf := make([]any, 0, perStmt*len(columns))
	var skew int64
	for done := 0; done < n; {
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			return st, err
		}
		stmt, err := tx.PrepareContext(ctx, full)
		if err != nil {
			tx.Rollback()
			return st, err
		}
		for inTx := 0; inTx < perTx && done < n; {
			buf = buf[:0]
			k := 0
			for ; k < perStmt && done+k < n; k++ {
				r := next()
				st.ByState[r.State]++
				skew = max(skew, drawbridge.RequestIDSkew(r.ID, r.CreatedAt))
				buf = args(r, buf)
			}
			if k == perStmt {
				_, err = stmt.ExecContext(ctx, buf...)
			} else {
				_, err = tx.ExecContext(ctx, insert(k), buf...)
			}
			if err != nil {
				stmt.Close()
				tx.Rollback()
				return st, fmt.Errorf("auditbench: insert: %w", err)
			}
			done += k
			inTx += k
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return st, err
		}
	}
	// The rows bypass the store's writes, so the id skew they carry is
	// recorded here (windows of creation times are read by id).
	if _, err := raw.ExecContext(ctx, `UPDATE request_id_skew SET ms = max(ms, ?)`, skew); err != nil {
		return st, err
	}
	if _, err := raw.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return st, err
	}
	st.Duration = time.Since(start)
	return st, nil
}
