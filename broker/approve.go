package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// Approve records approver's approval of a pending request. When the
// rule's quorum of distinct approvers is reached the request is APPROVED
// and provisioned. Approvers are checked against the policy in force now,
// and are never the requester. With ProvisionInBackground an approval
// that reaches the quorum returns APPROVED and the expiry engine
// provisions it.
func (b *Broker) Approve(ctx context.Context, id, approver, comment string, actor drawbridge.Caller, opts ...Option) (*drawbridge.Request, error) {
	return b.review(ctx, id, approver, comment, true, actor, collect(opts))
}

// Deny records an approver's denial: one denial ends the request.
func (b *Broker) Deny(ctx context.Context, id, approver, comment string, actor drawbridge.Caller) (*drawbridge.Request, error) {
	return b.review(ctx, id, approver, comment, false, actor, options{})
}

func (b *Broker) review(ctx context.Context, id, approverName, comment string, approve bool, actor drawbridge.Caller, o options) (*drawbridge.Request, error) {
	if err := checkInput(idInput("approver", approverName), text("comment", comment, drawbridge.MaxReasonLen)); err != nil {
		return nil, err
	}
	approver, err := b.Directory.Resolve(ctx, approverName)
	if err != nil {
		return nil, err
	}
	if actor, err = actor.ActAs(approver.ID, "review"); err != nil {
		return nil, err
	}
	verb := "approve"
	if !approve {
		verb = "deny"
	}
	var out *drawbridge.Request
	err = retryConflict(ctx, func() error {
		r, err := b.get(ctx, id)
		if err != nil {
			return err
		}
		// The quorum, the approvers and the window are the recorded ones:
		// an approval written into the row by SQL does not count.
		if r, err = b.bound(ctx, r); err != nil {
			return err
		}
		if r.State != drawbridge.StatePendingApproval {
			return drawbridge.Errorf(drawbridge.ECONFLICT, "request %s is %s: only PENDING_APPROVAL requests can be reviewed", r.ID, r.State)
		}
		if !r.ApprovalDeadline.IsZero() && !b.now().Before(r.ApprovalDeadline) {
			// The expiry engine cancels it on its next pass; until then a
			// late review must not grant access.
			return drawbridge.Errorf(drawbridge.ECONFLICT, "request %s: its approval window elapsed at %s; it is being cancelled, submit a new request", r.ID, r.ApprovalDeadline.Format(time.RFC3339))
		}
		if !actor.InScope(r.Entitlement) {
			return drawbridge.Errorf(drawbridge.EFORBIDDEN, "request %s (%s) is not in the scope of %s", r.ID, r.Entitlement, actor.Principal)
		}
		if err := b.checkDistinctPerson(ctx, r, approver, verb); err != nil {
			return err
		}
		// One snapshot of the policy in force: the rule that admits the
		// approver and the SHA-256 recorded with the approval must come from
		// the same version, even if a reload lands in between.
		pol, err := b.decidingPolicy()
		if err != nil {
			return err
		}
		rule, ok := pol.Rule(r.Decision.Rule)
		if !ok {
			return drawbridge.Errorf(drawbridge.EFORBIDDEN, "rule %q that required approval of %s is no longer in the policy in force, so nobody is an eligible approver; cancel it and submit again", r.Decision.Rule, r.ID)
		}
		if !rule.IsApprover(approver) {
			return drawbridge.Errorf(drawbridge.EFORBIDDEN, "%s is not an approver for rule %q (approvers: %s)", approver.ID, rule.Name, joinApprovers(rule.Approvers))
		}
		// Only an eligible approver's attempt finds out (and records) that
		// an extension can no longer be approved.
		if approve {
			if err := b.refuseOrphanApproval(ctx, r); err != nil {
				return err
			}
		}
		now := b.now()
		a := drawbridge.Approval{Approver: approver.ID, Approved: approve, Comment: comment, At: now}
		if actor.OnBehalfOf(approver.ID) {
			a.By = actor.Principal
		}
		r.Approvals = append(r.Approvals, a)
		details := map[string]string{"approver": approver.ID, "approved": fmt.Sprint(approve), "comment": comment,
			"rule": rule.Name, "policy_sha256": pol.SHA256()}
		if a.By != "" {
			details["on_behalf_of"] = approver.ID
		}
		events := []drawbridge.AuditEvent{b.event(actor, drawbridge.ActionApprovalRecorded, r, details)}
		required := r.Decision.ApprovalsRequired
		if required < 1 {
			required = 1
		}
		switch {
		case !approve:
			ev, err := b.transition(r, drawbridge.EventDeny, actor, map[string]string{"reason": "denied by " + approver.ID})
			if err != nil {
				return err
			}
			r.EndedAt = now
			r.EndReason = "denied by " + approver.ID
			if comment != "" {
				r.EndReason += ": " + comment
			}
			events = append(events, ev)
		case r.DistinctApprovers() >= required:
			breach, err := b.continuousAtApproval(ctx, r, rule, now)
			if err != nil {
				return err
			}
			if breach != "" {
				ev, err := b.transition(r, drawbridge.EventDeny, actor, map[string]string{"reason": breach,
					"rule": rule.Name, "policy_sha256": pol.SHA256()})
				if err != nil {
					return err
				}
				r.EndedAt, r.EndReason = now, breach
				events = append(events, ev)
				break
			}
			ev, err := b.transition(r, drawbridge.EventApprove, actor, map[string]string{
				"approvals": fmt.Sprint(r.DistinctApprovers()), "required": fmt.Sprint(required)})
			if err != nil {
				return err
			}
			// Claimed by this process, or due now for the engine.
			r.NextAttemptAt = now.Add(b.ProvisionLease)
			if o.background {
				r.NextAttemptAt = now
			}
			events = append(events, ev)
		}
		if err := b.Store.UpdateRequest(ctx, r, events...); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.changed(out.DueAt())
	if out.State == drawbridge.StateApproved && !o.background {
		return b.provision(ctx, out, time.Time{})
	}
	return out, nil
}

func joinApprovers(as []string) string {
	s := ""
	for i, a := range as {
		if i > 0 {
			s += ", "
		}
		s += a
	}
	return s
}

// Cancel withdraws a pending request. Only its requester (or an admin)
// may cancel it.
func (b *Broker) Cancel(ctx context.Context, id string, actor drawbridge.Caller) (*drawbridge.Request, error) {
	var out *drawbridge.Request
	err := retryConflict(ctx, func() error {
		r, err := b.get(ctx, id)
		if err != nil {
			return err
		}
		if !actor.Admin() && actor.Principal != r.Requester {
			return drawbridge.Errorf(drawbridge.EFORBIDDEN, "only the requester %s can cancel %s", r.Requester, r.ID)
		}
		if r.State != drawbridge.StatePendingApproval {
			if r.State == drawbridge.StateActive {
				return drawbridge.Errorf(drawbridge.ECONFLICT, "request %s is ACTIVE: use revoke to end an active grant", r.ID)
			}
			return drawbridge.Errorf(drawbridge.ECONFLICT, "request %s is %s: only PENDING_APPROVAL requests can be cancelled", r.ID, r.State)
		}
		ev, err := b.transition(r, drawbridge.EventCancel, actor, map[string]string{"reason": "cancelled by " + actor.Principal})
		if err != nil {
			return err
		}
		r.EndedAt = b.now()
		r.EndReason = "cancelled by " + actor.Principal
		if err := b.Store.UpdateRequest(ctx, r, ev); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}
