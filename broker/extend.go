package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/policy"
)

// Extensions and continuous access.
//
// An extension is a request linked to an ACTIVE grant (Extends) that
// continues the same access from the moment that grant ends. The rules:
//   - a grant has at most one live extension (pending, being provisioned or
//     active); to go on, extend the latest grant of the chain;
//   - an extension is approved only while its parent is ACTIVE;
//   - revoking a grant cancels its pending extensions and revokes its
//     active ones (they continue the access being taken away); expiry of a
//     grant cancels its pending extensions and leaves active ones running
//     (that is what they are for);
//   - the window of continuous access a request creates (extensions and
//     overlapping requests included) is bounded by the deciding rule's
//     max_continuous, or its max_duration, at submission and at approval.

// liveExtensionStates are the states in which an extension still may give,
// or gives, access.
var liveExtensionStates = []drawbridge.State{
	drawbridge.StatePendingApproval, drawbridge.StateApproved, drawbridge.StateProvisioning, drawbridge.StateActive,
}

// extensionsOf returns the live extensions of parent. Extensions share the
// parent's requester and entitlement, so the requester's few requests of
// that entitlement are all that needs reading.
func (b *Broker) extensionsOf(ctx context.Context, parent *drawbridge.Request) ([]*drawbridge.Request, error) {
	rs, err := b.listAll(ctx, drawbridge.RequestFilter{Requester: parent.Requester, Provider: parent.Provider,
		Resource: parent.Resource, Role: parent.Role, States: liveExtensionStates})
	if err != nil {
		return nil, err
	}
	var out []*drawbridge.Request
	for _, r := range rs {
		if r.Extends == parent.ID {
			out = append(out, r)
		}
	}
	return out, nil
}

// refuseSecondExtension is the one-live-extension rule: a second extension
// of the same grant would add nothing but a second record of the same time.
func (b *Broker) refuseSecondExtension(ctx context.Context, parent *drawbridge.Request) error {
	exts, err := b.extensionsOf(ctx, parent)
	if err != nil {
		return err
	}
	if len(exts) == 0 {
		return nil
	}
	x := exts[0]
	how := "extend " + x.ID + " instead once it is ACTIVE, or cancel it"
	if x.State == drawbridge.StateActive {
		how = "extend " + x.ID + " instead (the latest grant of the chain)"
	}
	return drawbridge.Errorf(drawbridge.ECONFLICT, "request %s already has extension %s (%s): %s", parent.ID, x.ID, x.State, how)
}

// continuousSince returns when requester's unbroken access to e through
// Drawbridge began, or zero when they hold no ACTIVE grant of it now. It
// starts from the ACTIVE grants and walks back through every grant whose
// access touched the window (ended at or after the window's start), so
// neither extensions nor overlapping requests reset the clock.
func (b *Broker) continuousSince(ctx context.Context, requester string, e drawbridge.Entitlement, now time.Time) (time.Time, error) {
	f := drawbridge.RequestFilter{Requester: requester, Provider: e.Provider, Resource: e.Resource, Role: e.Role,
		States: []drawbridge.State{drawbridge.StateActive}}
	active, err := b.listAll(ctx, f)
	if err != nil || len(active) == 0 {
		return time.Time{}, err
	}
	since := now
	for _, r := range active {
		if !r.ActivatedAt.IsZero() && r.ActivatedAt.Before(since) {
			since = r.ActivatedAt
		}
	}
	f.States = []drawbridge.State{drawbridge.StateRevoking, drawbridge.StateExpired, drawbridge.StateRevoked}
	f.CreatedFrom = now.Add(-policy.MaxContinuousLimit)
	past, err := b.listAll(ctx, f)
	if err != nil {
		return time.Time{}, err
	}
	// Each pass moves since strictly earlier, to some grant's activation,
	// so there are at most len(past) passes.
	for changed := true; changed; {
		changed = false
		for _, r := range past {
			end := r.EndedAt
			if end.IsZero() { // REVOKING: access is still there
				end = now
			}
			if !r.ActivatedAt.IsZero() && r.ActivatedAt.Before(since) && !end.Before(since) {
				since, changed = r.ActivatedAt, true
			}
		}
	}
	return since, nil
}

// endExtensions is what the end of parent (revocation or expiry) does to
// its extensions: pending ones are cancelled, and when parent is revoked
// rather than expired the active ones are revoked too. It is idempotent
// and runs on every revocation attempt, so a crash between parent's
// REVOKING write and this step is repaired by the retry.
func (b *Broker) endExtensions(ctx context.Context, parent *drawbridge.Request) error {
	exts, err := b.extensionsOf(ctx, parent)
	if err != nil {
		return err
	}
	expired := parent.EndReason == "expired"
	why := fmt.Sprintf("the grant it extends, %s, was revoked", parent.ID)
	if expired {
		why = fmt.Sprintf("the grant it extends, %s, expired", parent.ID)
	}
	for _, x := range exts {
		switch {
		case x.State == drawbridge.StatePendingApproval:
			err = b.cancelExtension(ctx, x, why)
		case x.State == drawbridge.StateActive && !expired:
			_, err = b.Revoke(ctx, x.ID, why, systemAdmin)
		}
		// An extension that moved on meanwhile (approved, expired) is not
		// an error: the checks at approval and activation cover it.
		if err != nil && drawbridge.ErrorCode(err) != drawbridge.ECONFLICT {
			return fmt.Errorf("end extension %s of %s: %w", x.ID, parent.ID, err)
		}
	}
	return nil
}

// systemAdmin is the expiry engine acting on a grant it did not request
// (the revocation of an extension whose parent was revoked).
var systemAdmin = drawbridge.Caller{Principal: System.Principal, Roles: []drawbridge.Role{drawbridge.RoleAdmin}}

// cancelExtension cancels a pending extension whose parent is no longer
// ACTIVE, with an audit event naming the parent and why.
func (b *Broker) cancelExtension(ctx context.Context, x *drawbridge.Request, why string) error {
	return retryConflict(ctx, func() error {
		r, err := b.Store.GetRequest(ctx, x.ID)
		if err != nil {
			return err
		}
		if r.State != drawbridge.StatePendingApproval {
			return nil
		}
		ev, err := b.transition(r, drawbridge.EventCancel, System, map[string]string{"reason": why, "parent": r.Extends})
		if err != nil {
			return err
		}
		r.EndedAt = b.now()
		r.EndReason = why
		*x = *r
		return b.Store.UpdateRequest(ctx, r, ev)
	})
}

// refuseOrphanApproval is checked before an approval of an extension is
// recorded: the parent must still be ACTIVE. If it is not, the extension is
// cancelled (had the cancellation at the parent's end been lost to a
// crash, this repairs it) and the approver told why.
func (b *Broker) refuseOrphanApproval(ctx context.Context, r *drawbridge.Request) error {
	if r.Extends == "" {
		return nil
	}
	parent, err := b.Store.GetRequest(ctx, r.Extends)
	if err != nil {
		return err
	}
	if parent.State == drawbridge.StateActive {
		return nil
	}
	why := fmt.Sprintf("the grant it extends, %s, is %s: an extension is approved only while the grant it extends is ACTIVE", parent.ID, parent.State)
	if err := b.cancelExtension(ctx, r, why); err != nil {
		return err
	}
	return drawbridge.Errorf(drawbridge.ECONFLICT, "request %s cannot be approved and was cancelled: %s; submit a new request", r.ID, why)
}

// continuousAtApproval returns why approving r now would break rule's
// continuous-access limit ("" when it does not): time has passed since
// submission and the policy may have changed, so the window is computed
// again with the rule in force.
func (b *Broker) continuousAtApproval(ctx context.Context, r *drawbridge.Request, rule *policy.Rule, now time.Time) (string, error) {
	since, err := b.continuousSince(ctx, r.Requester, r.Entitlement, now)
	if err != nil || since.IsZero() {
		return "", err
	}
	end := now.Add(r.Duration)
	if r.Extends != "" {
		parent, err := b.Store.GetRequest(ctx, r.Extends)
		if err != nil {
			return "", err
		}
		end = parent.ExpiresAt.Add(r.Duration)
	}
	return rule.CheckContinuous(since, end), nil
}

// extensionEnd is when an extension's access ends: it continues the
// parent's access from the parent's expiry for the duration asked (never
// from its own start, which would add the parent's remaining time a second
// time), and never before its own start. It is computed before the
// provider is called, so the provider is told the same end the request
// records.
func extensionEnd(r, parent *drawbridge.Request) time.Time {
	end := parent.ExpiresAt.Add(r.Duration)
	if end.Before(r.ProvisionStartedAt) {
		return r.ProvisionStartedAt
	}
	return end
}

// extensionWindow completes an activating extension whose ExpiresAt is
// set (extensionEnd): Duration becomes its real window, from when its
// access began (ProvisionStartedAt) to its expiry, like every other grant,
// and details get the time asked for. The parent, read before the
// provider call, is read again: parentRevoked tells the caller to revoke
// the extension at once, because the parent was revoked meanwhile.
func (b *Broker) extensionWindow(ctx context.Context, r, parent *drawbridge.Request, details map[string]string) (parentRevoked bool, err error) {
	now, err := b.Store.GetRequest(ctx, parent.ID)
	if err != nil {
		return false, err
	}
	details["extends_by"] = r.Duration.String()
	details["parent_expires_at"] = parent.ExpiresAt.Format(timeFormat)
	r.Duration = r.ExpiresAt.Sub(r.ProvisionStartedAt)
	return (now.State == drawbridge.StateRevoking || now.State == drawbridge.StateRevoked) && now.EndReason != "expired", nil
}
