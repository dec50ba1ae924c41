package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
	"github.com/drawbridge-jit/drawbridge/policy"
)

// SubmitInput is one ask.
type SubmitInput struct {
	// Requester names the person asking (email or Slack id). In remote and
	// Slack channels the channel fills it from the authenticated identity.
	Requester   string
	Entitlement drawbridge.Entitlement
	Duration    time.Duration
	Reason      string
	Ticket      string
	// Extends is the id of an ACTIVE request this one extends.
	Extends string
}

// Submit records a request, decides it by policy and, when allowed,
// provisions it before returning (or, with ProvisionInBackground, leaves
// that to the expiry engine). A DENIED request is recorded and returned
// without error: auditors want to see those attempts.
func (b *Broker) Submit(ctx context.Context, in SubmitInput, actor drawbridge.Caller, opts ...Option) (*drawbridge.Request, error) {
	if err := checkInput(idInput("requester", in.Requester), idInput("provider", in.Entitlement.Provider),
		idInput("resource (account id)", in.Entitlement.Resource), idInput("role (permission set)", in.Entitlement.Role),
		text("reason", in.Reason, drawbridge.MaxReasonLen), text("ticket", in.Ticket, drawbridge.MaxTicketLen)); err != nil {
		return nil, err
	}
	// Checked here, not in the channels, so that every channel (CLI, API,
	// Slack, extensions) gets the same limits.
	if err := duration.CheckGrant(in.Duration, b.MinDuration); err != nil {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "%v", err)
	}
	// The provider's own catalog names the entitlement: the provider
	// filled in, an alias replaced by the resource's name.
	e, err := b.Catalog.Resolve(in.Entitlement)
	if err != nil {
		return nil, err
	}
	in.Entitlement = e
	if _, ok := b.Providers[in.Entitlement.Provider]; !ok {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "provider %q is not configured", in.Entitlement.Provider)
	}
	requester, err := b.Directory.Resolve(ctx, in.Requester)
	if err != nil {
		return nil, err
	}
	if actor, err = actor.ActAs(requester.ID, "submit a request"); err != nil {
		return nil, err
	}
	if !actor.InScope(in.Entitlement) {
		return nil, drawbridge.Errorf(drawbridge.EFORBIDDEN, "%s is not in the scope of %s: ask for a caller scoped to it", in.Entitlement, actor.Principal)
	}
	var extendsUntil time.Time
	if in.Extends != "" {
		orig, err := b.get(ctx, in.Extends)
		if err != nil {
			return nil, err
		}
		if orig.State != drawbridge.StateActive {
			return nil, drawbridge.Errorf(drawbridge.ECONFLICT, "request %s is %s: only an ACTIVE grant can be extended", orig.ID, orig.State)
		}
		if orig.Requester != requester.ID || orig.Entitlement != in.Entitlement {
			return nil, drawbridge.Errorf(drawbridge.EINVALID, "an extension must be for the same person and entitlement as %s", orig.ID)
		}
		if err := b.refuseSecondExtension(ctx, orig); err != nil {
			return nil, err
		}
		extendsUntil = orig.ExpiresAt
	}

	pol, err := b.decidingPolicy()
	if err != nil {
		return nil, err
	}
	now := b.now()
	since, err := b.continuousSince(ctx, requester.ID, in.Entitlement, now)
	if err != nil {
		return nil, err
	}
	ous, tags := b.Catalog.ResourceAttrs(in.Entitlement)
	dec := pol.Evaluate(&policy.Input{
		Requester: requester, Entitlement: in.Entitlement, Duration: in.Duration,
		Reason: in.Reason, Ticket: in.Ticket, Now: now, OUs: ous, Tags: tags,
		ContinuousSince: since, ExtendsUntil: extendsUntil,
	})
	r := &drawbridge.Request{
		ID: drawbridge.NewRequestID(), Requester: requester.ID, Entitlement: in.Entitlement,
		Duration: in.Duration, Reason: in.Reason, Ticket: in.Ticket, Channel: actor.Channel,
		State: drawbridge.StateNew, Decision: dec, Extends: in.Extends, CreatedAt: now, DecidedAt: now,
	}
	submitted := b.event(actor, "submit", r, map[string]string{
		"requester": r.Requester, "entitlement": r.Entitlement.String(), "duration": r.Duration.String(),
		"reason": r.Reason, "ticket": r.Ticket, "extends": r.Extends,
	})
	if actor.OnBehalfOf(r.Requester) {
		submitted.Details["on_behalf_of"] = r.Requester
	}
	var ev drawbridge.Event
	switch dec.Effect {
	case drawbridge.EffectAllow:
		ev = drawbridge.EventAllow
	case drawbridge.EffectRequireApproval:
		ev = drawbridge.EventRequireApproval
		r.ApprovalDeadline = now.Add(dec.ApprovalTimeout)
	default:
		ev = drawbridge.EventDeny
		r.EndedAt = now
	}
	decided, err := b.transition(r, ev, actor, map[string]string{
		"rule": dec.Rule, "policy_sha256": dec.PolicySHA, "reason": dec.Reason,
	})
	if err != nil {
		return nil, err
	}
	events := []drawbridge.AuditEvent{submitted, decided}
	var prov drawbridge.Provider
	var approved *drawbridge.Request
	start, startErr := startOK, error(nil)
	switch {
	case r.State != drawbridge.StateApproved:
	case collect(opts).background:
		// Due now and unclaimed: the engine, woken by changed below,
		// provisions it.
		r.NextAttemptAt = now
	default:
		// Claim provisioning for this process; if it dies the expiry
		// engine resumes once the lease is up.
		r.NextAttemptAt = now.Add(b.ProvisionLease)
		prov = b.Providers[r.Provider]
		approved = r.Clone()
		var ev drawbridge.AuditEvent
		ev, start, startErr = b.prepareProvisioning(ctx, prov, r, requester)
		if start == startOK {
			events = append(events, ev)
		}
	}
	err = b.Store.CreateRequest(ctx, r, events...)
	if busy := drawbridge.AsAssignmentBusy(err); busy != nil && approved != nil {
		// The assignment is being deleted by another grant's revocation:
		// record the request APPROVED and provision it once the deletion
		// is confirmed.
		r, start, startErr = approved, startRetryable, busy
		err = b.Store.CreateRequest(ctx, r, events[:len(events)-1]...)
	}
	if err != nil {
		return nil, fmt.Errorf("submit: %w", err)
	}
	b.Logger.Info("request decided", "request", r.ID, "state", r.State, "rule", dec.Rule, "requester", r.Requester, "entitlement", r.Entitlement.String())
	b.changed(r.DueAt())
	switch {
	case prov == nil:
		return r, nil
	case start == startFail:
		return b.failProvisioning(ctx, r, startErr)
	case start == startRetryable:
		return b.retryProvisioning(ctx, r, startErr)
	}
	return b.grant(ctx, prov, r, requester, time.Time{})
}

// Extend submits a request for the same entitlement linked to the ACTIVE
// request id; policy decides it like any other. While both are ACTIVE they
// share the provider assignment, so access lasts until the later expiry.
// The rules that bound extensions are in extend.go.
func (b *Broker) Extend(ctx context.Context, id string, d time.Duration, reason, ticket string, actor drawbridge.Caller, opts ...Option) (*drawbridge.Request, error) {
	if err := checkInput(text("reason", reason, drawbridge.MaxReasonLen), text("ticket", ticket, drawbridge.MaxTicketLen)); err != nil {
		return nil, err
	}
	orig, err := b.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if reason == "" {
		reason = orig.Reason
	}
	if ticket == "" {
		ticket = orig.Ticket
	}
	return b.Submit(ctx, SubmitInput{
		Requester: orig.Requester, Entitlement: orig.Entitlement, Duration: d,
		Reason: reason, Ticket: ticket, Extends: orig.ID,
	}, actor, opts...)
}
