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
func (b *Broker) prepareProvisioning(ctx context.Context, prov drawbridge.Provider, r *drawbridge.Request) (drawbridge.AuditEvent, provisionStart, error) {
	requester, err := b.Directory.Resolve(ctx, r.Requester)
	if err != nil {
		return drawbridge.AuditEvent{}, startFail, err
	}
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
	a := drawbridge.Assignment{Entitlement: r.Entitlement, Principal: ref}
	found, standing, why, err := b.standing(ctx, callCtx, prov, a, r.ID)
	if err != nil {
		return drawbridge.AuditEvent{}, startRetryable, err
	}
	now := b.now()
	r.ProviderRef = ref
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
	if r.State == drawbridge.StateApproved {
		approved := r.Clone()
		ev, start, err := b.prepareProvisioning(ctx, prov, r)
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
	return b.grant(ctx, prov, r, before)
}

// grant asks the provider for a PROVISIONING request's assignment and
// records the outcome. Expiry counts from ProvisionStartedAt, written
// before the call: access may have begun as soon as the provider was
// asked, and a crash between the provider's answer and the ACTIVE write
// must not lengthen it. before is ProvisionStartedAt as it was before this
// attempt: an attempt the provider definitely rejected gave no access, so
// the start goes back to it.
func (b *Broker) grant(ctx context.Context, prov drawbridge.Provider, r *drawbridge.Request, before time.Time) (*drawbridge.Request, error) {
	a := drawbridge.Assignment{Entitlement: r.Entitlement, Principal: r.ProviderRef}
	callCtx, cancel := b.leasedCtx(ctx, r.NextAttemptAt)
	err := prov.Grant(callCtx, a)
	cancel()
	if err != nil {
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
	r.ExpiresAt = r.ProvisionStartedAt.Add(r.Duration)
	details := map[string]string{}
	parentRevoked := false
	if r.Extends != "" {
		if details, parentRevoked, err = b.extensionWindow(ctx, r); err != nil {
			return b.retryProvisioning(ctx, r, err)
		}
	}
	r.LastError = ""
	r.NextAttemptAt = now
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

// standing asks the provider whether assignment a exists (within callCtx)
// and decides whether that is standing access: present, and not explained
// by any Drawbridge grant. why says which, for the audit event. Nothing is
// inherited from another grant's record of standing access.
func (b *Broker) standing(ctx, callCtx context.Context, prov drawbridge.Provider, a drawbridge.Assignment, self string) (found, standing bool, why string, err error) {
	found, err = prov.Exists(callCtx, a)
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
// its error, the next attempt after a capped, jittered backoff, and an
// audit event with action; the expiry engine picks r up again then.
func (b *Broker) scheduleRetry(ctx context.Context, r *drawbridge.Request, attempt int, action string, cause error, details map[string]string) error {
	r.LastError = cause.Error()
	r.NextAttemptAt = b.now().Add(b.backoff(attempt))
	if details == nil {
		details = map[string]string{}
	}
	details["error"] = cause.Error()
	details["attempt"] = fmt.Sprint(attempt)
	details["next_attempt_at"] = r.NextAttemptAt.Format("2006-01-02T15:04:05Z07:00")
	if err := b.Store.UpdateRequest(ctx, r, b.event(System, action, r, details)); err != nil {
		return err
	}
	b.changed(r.DueAt())
	return nil
}

func (b *Broker) failProvisioning(ctx context.Context, r *drawbridge.Request, cause error) (*drawbridge.Request, error) {
	if r.State == drawbridge.StateProvisioning && !r.ProvisionStartedAt.IsZero() && r.ProviderRef != "" {
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
