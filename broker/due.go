package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// Step is what a time-based step did (or, in a dry run, would do).
type Step struct {
	Request *drawbridge.Request
	Action  string // "expire", "notice expiry", "retry revocation", "resume provisioning", "cancel (approval timeout)"
	Err     error
}

// DueAction names what HandleDue will do with r at now.
func DueAction(r *drawbridge.Request, now time.Time) string {
	switch r.State {
	case drawbridge.StatePendingApproval:
		return "cancel (approval timeout)"
	case drawbridge.StateActive:
		if now.Before(r.ExpiresAt) {
			return ActionNotice
		}
		return "expire"
	case drawbridge.StateRevoking:
		return "retry revocation"
	case drawbridge.StateApproved, drawbridge.StateProvisioning:
		return "resume provisioning"
	}
	return "nothing"
}

// HandleDue performs the time-based step r is due for. It first claims r by
// writing the step (or a lease) under optimistic concurrency, so that when
// several processes run expiry engines only one does the work; a lost claim
// returns a stale error the caller may ignore.
func (b *Broker) HandleDue(ctx context.Context, r *drawbridge.Request) (*drawbridge.Request, error) {
	r, err := b.bound(ctx, r)
	if err != nil {
		return nil, err
	}
	now := b.now()
	due := r.DueAt()
	if due.IsZero() || due.After(now) {
		return r, nil
	}
	switch r.State {
	case drawbridge.StatePendingApproval:
		reason := fmt.Sprintf("approval window of %s elapsed", r.Decision.ApprovalTimeout)
		ev, err := b.transition(r, drawbridge.EventCancel, System, map[string]string{"reason": reason})
		if err != nil {
			return nil, err
		}
		r.EndedAt = now
		r.EndReason = reason
		return r, b.Store.UpdateRequest(ctx, r, ev)
	case drawbridge.StateActive:
		if now.Before(r.ExpiresAt) {
			return b.noticeExpiring(ctx, r)
		}
		return b.expire(ctx, r)
	case drawbridge.StateRevoking:
		// Resuming a revocation decides again whether it deletes (unless it
		// already holds the deletion claim), in the same write as the lease.
		r.NextAttemptAt = now.Add(b.ProvisionLease)
		plan, err := b.planRemoval(ctx, r)
		if err != nil {
			return nil, err
		}
		if err := b.writeRevoking(ctx, r, &plan, nil); err != nil {
			return nil, err
		}
		return b.revoke(ctx, r, plan)
	case drawbridge.StateApproved, drawbridge.StateProvisioning:
		before := r.ProvisionStartedAt
		if r.State == drawbridge.StateProvisioning && before.IsZero() {
			// Every earlier attempt was definitely rejected: access can
			// begin with this one, recorded before the provider is asked.
			r.ProvisionStartedAt = now
		}
		if err := b.claim(ctx, r); err != nil {
			return nil, err
		}
		return b.provision(ctx, r, before)
	}
	return r, nil
}

// claim pushes r's next attempt out by the lease, under version check.
func (b *Broker) claim(ctx context.Context, r *drawbridge.Request) error {
	r.NextAttemptAt = b.now().Add(b.ProvisionLease)
	return b.Store.UpdateRequest(ctx, r)
}
