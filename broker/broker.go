// Package broker holds Drawbridge's use cases — submit, approve, deny,
// cancel, extend, revoke, provision, and the time-based steps the expiry
// engine fires — in one service shared by every channel (CLI, HTTP, Slack).
// It depends only on the domain's interfaces and the pure policy package:
// every state change goes through drawbridge.Transition and is written in
// the same transaction as the audit event that records it.
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/policy"
)

// System is the caller of time-based transitions (the expiry engine).
var System = drawbridge.Caller{Principal: "system:expiry"}

// Broker is the use-case service.
type Broker struct {
	Store     drawbridge.Store
	Directory drawbridge.Directory
	Catalog   drawbridge.Catalog
	Providers map[string]drawbridge.Provider
	Clock     clock.Clock
	Logger    *slog.Logger

	// OnChange, when set, is told the due time of a request that just
	// changed (activation, a new pending request, a scheduled retry), so the
	// expiry engine wakes earlier when it must instead of sleeping past it.
	OnChange func(due time.Time)

	// OnRowMismatch, when set, is told that a request row differs from the
	// state its audit events record, naming the fields (the alert metric
	// drawbridge_audit_row_mismatch_total).
	OnRowMismatch func(id string, fields []string)

	// ProvisionLease is how long a claimed provisioning or revocation is
	// left to the process that claimed it before another may resume it. It
	// should exceed ProviderTimeout by drawbridge.LeaseMargin (the config
	// check insists); whatever it is, a provider call made under a lease is cut off that
	// margin before the lease ends, so no other process can start the same
	// work while the call may still be running.
	ProvisionLease time.Duration
	// MaxProvisionAttempts bounds retries of a provisioning that keeps
	// failing with retryable errors before the request is FAILED.
	MaxProvisionAttempts int
	// ProviderTimeout bounds one provider call, status polling included,
	// so a provider that never answers becomes a retryable failure.
	ProviderTimeout time.Duration
	// RetryBase and RetryCap shape the capped exponential backoff.
	RetryBase, RetryCap time.Duration
	// MinDuration is the shortest grant a request may ask for (the
	// config's limits.min_duration); duration.DefaultMin when zero.
	MinDuration time.Duration
	// NoticeBefore is how long before its expiry an ACTIVE grant's
	// pre-expiry notice (grant.expiring) is due (expiry.notice_before).
	NoticeBefore time.Duration
	// EndSessionsBy names, for a provider, the other providers (each a
	// drawbridge.SessionEnder in Providers) that end the person's live
	// sessions once that provider confirmed a removal: the config's
	// end_sessions (an Entra group mirrored by a Boundary managed group).
	EndSessionsBy map[string][]string

	policy atomic.Pointer[policy.Policy]
}

// New returns a broker with defaults filled in.
func New(store drawbridge.Store, dir drawbridge.Directory, cat drawbridge.Catalog, providers map[string]drawbridge.Provider, pol *policy.Policy, clk clock.Clock, logger *slog.Logger) *Broker {
	if clk == nil {
		clk = clock.Real{}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &Broker{
		Store: store, Directory: dir, Catalog: cat, Providers: providers, Clock: clk, Logger: logger,
		ProvisionLease: drawbridge.DefaultProviderTimeout + drawbridge.DefaultLeaseSlack, MaxProvisionAttempts: 6,
		RetryBase: time.Second, RetryCap: 5 * time.Minute, ProviderTimeout: drawbridge.DefaultProviderTimeout,
		NoticeBefore: DefaultNoticeBefore,
	}
	b.policy.Store(pol)
	return b
}

// Policy returns the policy in force.
func (b *Broker) Policy() *policy.Policy { return b.policy.Load() }

// decidingPolicy returns the policy in force, for a decision. A broker
// wired without a policy (a process that only revokes, expires and reads)
// refuses to decide rather than deciding on nothing.
func (b *Broker) decidingPolicy() (*policy.Policy, error) {
	if p := b.Policy(); p != nil {
		return p, nil
	}
	return nil, drawbridge.Errorf(drawbridge.EINTERNAL, "no policy loaded: this process was started to revoke, expire and read, not to decide requests")
}

// SetPolicy replaces the policy in force (reload). Requests already decided
// keep their decision; approvals are checked against the policy in force
// when they are given.
func (b *Broker) SetPolicy(p *policy.Policy) { b.policy.Store(p) }

func (b *Broker) changed(due time.Time) {
	if b.OnChange != nil && !due.IsZero() {
		b.OnChange(due)
	}
}

// backoff returns the capped exponential delay before attempt n+1, with
// jitter so that many failing grants do not retry in lockstep.
func (b *Broker) backoff(attempts int) time.Duration {
	d := b.RetryBase
	for i := 1; i < attempts && d < b.RetryCap; i++ {
		d *= 2
	}
	if d > b.RetryCap {
		d = b.RetryCap
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

func (b *Broker) now() time.Time { return b.Clock.Now().UTC() }

// event builds an audit event for r.
func (b *Broker) event(actor drawbridge.Caller, action string, r *drawbridge.Request, details map[string]string) drawbridge.AuditEvent {
	if details == nil {
		details = map[string]string{}
	}
	if actor.Auth != "" {
		details["auth"] = actor.Auth
	}
	if actor.OSUser != "" {
		details["os_user"] = actor.OSUser
	}
	if actor.Channel != "" {
		details["channel"] = string(actor.Channel)
	}
	return drawbridge.AuditEvent{Time: b.now(), Actor: actor.Principal, Action: action, RequestID: r.ID, Details: details}
}

// transition moves r by ev, checked by the state machine, and returns the
// audit event recording it.
func (b *Broker) transition(r *drawbridge.Request, ev drawbridge.Event, actor drawbridge.Caller, details map[string]string) (drawbridge.AuditEvent, error) {
	from := r.State
	to, err := drawbridge.Transition(from, ev)
	if err != nil {
		return drawbridge.AuditEvent{}, fmt.Errorf("%s: %w", r.ID, err)
	}
	r.State = to
	if details == nil {
		details = map[string]string{}
	}
	details["from"] = string(from)
	details["to"] = string(to)
	return b.event(actor, string(ev), r, details), nil
}

// providerCtx bounds one provider call that no lease protects.
func (b *Broker) providerCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.ProviderTimeout)
}

// leasedCtx bounds one provider call made under the work lease that ends
// at leaseEnd (the request's NextAttemptAt as written): by ProviderTimeout,
// and in any case drawbridge.LeaseMargin before the lease ends, so the call
// never outlives the lease that keeps other processes from repeating it.
func (b *Broker) leasedCtx(ctx context.Context, leaseEnd time.Time) (context.Context, context.CancelFunc) {
	d := min(b.ProviderTimeout, leaseEnd.Add(-drawbridge.LeaseMargin).Sub(b.now()))
	return context.WithTimeout(ctx, d)
}

// get loads a request, with a validation error for a malformed id.
func (b *Broker) get(ctx context.Context, id string) (*drawbridge.Request, error) {
	if !drawbridge.ValidRequestID(id) {
		// Reported as not found (exit 1), like any id that names nothing.
		return nil, drawbridge.Errorf(drawbridge.ENOTFOUND, "request %q not found: request ids look like req_ followed by 32 hex digits", id)
	}
	return b.Store.GetRequest(ctx, id)
}

// Get returns a request.
func (b *Broker) Get(ctx context.Context, id string) (*drawbridge.Request, error) {
	return b.get(ctx, id)
}

// List returns requests matching f.
func (b *Broker) List(ctx context.Context, f drawbridge.RequestFilter) ([]*drawbridge.Request, error) {
	return b.Store.ListRequests(ctx, f)
}

// retryConflict runs fn again when it lost an optimistic-concurrency race
// (fn must re-read what it changes), a bounded number of times.
func retryConflict(ctx context.Context, fn func() error) error {
	var err error
	for i := 0; i < 5; i++ {
		if err = fn(); !drawbridge.IsStale(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return err
}
