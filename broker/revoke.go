package broker

import (
	"context"
	"fmt"

	"github.com/drawbridge-jit/drawbridge"
)

// Revoke ends an ACTIVE grant early. The request is REVOKING until the
// provider confirms the removal, then REVOKED. If the provider fails the
// request stays REVOKING and the expiry engine retries it.
func (b *Broker) Revoke(ctx context.Context, id, reason string, actor drawbridge.Caller) (*drawbridge.Request, error) {
	if err := checkInput(text("reason", reason, drawbridge.MaxReasonLen)); err != nil {
		return nil, err
	}
	var out *drawbridge.Request
	var plan removal
	err := retryConflict(ctx, func() error {
		r, err := b.get(ctx, id)
		if err != nil {
			return err
		}
		if r, err = b.bound(ctx, r); err != nil {
			return err
		}
		if !actor.Admin() && actor.Principal != r.Requester {
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
		p, err := b.startRevoking(ctx, r, drawbridge.EventRevoke, actor, map[string]string{"reason": reason})
		if err != nil {
			return err
		}
		out, plan = r, p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.revoke(ctx, out, plan)
}

// expire starts the revocation of a grant whose expiry has come. It is the
// claim too: of several processes, only the one whose transition is
// written goes on to call the provider.
func (b *Broker) expire(ctx context.Context, r *drawbridge.Request) (*drawbridge.Request, error) {
	r.EndReason = "expired"
	plan, err := b.startRevoking(ctx, r, drawbridge.EventExpire, System, map[string]string{
		"expires_at": r.ExpiresAt.Format(timeFormat)})
	if err != nil {
		return nil, err
	}
	return b.revoke(ctx, r, plan)
}

// startRevoking moves r to REVOKING by ev — revoke, expire or abandon —
// under a fresh work lease: it plans the removal, and writes the
// transition and the plan (with the deletion claim, see writeRevoking) in
// one transaction. The caller then carries the plan out with revoke.
func (b *Broker) startRevoking(ctx context.Context, r *drawbridge.Request, ev drawbridge.Event, actor drawbridge.Caller, details map[string]string) (removal, error) {
	r.NextAttemptAt = b.now().Add(b.ProvisionLease)
	plan, err := b.planRemoval(ctx, r)
	if err != nil {
		return removal{}, err
	}
	e, err := b.transition(r, ev, actor, details)
	if err != nil {
		return removal{}, err
	}
	if err := b.writeRevoking(ctx, r, &plan, e.Details, e); err != nil {
		return removal{}, err
	}
	return plan, nil
}

// removal is what a revocation does with the assignment: delete it (the
// request holds the deletion claim, DeletesAssignment) or keep it for the
// reason given.
type removal struct {
	keep string // why the assignment stays; "" when it is deleted
	note string // what the audit trail should also know about the decision
	// neededBy names the grant that still needed the assignment when the
	// claim was refused; revoke asks again (see reclaim).
	neededBy string
}

// planRemoval decides, before r is written REVOKING, whether its end
// deletes the assignment. Standing access still in place is kept; anything
// else is claimed for deletion (r.DeletesAssignment), and writeRevoking
// finds out in the same transaction whether another grant still needs it.
// A request that already holds the claim keeps it: its deletion may have
// been sent, and grants waiting for the assignment must wait until it is
// confirmed.
func (b *Broker) planRemoval(ctx context.Context, r *drawbridge.Request) (removal, error) {
	switch {
	case r.DeletesAssignment:
		return removal{}, nil
	case r.PrincipalRef == "":
		return removal{keep: "nothing to remove"}, nil
	case r.PreexistingAccess:
		a := drawbridge.Assignment{Entitlement: r.Entitlement, PrincipalRef: r.PrincipalRef}
		hist, err := b.Store.AssignmentGrants(ctx, a, r.ProvisionStartedAt)
		if err != nil {
			return removal{}, err
		}
		if stillStanding(r, hist) {
			return removal{keep: "kept: the assignment was standing access before Drawbridge granted it"}, nil
		}
		r.DeletesAssignment = true
		return removal{note: "the standing access recorded at provisioning is gone: a later grant found the assignment absent and Drawbridge created the one in place"}, nil
	}
	r.DeletesAssignment = true
	return removal{}, nil
}

// writeRevoking writes the REVOKING request r with events, recording the
// plan in details (the map inside one of the events, or nil). When the
// store refuses r's deletion claim because another grant is PROVISIONING
// or ACTIVE on the assignment, the decision becomes "keep" and r is
// written again without the claim: the check and the claim are one
// transaction, so no grant of the assignment can start between them.
func (b *Broker) writeRevoking(ctx context.Context, r *drawbridge.Request, plan *removal, details map[string]string, events ...drawbridge.AuditEvent) error {
	record := func() {
		if details == nil {
			return
		}
		details["assignment"] = "delete"
		if plan.keep != "" {
			details["assignment"] = plan.keep
		}
		if plan.note != "" {
			details["standing"] = plan.note
		}
	}
	record()
	err := b.Store.UpdateRequest(ctx, r, events...)
	if busy := drawbridge.AsAssignmentBusy(err); busy != nil && r.DeletesAssignment {
		r.DeletesAssignment = false
		plan.keep = fmt.Sprintf("kept: still needed by %s (%s)", busy.Holder, busy.HolderState)
		plan.neededBy = busy.Holder
		record()
		err = b.Store.UpdateRequest(ctx, r, events...)
	}
	return err
}

// reclaim asks again for the deletion claim of a REVOKING r that kept the
// assignment because another grant needed it. Two grants of one
// assignment ending at once can each have their claim refused while the
// other is still ACTIVE, and both would keep it for the other. Once r is
// REVOKING it no longer refuses anyone's claim, so asking again closes
// that gap: a claim is now refused only by a grant still PROVISIONING or
// ACTIVE, which will find r out of its way when it ends. The last grant of
// an assignment to end deletes it.
func (b *Broker) reclaim(ctx context.Context, r *drawbridge.Request, plan *removal) error {
	r.DeletesAssignment = true
	err := b.Store.UpdateRequest(ctx, r)
	if busy := drawbridge.AsAssignmentBusy(err); busy != nil {
		r.DeletesAssignment = false
		plan.keep = fmt.Sprintf("kept: still needed by %s (%s)", busy.Holder, busy.HolderState)
		return nil
	}
	if err != nil {
		r.DeletesAssignment = false
		return err
	}
	plan.note = fmt.Sprintf("%s, which needed the assignment, no longer does", plan.neededBy)
	plan.keep = ""
	return nil
}

// revoke carries out a REVOKING grant's plan — deletes the assignment when
// the request holds the deletion claim, keeps it otherwise — and writes
// the terminal state only after the provider confirmed. The terminal write
// releases the claim.
func (b *Broker) revoke(ctx context.Context, r *drawbridge.Request, plan removal) (*drawbridge.Request, error) {
	if err := b.endExtensions(ctx, r); err != nil {
		return b.retryRevocation(ctx, r, err)
	}
	if plan.neededBy != "" && !r.DeletesAssignment {
		if err := b.reclaim(ctx, r, &plan); err != nil {
			return nil, err
		}
	}
	prov := b.Providers[r.Provider]
	details := map[string]string{}
	var err error
	switch {
	case prov == nil:
		err = fmt.Errorf("provider %q is not configured: the grant cannot be removed until it is", r.Provider)
	case !r.DeletesAssignment:
		details["provider"] = plan.keep
	default:
		if details, err = b.remove(ctx, prov, r); err == nil {
			details["provider"] = "assignment deleted and deletion confirmed"
			if plan.neededBy != "" {
				details["assignment"] = plan.note
			}
		}
	}
	if p := drawbridge.AsPending(err); p != nil {
		if err := b.scheduleLookAgain(ctx, r, drawbridge.ActionRevokePending, p); err != nil {
			return nil, err
		}
		return r, nil
	}
	if err != nil {
		return b.retryRevocation(ctx, r, err)
	}
	now := b.now()
	ev := drawbridge.EventConfirmRevoked
	switch {
	case r.ActivatedAt.IsZero():
		// Abandoned provisioning: it ends FAILED, and its last error
		// (why provisioning gave up) stays for the operator.
		ev = drawbridge.EventConfirmFailed
	case r.EndReason == "expired":
		ev = drawbridge.EventConfirmExpired
	}
	r.EndedAt = now
	details["attempts"] = fmt.Sprint(r.RevokeAttempts + 1)
	if ev != drawbridge.EventConfirmFailed {
		r.LastError = ""
		details["lag_ms"] = fmt.Sprint(now.Sub(r.ExpiresAt).Milliseconds())
	}
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

// remove asks the provider to delete r's assignment and, once it confirmed,
// to end the sessions the assignment issued when it can
// (drawbridge.SessionEnder), then has every provider named in its
// end_sessions (EndSessionsBy) end the person's sessions there: sessions
// are ended only after the removal is confirmed, and a failure to end them
// is retried with the revocation. It
// returns what the provider reported, for the confirmation's audit event.
func (b *Broker) remove(ctx context.Context, prov drawbridge.Provider, r *drawbridge.Request) (map[string]string, error) {
	spec := revokeSpec(r)
	callCtx, cancel := b.leasedCtx(ctx, r.NextAttemptAt)
	defer cancel()
	res, err := prov.Revoke(callCtx, spec)
	if err != nil {
		return nil, err
	}
	details := providerDetails(res.Details)
	if ender, ok := prov.(drawbridge.SessionEnder); ok {
		ended, err := ender.EndSessions(callCtx, spec)
		if err != nil {
			return nil, fmt.Errorf("the assignment is deleted, but ending its live sessions failed: %w", err)
		}
		for k, v := range providerDetails(ended.Details) {
			details[k] = v
		}
	}
	for _, name := range b.EndSessionsBy[r.Provider] {
		ender, ok := b.Providers[name].(drawbridge.SessionEnder)
		if !ok {
			return nil, fmt.Errorf("the assignment is deleted, but %s, which ends its sessions (end_sessions), is not a configured provider that can", name)
		}
		ended, err := ender.EndSessions(callCtx, spec)
		if err != nil {
			return nil, fmt.Errorf("the assignment is deleted, but %s could not end its live sessions: %w", name, err)
		}
		for k, v := range ended.Details {
			details["provider_"+name+"_"+k] = v
		}
	}
	return details, nil
}

// revokeSpec is what the provider is told about the removal of r's
// assignment.
func revokeSpec(r *drawbridge.Request) drawbridge.RevokeSpec {
	return drawbridge.RevokeSpec{RequestID: r.ID, GrantRef: r.GrantRef, Requester: r.Requester,
		Assignment: drawbridge.Assignment{Entitlement: r.Entitlement, PrincipalRef: r.PrincipalRef},
		Until:      r.ExpiresAt, Reason: r.EndReason, Ticket: r.Ticket}
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
