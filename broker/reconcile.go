package broker

import (
	"context"
	"fmt"
	"sync"

	"github.com/drawbridge-jit/drawbridge"
)

// Drift kinds reported by Reconcile.
const (
	// DriftUnmanaged is an assignment nobody granted through Drawbridge and
	// that is not recorded standing access: access given outside Drawbridge.
	DriftUnmanaged = "unmanaged_assignment"
	// DriftLeftover is an assignment Drawbridge created for a grant that has
	// ended: it should not exist. Fix deletes it.
	DriftLeftover = "leftover_assignment"
	// DriftMissing is an ACTIVE grant whose assignment is gone (removed
	// outside Drawbridge).
	DriftMissing = "missing_assignment"
)

// Finding is one drift.
type Finding struct {
	Kind       string                `json:"kind"`
	Assignment drawbridge.Assignment `json:"assignment"`
	RequestID  string                `json:"request_id,omitempty"`
	Fixed      bool                  `json:"fixed"`
	// Note says why a finding was classified or left unfixed.
	Note  string `json:"note,omitempty"`
	Error string `json:"error,omitempty"`
}

// ReconcileReport is what one reconciliation pass found.
type ReconcileReport struct {
	Assignments int       `json:"assignments_checked"`
	Grants      int       `json:"active_grants_checked"`
	Findings    []Finding `json:"findings"`
}

type assignmentKey struct {
	drawbridge.Entitlement
	principal string
}

func keyOf(e drawbridge.Entitlement, principal string) assignmentKey {
	return assignmentKey{e, principal}
}

// listAll pages through every request matching f.
func (b *Broker) listAll(ctx context.Context, f drawbridge.RequestFilter) ([]*drawbridge.Request, error) {
	var out []*drawbridge.Request
	f.Limit = 1000
	for page := 0; page < 100000; page++ { // bounded: 10^8 requests
		rs, err := b.Store.ListRequests(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		if len(rs) < f.Limit {
			return out, nil
		}
		f.Cursor = rs[len(rs)-1].ID
	}
	return out, nil
}

// Reconcile compares the assignments providers hold for the managed roles
// with what Drawbridge's grants explain, records each finding in the audit
// trail, and with fix deletes leftover assignments Drawbridge itself created
// — never standing access or assignments made outside Drawbridge.
func (b *Broker) Reconcile(ctx context.Context, fix bool, actor Actor) (*ReconcileReport, error) {
	rep := &ReconcileReport{}
	lister, ok := b.Catalog.(drawbridge.ResourceLister)
	if !ok {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "reconcile needs the list of accounts: configure accounts in drawbridge.yaml")
	}
	resources := lister.Resources()
	live, err := b.listAll(ctx, drawbridge.RequestFilter{States: []drawbridge.State{
		drawbridge.StateProvisioning, drawbridge.StateActive, drawbridge.StateRevoking}})
	if err != nil {
		return nil, err
	}
	standing, err := b.listAll(ctx, drawbridge.RequestFilter{PreexistingOnly: true})
	if err != nil {
		return nil, err
	}
	explained := map[assignmentKey]bool{}
	for _, r := range live {
		explained[keyOf(r.Entitlement, r.ProviderRef)] = true
	}
	for _, r := range standing {
		explained[keyOf(r.Entitlement, r.ProviderRef)] = true
	}
	var events []drawbridge.AuditEvent
	record := func(f Finding) {
		rep.Findings = append(rep.Findings, f)
		details := map[string]string{"kind": f.Kind, "entitlement": f.Assignment.Entitlement.String(),
			"principal_ref": f.Assignment.Principal, "fixed": fmt.Sprint(f.Fixed)}
		if f.Error != "" {
			details["error"] = f.Error
		}
		events = append(events, drawbridge.AuditEvent{Time: b.now(), Actor: actor.Principal,
			Action: "drift_detected", RequestID: f.RequestID, Details: details})
	}
	for name, prov := range b.Providers {
		al, ok := prov.(drawbridge.AssignmentLister)
		if !ok {
			continue
		}
		held, err := al.ListAssignments(ctx, resources)
		if err != nil {
			return nil, fmt.Errorf("reconcile %s: %w", name, err)
		}
		rep.Assignments += len(held)
		present := map[assignmentKey]bool{}
		for _, a := range held {
			k := keyOf(a.Entitlement, a.Principal)
			present[k] = true
			if explained[k] {
				continue
			}
			f := Finding{Kind: DriftUnmanaged, Assignment: a}
			if ended, err := b.endedGrant(ctx, a); err != nil {
				return nil, err
			} else if ended != nil {
				f.Kind, f.RequestID = DriftLeftover, ended.ID
				if fix {
					callCtx, cancel := b.providerCtx(ctx)
					err := prov.Revoke(callCtx, a)
					cancel()
					if err != nil {
						f.Error = err.Error()
					} else {
						f.Fixed = true
					}
				}
			}
			record(f)
		}
		for _, r := range live {
			if r.Provider != name || r.State != drawbridge.StateActive {
				continue
			}
			rep.Grants++
			if !present[keyOf(r.Entitlement, r.ProviderRef)] && contains(resources, r.Resource) {
				record(Finding{Kind: DriftMissing, RequestID: r.ID,
					Assignment: drawbridge.Assignment{Entitlement: r.Entitlement, Principal: r.ProviderRef}})
			}
		}
	}
	if len(events) > 0 {
		if err := b.Store.AppendAudit(ctx, events...); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// endedGrant finds an ended grant that created assignment a (so deleting a
// leftover never touches access Drawbridge did not create).
func (b *Broker) endedGrant(ctx context.Context, a drawbridge.Assignment) (*drawbridge.Request, error) {
	rs, err := b.listAll(ctx, drawbridge.RequestFilter{Provider: a.Provider, Resource: a.Resource, Role: a.Role,
		States: []drawbridge.State{drawbridge.StateExpired, drawbridge.StateRevoked}})
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.ProviderRef == a.Principal && !r.PreexistingAccess {
			return r, nil
		}
	}
	return nil, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// RevokeScope selects the grants of an emergency revoke-all; at least one
// field is required.
type RevokeScope struct {
	Requester string // canonical principal id
	Resource  string // account id
}

// RevokeAll revokes every ACTIVE grant in scope at once, a bounded number
// in parallel (the provider's own limiter keeps within its quotas), and
// returns each result; failures stay REVOKING and are retried by the
// expiry engine.
func (b *Broker) RevokeAll(ctx context.Context, scope RevokeScope, reason string, workers int, actor Actor) ([]Step, error) {
	if scope.Requester == "" && scope.Resource == "" {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "revoke --all needs a scope: --principal and/or --account")
	}
	if err := checkInput(idInput("principal", scope.Requester), idInput("account", scope.Resource), text("reason", reason, drawbridge.MaxReasonLen)); err != nil {
		return nil, err
	}
	if scope.Requester != "" {
		p, err := b.Directory.Resolve(ctx, scope.Requester)
		if err != nil {
			return nil, err
		}
		scope.Requester = p.ID
	}
	active, err := b.listAll(ctx, drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StateActive},
		Requester: scope.Requester, Resource: scope.Resource})
	if err != nil {
		return nil, err
	}
	if workers < 1 {
		workers = 20
	}
	steps := make([]Step, len(active))
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, r := range active {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out, err := b.Revoke(ctx, r.ID, reason, actor)
			if out == nil {
				out = r
			}
			steps[i] = Step{Request: out, Action: "revoke", Err: err}
		}()
	}
	wg.Wait()
	return steps, nil
}
