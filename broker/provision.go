package broker

import (
	"context"
	"fmt"

	"github.com/drawbridge-jit/drawbridge"
)

// provisionStart is what prepareProvisioning decided.
type provisionStart int

const (
	startOK        provisionStart = iota // r is PROVISIONING; write ev
	startFail                            // permanent: end FAILED
	startRetryable                       // try again later
)

// prepareProvisioning moves an APPROVED request to PROVISIONING in memory:
// it resolves the provider's id for the requester and records whether the
// assignment is standing access (existing outside Drawbridge) before
// Drawbridge creates it. The caller writes the returned event — together
// with the request's creation on the auto-allow path, so one transaction
// does both.
func (b *Broker) prepareProvisioning(ctx context.Context, prov drawbridge.Provider, r *drawbridge.Request) (drawbridge.AuditEvent, provisionStart, error) {
	requester, err := b.Directory.Resolve(ctx, r.Requester)
	if err != nil {
		return drawbridge.AuditEvent{}, startFail, err
	}
	ref, err := prov.PrincipalRef(ctx, requester)
	if err != nil {
		if drawbridge.IsPermanent(err) || drawbridge.ErrorCode(err) == drawbridge.EINVALID {
			return drawbridge.AuditEvent{}, startFail, err
		}
		return drawbridge.AuditEvent{}, startRetryable, err
	}
	a := drawbridge.Assignment{Entitlement: r.Entitlement, Principal: ref}
	standing, err := b.standing(ctx, prov, a, r.ID)
	if err != nil {
		return drawbridge.AuditEvent{}, startRetryable, err
	}
	r.ProviderRef = ref
	r.PreexistingAccess = standing
	r.NextAttemptAt = b.now().Add(b.ProvisionLease)
	ev, err := b.transition(r, drawbridge.EventProvision, System, map[string]string{
		"principal_ref": ref, "preexisting_access": fmt.Sprint(standing)})
	if err != nil {
		return drawbridge.AuditEvent{}, startFail, err
	}
	return ev, startOK, nil
}

// provision takes an APPROVED (or interrupted PROVISIONING) request to
// ACTIVE through its provider. Retryable failures leave it PROVISIONING
// with a next attempt time the expiry engine honours; permanent failures,
// or too many attempts, end it FAILED with the reason.
func (b *Broker) provision(ctx context.Context, r *drawbridge.Request) (*drawbridge.Request, error) {
	prov := b.Providers[r.Provider]
	if prov == nil {
		return b.failProvisioning(ctx, r, fmt.Errorf("provider %q is not configured", r.Provider))
	}
	if r.State == drawbridge.StateApproved {
		ev, start, err := b.prepareProvisioning(ctx, prov, r)
		switch start {
		case startFail:
			return b.failProvisioning(ctx, r, err)
		case startRetryable:
			return b.retryProvisioning(ctx, r, err)
		}
		if err := b.Store.UpdateRequest(ctx, r, ev); err != nil {
			return nil, err
		}
	}
	return b.grant(ctx, prov, r)
}

// grant asks the provider for a PROVISIONING request's assignment and
// records the outcome.
func (b *Broker) grant(ctx context.Context, prov drawbridge.Provider, r *drawbridge.Request) (*drawbridge.Request, error) {
	a := drawbridge.Assignment{Entitlement: r.Entitlement, Principal: r.ProviderRef}
	callCtx, cancel := b.providerCtx(ctx)
	err := prov.Grant(callCtx, a)
	cancel()
	if err != nil {
		if drawbridge.IsPermanent(err) {
			return b.failProvisioning(ctx, r, err)
		}
		return b.retryProvisioning(ctx, r, err)
	}
	now := b.now()
	r.ActivatedAt = now
	r.ExpiresAt = now.Add(r.Duration)
	if r.Extends != "" {
		// An extension continues from the later of now and the grant it
		// extends, so extending never shortens access.
		if orig, err := b.Store.GetRequest(ctx, r.Extends); err == nil && orig.ExpiresAt.After(now) {
			r.ExpiresAt = orig.ExpiresAt.Add(r.Duration)
		}
	}
	r.LastError = ""
	r.NextAttemptAt = now
	ev, err := b.transition(r, drawbridge.EventActivate, System, map[string]string{
		"expires_at": r.ExpiresAt.Format("2006-01-02T15:04:05.000Z07:00")})
	if err != nil {
		return nil, err
	}
	if err := b.Store.UpdateRequest(ctx, r, ev); err != nil {
		return nil, err
	}
	b.Logger.Info("grant active", "request", r.ID, "entitlement", r.Entitlement.String(), "expires_at", r.ExpiresAt)
	b.changed(r.DueAt())
	return r, nil
}

// standing reports whether the assignment exists outside Drawbridge: it
// exists in the provider and no other live Drawbridge grant created it.
// Standing access is never deleted on revocation.
func (b *Broker) standing(ctx context.Context, prov drawbridge.Provider, a drawbridge.Assignment, self string) (bool, error) {
	live, err := b.Store.LiveGrants(ctx, a.Entitlement, a.Principal)
	if err != nil {
		return false, err
	}
	for _, g := range live {
		if g.ID != self {
			return g.PreexistingAccess, nil
		}
	}
	callCtx, cancel := b.providerCtx(ctx)
	defer cancel()
	exists, err := prov.Exists(callCtx, a)
	if err != nil {
		return false, fmt.Errorf("check existing %s: %w", a.Entitlement, err)
	}
	return exists, nil
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
	if r.State == drawbridge.StateApproved {
		ev, err := b.transition(r, drawbridge.EventProvision, System, nil)
		if err != nil {
			return nil, err
		}
		if err := b.Store.UpdateRequest(ctx, r, ev); err != nil {
			return nil, err
		}
	}
	r.LastError = cause.Error()
	r.EndedAt = b.now()
	r.EndReason = "provisioning failed"
	ev, err := b.transition(r, drawbridge.EventFail, System, map[string]string{"error": cause.Error()})
	if err != nil {
		return nil, err
	}
	if err := b.Store.UpdateRequest(ctx, r, ev); err != nil {
		return nil, err
	}
	b.Logger.Error("provisioning failed", "request", r.ID, "error", cause)
	return r, nil
}
