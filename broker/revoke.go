package broker

import (
	"context"
	"fmt"

	"github.com/drawbridge-jit/drawbridge"
)

// Revoke ends an ACTIVE grant early. The request is REVOKING until the
// provider confirms the removal, then REVOKED. If the provider fails the
// request stays REVOKING and the expiry engine retries it.
func (b *Broker) Revoke(ctx context.Context, id, reason string, actor Actor) (*drawbridge.Request, error) {
	var out *drawbridge.Request
	err := retryConflict(ctx, func() error {
		r, err := b.get(ctx, id)
		if err != nil {
			return err
		}
		if !actor.Admin && actor.Principal != r.Requester {
			return drawbridge.Errorf(drawbridge.EFORBIDDEN, "only the requester %s or an admin can revoke %s", r.Requester, r.ID)
		}
		if r.State != drawbridge.StateActive {
			if r.State == drawbridge.StatePendingApproval {
				return drawbridge.Errorf(drawbridge.ECONFLICT, "request %s is PENDING_APPROVAL: use cancel to withdraw it", r.ID)
			}
			return drawbridge.Errorf(drawbridge.ECONFLICT, "request %s is %s: only ACTIVE grants can be revoked", r.ID, r.State)
		}
		if reason == "" {
			reason = "revoked by " + actor.Principal
		}
		r.EndReason = reason
		r.RevokedBy = actor.Principal
		r.NextAttemptAt = b.now().Add(b.ProvisionLease)
		ev, err := b.transition(r, drawbridge.EventRevoke, actor, map[string]string{"reason": reason})
		if err != nil {
			return err
		}
		if err := b.Store.UpdateRequest(ctx, r, ev); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.revoke(ctx, out)
}

// expire starts the revocation of a grant whose expiry has come. It is the
// claim too: of several processes, only the one whose transition is
// written goes on to call the provider.
func (b *Broker) expire(ctx context.Context, r *drawbridge.Request) (*drawbridge.Request, error) {
	r.EndReason = "expired"
	r.NextAttemptAt = b.now().Add(b.ProvisionLease)
	ev, err := b.transition(r, drawbridge.EventExpire, System, map[string]string{
		"expires_at": r.ExpiresAt.Format("2006-01-02T15:04:05.000Z07:00")})
	if err != nil {
		return nil, err
	}
	if err := b.Store.UpdateRequest(ctx, r, ev); err != nil {
		return nil, err
	}
	return b.revoke(ctx, r)
}

// revoke removes a REVOKING grant's assignment — unless another live grant
// still needs it, or it was standing access before Drawbridge — and writes
// the terminal state only after the provider confirmed.
func (b *Broker) revoke(ctx context.Context, r *drawbridge.Request) (*drawbridge.Request, error) {
	prov := b.Providers[r.Provider]
	details := map[string]string{}
	var err error
	switch {
	case prov == nil:
		err = fmt.Errorf("provider %q is not configured: the grant cannot be removed until it is", r.Provider)
	case r.ProviderRef == "":
		// Never provisioned (cannot happen for ACTIVE, but be safe): nothing to remove.
		details["provider"] = "nothing to remove"
	case r.PreexistingAccess:
		details["provider"] = "kept: the assignment was standing access before Drawbridge granted it"
	default:
		var shared string
		shared, err = b.sharedWith(ctx, r)
		if err == nil && shared != "" {
			details["provider"] = "kept: still needed by " + shared
		} else if err == nil {
			callCtx, cancel := b.providerCtx(ctx)
			err = prov.Revoke(callCtx, drawbridge.Assignment{Entitlement: r.Entitlement, Principal: r.ProviderRef})
			cancel()
			if err == nil {
				details["provider"] = "assignment deleted and deletion confirmed"
			}
		}
	}
	if err != nil {
		return b.retryRevocation(ctx, r, err)
	}
	ev := drawbridge.EventConfirmRevoked
	if r.EndReason == "expired" {
		ev = drawbridge.EventConfirmExpired
	}
	now := b.now()
	r.EndedAt = now
	r.LastError = ""
	details["attempts"] = fmt.Sprint(r.RevokeAttempts + 1)
	details["lag_ms"] = fmt.Sprint(now.Sub(r.ExpiresAt).Milliseconds())
	e, err := b.transition(r, ev, System, details)
	if err != nil {
		return nil, err
	}
	if err := b.Store.UpdateRequest(ctx, r, e); err != nil {
		return nil, err
	}
	b.Logger.Info("grant removed", "request", r.ID, "state", r.State, "entitlement", r.Entitlement.String(), "detail", details["provider"])
	return r, nil
}

// sharedWith names another live grant that still needs r's assignment.
func (b *Broker) sharedWith(ctx context.Context, r *drawbridge.Request) (string, error) {
	live, err := b.Store.LiveGrants(ctx, r.Entitlement, r.ProviderRef)
	if err != nil {
		return "", err
	}
	for _, g := range live {
		if g.ID != r.ID && (g.State == drawbridge.StateActive || g.State == drawbridge.StateProvisioning) {
			return g.ID, nil
		}
	}
	return "", nil
}

func (b *Broker) retryRevocation(ctx context.Context, r *drawbridge.Request, cause error) (*drawbridge.Request, error) {
	r.RevokeAttempts++
	if err := b.scheduleRetry(ctx, r, r.RevokeAttempts, drawbridge.ActionRevokeAttemptFailed, cause,
		map[string]string{"permanent": fmt.Sprint(drawbridge.IsPermanent(cause))}); err != nil {
		return nil, err
	}
	b.Logger.Error("revocation failed, will retry", "request", r.ID, "error", cause, "attempt", r.RevokeAttempts, "next_attempt_at", r.NextAttemptAt)
	return r, nil
}
