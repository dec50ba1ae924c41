package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// provisionStart is what prepareProvisioning decided.
type provisionStart int

const (
	startOK        provisionStart = iota // r is PROVISIONING; write ev
	startFail                            // permanent: end FAILED
	startRetryable                       // try again later
)

// ListingLag is how long after Drawbridge confirmed the deletion of an
// assignment a provider listing that still shows it is not believed.
// Listings (AWS ListAccountAssignments among them) are not documented as
// strongly consistent, so a listing taken right after a deletion may show
// what is already gone; concluding "standing access" from it would keep the
// next grant's assignment forever. Fifteen minutes is far beyond the
// seconds such listings lag in practice; the cost of a long window is only
// that standing access an administrator creates by hand in the minutes
// after a Drawbridge deletion is taken for Drawbridge's own.
const ListingLag = 15 * time.Minute

// prepareProvisioning moves an APPROVED request to PROVISIONING in memory:
// it resolves the provider's id for the requester, asks the provider
// whether the assignment already exists and decides from that answer
// whether it is standing access, and records when provisioning began.
// The caller writes the returned event — together with the request's
// creation on the auto-allow path, so one transaction does both — before
// the provider is asked to grant.
func (b *Broker) prepareProvisioning(ctx context.Context, prov drawbridge.Provider, r *drawbridge.Request, requester *drawbridge.Principal) (drawbridge.AuditEvent, provisionStart, error) {
	// r.NextAttemptAt is the lease this process holds on r (or, on the
	// auto-allow path, the one it is about to write).
	callCtx, cancel := b.leasedCtx(ctx, r.NextAttemptAt)
	defer cancel()
	ref, err := prov.PrincipalRef(callCtx, requester)
	if err != nil {
		if drawbridge.IsPermanent(err) || drawbridge.ErrorCode(err) == drawbridge.EINVALID {
			return drawbridge.AuditEvent{}, startFail, err
		}
		return drawbridge.AuditEvent{}, startRetryable, err
	}
	a := drawbridge.Assignment{Entitlement: r.Entitlement, PrincipalRef: ref}
	found, standing, why, err := b.standing(ctx, callCtx, prov, a, r.ID)
	if err != nil {
		// A permanent answer (a permission the provider says is missing)
		// will not change by retrying: fail now, with its message, as a
		// permanent answer to Grant does. Nothing was created.
		if drawbridge.IsPermanent(err) {
			return drawbridge.AuditEvent{}, startFail, err
		}
		return drawbridge.AuditEvent{}, startRetryable, err
	}
	now := b.now()
	r.PrincipalRef = ref
	r.AssignmentFound = found
	r.PreexistingAccess = standing
	r.ProvisionStartedAt = now
	r.NextAttemptAt = now.Add(b.ProvisionLease)
	ev, err := b.transition(r, drawbridge.EventProvision, System, map[string]string{
		"principal_ref": ref, "assignment_found": fmt.Sprint(found), "preexisting_access": fmt.Sprint(standing),
		"standing": why, "provision_started_at": r.ProvisionStartedAt.Format(timeFormat)})
	if err != nil {
		return drawbridge.AuditEvent{}, startFail, err
	}
	return ev, startOK, nil
}

// timeFormat is how times appear in audit details.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// provision takes an APPROVED (or interrupted PROVISIONING) request to
// ACTIVE through its provider. Retryable failures leave it PROVISIONING
// with a next attempt time the expiry engine honours; permanent failures,
// or too many attempts, end it FAILED with the reason. before is the
// request's ProvisionStartedAt as it was before this attempt began.
func (b *Broker) provision(ctx context.Context, r *drawbridge.Request, before time.Time) (*drawbridge.Request, error) {
	prov := b.Providers[r.Provider]
	if prov == nil {
		return b.failProvisioning(ctx, r, fmt.Errorf("provider %q is not configured", r.Provider))
	}
	requester, err := b.Directory.Resolve(ctx, r.Requester)
	if err != nil {
		if r.State == drawbridge.StateApproved || drawbridge.ErrorCode(err) == drawbridge.EINVALID || drawbridge.ErrorCode(err) == drawbridge.ENOTFOUND {
			return b.failProvisioning(ctx, r, err)
		}
		return b.retryProvisioning(ctx, r, err)
	}
	if r.State == drawbridge.StateApproved {
		approved := r.Clone()
		ev, start, err := b.prepareProvisioning(ctx, prov, r, requester)
		switch start {
		case startFail:
			return b.failProvisioning(ctx, r, err)
		case startRetryable:
			return b.retryProvisioning(ctx, r, err)
		}
		if err := b.Store.UpdateRequest(ctx, r, ev); err != nil {
			if busy := drawbridge.AsAssignmentBusy(err); busy != nil {
				return b.retryProvisioning(ctx, approved, busy)
			}
			return nil, err
		}
	}
	return b.grant(ctx, prov, r, requester, before)
}

// grant asks the provider for a PROVISIONING request's assignment and
// records the outcome. Expiry counts from ProvisionStartedAt, written
// before the call: access may have begun as soon as the provider was
// asked, and a crash between the provider's answer and the ACTIVE write
// must not lengthen it. The end is computed before the call too, so the
// provider is told it (GrantSpec.Until) and the request records the same.
// An extension tells the provider the later end of the assignment it
// shares with its parent: through Extend when the provider has it, else
// through Grant (drawbridge.Provider: extensions). before is
// ProvisionStartedAt as it was before this attempt: an attempt the
// provider definitely rejected gave no access, so the start goes back to it.
func (b *Broker) grant(ctx context.Context, prov drawbridge.Provider, r *drawbridge.Request, requester *drawbridge.Principal, before time.Time) (*drawbridge.Request, error) {
	spec := drawbridge.GrantSpec{RequestID: r.ID, Principal: requester, Reason: r.Reason, Ticket: r.Ticket,
		Assignment: drawbridge.Assignment{Entitlement: r.Entitlement, PrincipalRef: r.PrincipalRef},
		Until:      r.ProvisionStartedAt.Add(r.Duration)}
	var parent *drawbridge.Request
	if r.Extends != "" {
		var err error
		if parent, err = b.Store.GetRequest(ctx, r.Extends); err != nil {
			return b.retryProvisioning(ctx, r, err)
		}
		spec.Until = extensionEnd(r, parent)
		spec.Extends, spec.ExtendsRef = parent.ID, parent.GrantRef
	}
	callCtx, cancel := b.leasedCtx(ctx, r.NextAttemptAt)
	var res drawbridge.GrantResult
	var err error
	if x, ok := prov.(drawbridge.Extender); ok && r.Extends != "" {
		res, err = x.Extend(callCtx, spec)
	} else {
		res, err = prov.Grant(callCtx, spec)
	}
	cancel()
	if err != nil {
		if p := drawbridge.AsPending(err); p != nil {
			if err := b.scheduleLookAgain(ctx, r, drawbridge.ActionProvisionPending, p); err != nil {
				return nil, err
			}
			return r, nil
		}
		if drawbridge.IsPermanent(err) {
			// A permanent answer means this attempt created nothing;
			// only an earlier uncertain one may have.
			r.ProvisionStartedAt = before
			return b.failProvisioning(ctx, r, err)
		}
		if drawbridge.IsRejected(err) {
			r.ProvisionStartedAt = before
		}
		return b.retryProvisioning(ctx, r, err)
	}
	now := b.now()
	r.ActivatedAt = now
	r.ExpiresAt = spec.Until
	r.GrantRef = res.GrantRef
	details := providerDetails(res.Details)
	parentRevoked := false
	if r.Extends != "" {
		if parentRevoked, err = b.extensionWindow(ctx, r, parent, details); err != nil {
			return b.retryProvisioning(ctx, r, err)
		}
	}
	if r.GrantRef != "" {
		details["grant_ref"] = r.GrantRef
	}
	r.LastError = ""
	r.NextAttemptAt = now
	r.NoticeAt = b.noticeAt(r, now)
	details["expires_at"] = r.ExpiresAt.Format(timeFormat)
	details["provision_started_at"] = r.ProvisionStartedAt.Format(timeFormat)
	ev, err := b.transition(r, drawbridge.EventActivate, System, details)
	if err != nil {
		return nil, err
	}
	if err := b.Store.UpdateRequest(ctx, r, ev); err != nil {
		return nil, err
	}
	b.Logger.Info("grant active", "request", r.ID, "entitlement", r.Entitlement.String(), "expires_at", r.ExpiresAt)
	b.changed(r.DueAt())
	if parentRevoked {
		return b.Revoke(ctx, r.ID, fmt.Sprintf("the grant it extends, %s, was revoked", r.Extends), systemAdmin)
	}
	return r, nil
}

// providerDetails returns a new audit details map holding what a provider
// reported, each key prefixed "provider_" so that it can never pass for
// one of the core's own keys (from, to, expires_at, …).
func providerDetails(from map[string]string) map[string]string {
	out := make(map[string]string, len(from)+4)
	for k, v := range from {
		out["provider_"+k] = v
	}
	return out
}

// standing asks the provider whether assignment a exists (within callCtx)
// and decides whether that is standing access: present, and not explained
// by any Drawbridge grant. why says which, for the audit event. Nothing is
// inherited from another grant's record of standing access. A provider
// that cannot check existence (no drawbridge.ExistenceChecker) is answered
// "not found": its grants are never standing, so the end of the last live
// grant of the assignment removes it — the provider keeps whatever access
// it holds for other reasons (drawbridge.ExistenceChecker).
func (b *Broker) standing(ctx, callCtx context.Context, prov drawbridge.Provider, a drawbridge.Assignment, self string) (found, standing bool, why string, err error) {
	checker, ok := prov.(drawbridge.ExistenceChecker)
	if !ok {
		return false, false, "the provider cannot check whether the assignment exists: it is taken for this grant's own, never standing access", nil
	}
	found, err = checker.Exists(callCtx, a)
	if err != nil {
		return false, false, "", fmt.Errorf("check existing %s: %w", a.Entitlement, err)
	}
	if !found {
		return false, false, "the provider reported no such assignment: this grant's own create makes it", nil
	}
	by, err := b.explainedBy(ctx, a, self)
	if err != nil {
		return false, false, "", err
	}
	if by != "" {
		return true, false, "the provider reported the assignment present, but " + by, nil
	}
	return true, true, "the provider reported the assignment present and no Drawbridge grant explains it", nil
}

// explainedBy says why an assignment the provider reports present is
// Drawbridge's own doing rather than standing access: another live grant
// made it (or is deleting it), or Drawbridge deleted it within ListingLag
// and the listing may lag. It returns "" when nothing explains it.
func (b *Broker) explainedBy(ctx context.Context, a drawbridge.Assignment, self string) (string, error) {
	now := b.now()
	since := now.Add(-ListingLag)
	hist, err := b.Store.AssignmentGrants(ctx, a, since)
	if err != nil {
		return "", err
	}
	// Whether a live standing grant still is standing depends on the grants
	// provisioned since it began: read back that far when it is older.
	from := since
	for _, g := range hist {
		if live(g) && g.PreexistingAccess && g.ProvisionStartedAt.Before(from) {
			from = g.ProvisionStartedAt
		}
	}
	if from.Before(since) {
		if hist, err = b.Store.AssignmentGrants(ctx, a, from); err != nil {
			return "", err
		}
	}
	for _, g := range hist {
		switch {
		case g.ID == self:
		case live(g) && g.DeletesAssignment:
			return fmt.Sprintf("the revocation of %s is deleting it", g.ID), nil
		case live(g) && !stillStanding(g, hist):
			return fmt.Sprintf("Drawbridge holds it for %s (%s)", g.ID, g.State), nil
		case !live(g) && g.DeletesAssignment && !g.EndedAt.Before(since):
			return fmt.Sprintf("Drawbridge deleted it for %s at %s, less than %s ago, and listings may lag",
				g.ID, g.EndedAt.Format(timeFormat), ListingLag), nil
		}
	}
	return "", nil
}

// live reports whether g still holds or is handling its assignment.
func live(g *drawbridge.Request) bool {
	switch g.State {
	case drawbridge.StateProvisioning, drawbridge.StateActive, drawbridge.StateRevoking:
		return true
	}
	return false
}

// stillStanding reports whether g recorded standing access and that
// standing assignment is still the one in place: no grant whose
// provisioning began at or after g's found the assignment absent. If one
// did, the standing assignment was removed (typically: an administrator
// moved the person to just-in-time access) and whatever is there now was
// created by Drawbridge, so g ends like any Drawbridge grant. hist must
// hold the grants of the assignment that had not ended when g began.
func stillStanding(g *drawbridge.Request, hist []*drawbridge.Request) bool {
	if !g.PreexistingAccess {
		return false
	}
	for _, h := range hist {
		if h.ID != g.ID && !h.AssignmentFound && !h.ProvisionStartedAt.IsZero() && !h.ProvisionStartedAt.Before(g.ProvisionStartedAt) {
			return false
		}
	}
	return true
}

func (b *Broker) retryProvisioning(ctx context.Context, r *drawbridge.Request, cause error) (*drawbridge.Request, error) {
	r.ProvisionAttempts++
	if r.ProvisionAttempts >= b.MaxProvisionAttempts {
		return b.failProvisioning(ctx, r, fmt.Errorf("gave up after %d attempts: %w", r.ProvisionAttempts, cause))
	}
	if err := b.scheduleRetry(ctx, r, r.ProvisionAttempts, drawbridge.ActionProvisionAttemptFailed, cause, nil); err != nil {
		return nil, err
	}
	b.Logger.Warn("provisioning failed, will retry", "request", r.ID, "error", cause, "attempt", r.ProvisionAttempts)
	return r, nil
}

// scheduleRetry records a failed provider attempt (the attempt-th) on r:
// its error, the next attempt after a capped, jittered backoff — or after
// the provider's retry-after hint when that is later — and an audit event
// with action; the expiry engine picks r up again then.
func (b *Broker) scheduleRetry(ctx context.Context, r *drawbridge.Request, attempt int, action string, cause error, details map[string]string) error {
	if details == nil {
		details = map[string]string{}
	}
	wait := b.backoff(attempt)
	if hint, ok := drawbridge.RetryAfterHint(cause); ok {
		details["retry_after"] = hint.String()
		wait = max(wait, b.honoured(hint))
	}
	r.LastError = cause.Error()
	r.NextAttemptAt = b.now().Add(wait)
	details["error"] = cause.Error()
	details["attempt"] = fmt.Sprint(attempt)
	details["next_attempt_at"] = r.NextAttemptAt.Format("2006-01-02T15:04:05Z07:00")
	if err := b.Store.UpdateRequest(ctx, r, b.event(System, action, r, details)); err != nil {
		return err
	}
	b.changed(r.DueAt())
	return nil
}

// honoured is how long the core waits for a provider's hint: as long as
// the hint says, but never longer than the backoff's cap, so that a
// provider (or anything answering in its name) cannot postpone a
// revocation beyond the retry schedule the operator configured.
func (b *Broker) honoured(hint time.Duration) time.Duration {
	return min(max(hint, 0), b.RetryCap)
}

// scheduleLookAgain records the provider's answer "accepted, still working
// on it" (drawbridge.Pending) on r, which stays PROVISIONING or REVOKING:
// not a failed attempt, so no attempt is counted and nothing gives up. The
// next look is at the time the provider gave, no sooner than RetryBase
// (a provider answering "now" again and again must not spin the engine)
// and no later than RetryCap from now.
func (b *Broker) scheduleLookAgain(ctx context.Context, r *drawbridge.Request, action string, p *drawbridge.PendingError) error {
	now := b.now()
	wait := b.honoured(p.At.Sub(now))
	r.NextAttemptAt = now.Add(max(wait, b.RetryBase))
	ev := b.event(System, action, r, map[string]string{
		"status": p.Status, "look_again_at": r.NextAttemptAt.Format(timeFormat)})
	if err := b.Store.UpdateRequest(ctx, r, ev); err != nil {
		return err
	}
	b.Logger.Info("provider still working, will look again", "request", r.ID, "state", r.State, "status", p.Status, "at", r.NextAttemptAt)
	b.changed(r.DueAt())
	return nil
}

func (b *Broker) failProvisioning(ctx context.Context, r *drawbridge.Request, cause error) (*drawbridge.Request, error) {
	if r.State == drawbridge.StateProvisioning && !r.ProvisionStartedAt.IsZero() && r.PrincipalRef != "" {
		return b.abandon(ctx, r, cause)
	}
	// From APPROVED both steps are written at once: a request is never
	// stored PROVISIONING on its way to FAILED, so a refused provisioning
	// (the assignment being deleted) cannot block the failure's record.
	var events []drawbridge.AuditEvent
	if r.State == drawbridge.StateApproved {
		ev, err := b.transition(r, drawbridge.EventProvision, System, nil)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	r.LastError = cause.Error()
	r.EndedAt = b.now()
	r.EndReason = "provisioning failed"
	ev, err := b.transition(r, drawbridge.EventFail, System, map[string]string{"error": cause.Error()})
	if err != nil {
		return nil, err
	}
	if err := b.Store.UpdateRequest(ctx, r, append(events, ev)...); err != nil {
		return nil, err
	}
	b.Logger.Error("provisioning failed", "request", r.ID, "error", cause)
	return r, nil
}

// abandon ends the provisioning of r when an attempt whose outcome is
// unknown (ProvisionStartedAt still set: a timeout, a lost answer, a
// status never confirmed) may have created the assignment. Writing FAILED
// at once would leave that assignment in place with nothing watching it,
// so r goes REVOKING instead — visible, retried with backoff, and
// overlap-aware through the same deletion claim as any revocation — and
// ends FAILED only once the provider confirmed the removal.
func (b *Broker) abandon(ctx context.Context, r *drawbridge.Request, cause error) (*drawbridge.Request, error) {
	r.LastError = cause.Error()
	r.EndReason = "provisioning failed"
	plan, err := b.startRevoking(ctx, r, drawbridge.EventAbandon, System, map[string]string{
		"error":  cause.Error(),
		"reason": "provisioning gave up after an attempt that may have created the assignment: removing it before FAILED",
	})
	if err != nil {
		return nil, err
	}
	b.Logger.Error("provisioning failed, removing what an uncertain attempt may have created", "request", r.ID, "error", cause)
	return b.revoke(ctx, r, plan)
}
