package broker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// Drift kinds reported by Reconcile.
const (
	// DriftUnmanaged is an assignment nobody granted through Drawbridge and
	// that is not recorded standing access: access given outside Drawbridge.
	DriftUnmanaged = "unmanaged_assignment"
	// DriftLeftover is an assignment an ended Drawbridge grant left in
	// place (its end did not delete it). Fix deletes it only when the
	// provider's creation time proves it is that grant's own (Reconcile).
	DriftLeftover = "leftover_assignment"
	// DriftMissing is an ACTIVE grant whose assignment is gone (removed
	// outside Drawbridge). Fix grants it again.
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

// creationSkew is the tolerance between the provider's clock and ours when
// a creation time is matched with a grant's provisioning.
const creationSkew = time.Minute

// reconcileBatch is how many grants reconciliation reads from the store at
// once: its memory is one resource's provider listing plus this many rows,
// whatever the number of grants in the store.
const reconcileBatch = 500

// Reconcile compares the assignments providers hold for the managed roles
// with what Drawbridge's grants explain, records each finding in the audit
// trail, and with fix repairs what it can prove:
//   - the missing assignment of an ACTIVE grant is granted again;
//   - a leftover is deleted only when the provider tells the assignment's
//     creation time (drawbridge.AssignmentDater) and that time is the own
//     create of an ended Drawbridge grant, before the last grant of the
//     assignment ended. Anything else — standing access, assignments made
//     outside Drawbridge, one granted again by hand after a grant ended, a
//     leftover the provider cannot date — is reported, never deleted.
//
// It works one resource of one provider at a time, in bounded memory: the
// provider's assignments of that resource, then the resource's live grants
// and recorded standing access read from the store in keyset pages
// (Store.AssignmentHolders). The provider is listed before the store is
// read, so a grant made while reconcile runs is in the store read and
// explains its assignment; a grant activated after the listing began is not
// checked for a missing assignment, and an assignment whose last grant
// ended after the listing began is not reported (the listing predates the
// end). Each resource's findings are recorded as that resource is done.
func (b *Broker) Reconcile(ctx context.Context, fix bool, actor drawbridge.Caller) (*ReconcileReport, error) {
	rep := &ReconcileReport{}
	names := make([]string, 0, len(b.Providers))
	for name := range b.Providers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		al, ok := b.Providers[name].(drawbridge.AssignmentLister)
		if !ok {
			continue
		}
		// Each provider is asked about its own catalog's resources.
		for _, res := range b.Catalog.Resources(name) {
			if err := b.reconcileResource(ctx, name, al, res, fix, actor, rep); err != nil {
				return nil, err
			}
		}
	}
	return rep, nil
}

// reconcileResource reconciles one resource of provider name (Reconcile).
func (b *Broker) reconcileResource(ctx context.Context, name string, al drawbridge.AssignmentLister, res string, fix bool, actor drawbridge.Caller, rep *ReconcileReport) error {
	listStart := b.now()
	as, err := al.ListAssignments(ctx, []string{res})
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", name, err)
	}
	rep.Assignments += len(as)
	// explained[k] exists for every assignment the provider holds, and
	// turns true once a live grant or recorded standing access explains it.
	explained := make(map[assignmentKey]bool, len(as))
	for _, a := range as {
		explained[keyOf(a.Entitlement, a.PrincipalRef)] = false
	}
	var missing []drawbridge.AssignmentHolder
	var after drawbridge.AssignmentHolder
	for {
		page, err := b.Store.AssignmentHolders(ctx, name, res, after, reconcileBatch)
		if err != nil {
			return err
		}
		for _, h := range page {
			k := keyOf(h.Entitlement, h.PrincipalRef)
			_, present := explained[k]
			if present {
				explained[k] = true
			}
			if h.State != drawbridge.StateActive {
				continue
			}
			rep.Grants++
			if !present && !h.ActivatedAt.After(listStart) {
				missing = append(missing, h)
			}
		}
		if len(page) < reconcileBatch {
			break
		}
		after = page[len(page)-1]
	}

	prov := b.Providers[name]
	var events []drawbridge.AuditEvent
	record := func(f Finding, fix string) {
		rep.Findings = append(rep.Findings, f)
		details := map[string]string{"kind": f.Kind, "entitlement": f.Assignment.Entitlement.String(),
			"principal_ref": f.Assignment.PrincipalRef, "fixed": fmt.Sprint(f.Fixed)}
		if f.Fixed {
			details["fix"] = fix
		}
		if f.Note != "" {
			details["note"] = f.Note
		}
		if f.Error != "" {
			details["error"] = f.Error
		}
		events = append(events, drawbridge.AuditEvent{Time: b.now(), Actor: actor.Principal,
			Action: "drift_detected", RequestID: f.RequestID, Details: details})
	}
	for _, a := range as {
		if explained[keyOf(a.Entitlement, a.PrincipalRef)] {
			continue
		}
		f, err := b.unexplained(ctx, prov, a, listStart, fix)
		if err != nil {
			return err
		}
		if f != nil {
			record(*f, "deleted")
		}
	}
	for _, h := range missing {
		f := Finding{Kind: DriftMissing, RequestID: h.RequestID, Assignment: h.Assignment}
		if fix {
			b.regrant(ctx, prov, h.RequestID, &f)
		}
		record(f, "re-granted")
	}
	if len(events) > 0 {
		return b.Store.AppendAudit(ctx, events...)
	}
	return nil
}

// unexplained classifies a held assignment no live grant or recorded
// standing access explains, and with fix deletes it when it can prove it
// is a leftover of Drawbridge's own (see Reconcile). It returns nil when
// the assignment's last grant ended after the listing began. It reads the
// assignment's last ended grant, and only when the provider dates the
// assignment, the grants that were live around that date: never the
// assignment's whole history.
func (b *Broker) unexplained(ctx context.Context, prov drawbridge.Provider, a drawbridge.Assignment, listStart time.Time, fix bool) (*Finding, error) {
	f := &Finding{Kind: DriftUnmanaged, Assignment: a}
	last, err := b.Store.LastEndedGrant(ctx, a)
	if err != nil {
		return nil, err
	}
	switch {
	case last == nil:
		return f, nil
	case last.EndedAt.After(listStart):
		return nil, nil
	case last.DeletesAssignment:
		f.RequestID = last.ID
		f.Note = fmt.Sprintf("Drawbridge deleted this assignment when %s ended at %s; it was created again since, outside Drawbridge",
			last.ID, last.EndedAt.Format(time.RFC3339))
		return f, nil
	}
	f.Kind, f.RequestID = DriftLeftover, last.ID
	dater, ok := prov.(drawbridge.AssignmentDater)
	if !ok {
		f.Note = fmt.Sprintf("not deleted: the provider cannot tell the assignment's creation time, so a grant by hand since %s ended cannot be ruled out; remove it by hand unless it is meant to stay", last.ID)
		return f, nil
	}
	created, known, err := dater.AssignmentCreatedAt(ctx, a)
	switch {
	case err != nil:
		f.Error = err.Error()
		return f, nil
	case !known:
		f.Note = "not deleted: the provider did not report the assignment's creation time"
		return f, nil
	}
	// A grant that ended before created (less the skew) cannot have been
	// provisioning at created: the grants live then are all createdBy needs.
	hist, err := b.Store.AssignmentGrants(ctx, a, created.Add(-creationSkew))
	if err != nil {
		return nil, err
	}
	creator := createdBy(hist, created)
	if creator == nil || !created.Before(last.EndedAt) {
		f.Kind = DriftUnmanaged
		f.Note = fmt.Sprintf("created at %s, which no Drawbridge grant's own create explains: made outside Drawbridge", created.UTC().Format(time.RFC3339))
		return f, nil
	}
	f.Note = fmt.Sprintf("created at %s by the provisioning of %s", created.UTC().Format(time.RFC3339), creator.ID)
	if fix {
		callCtx, cancel := b.providerCtx(ctx)
		_, err := prov.Revoke(callCtx, drawbridge.RevokeSpec{RequestID: last.ID, Assignment: a, GrantRef: last.GrantRef,
			Requester: last.Requester, Until: last.ExpiresAt, Reason: "leftover of " + last.ID + ", removed by reconcile --fix", Ticket: last.Ticket})
		cancel()
		if err != nil {
			f.Error = err.Error()
		} else {
			f.Fixed = true
		}
	}
	return f, nil
}

// createdBy returns the grant whose own create made an assignment created
// at c: it found the assignment absent and was provisioning at c.
func createdBy(hist []*drawbridge.Request, c time.Time) *drawbridge.Request {
	for _, g := range hist {
		if g.AssignmentFound || g.PreexistingAccess || g.ProvisionStartedAt.IsZero() {
			continue
		}
		until := g.ActivatedAt
		if until.IsZero() {
			until = g.EndedAt
		}
		if !c.Before(g.ProvisionStartedAt.Add(-creationSkew)) && (until.IsZero() || !c.After(until.Add(creationSkew))) {
			return g
		}
	}
	return nil
}

// regrant gives an ACTIVE grant its missing assignment back. A grant that
// stopped being ACTIVE meanwhile is left alone; one that stopped during
// the provider call is reported, since its revocation may have run before
// the re-grant.
func (b *Broker) regrant(ctx context.Context, prov drawbridge.Provider, id string, f *Finding) {
	cur, err := b.Store.GetRequest(ctx, id)
	if err != nil {
		f.Error = err.Error()
		return
	}
	if cur.State != drawbridge.StateActive {
		f.Note = fmt.Sprintf("not re-granted: %s is %s now", id, cur.State)
		return
	}
	who, err := b.Directory.Resolve(ctx, cur.Requester)
	if err != nil {
		f.Error = err.Error()
		return
	}
	callCtx, cancel := b.providerCtx(ctx)
	_, err = prov.Grant(callCtx, drawbridge.GrantSpec{RequestID: cur.ID, Assignment: f.Assignment, Principal: who,
		Until: cur.ExpiresAt, Reason: cur.Reason, Ticket: cur.Ticket})
	cancel()
	if err != nil {
		f.Error = err.Error()
		return
	}
	f.Fixed = true
	if after, err := b.Store.GetRequest(ctx, id); err == nil && after.State != drawbridge.StateActive {
		f.Error = fmt.Sprintf("%s became %s while its assignment was being re-granted; run reconcile again to check the assignment is gone", id, after.State)
	}
}

// RevokeScope selects the grants of an emergency revoke-all; at least one
// field is required, so "every grant everywhere" cannot be asked for.
type RevokeScope struct {
	Requester string // a person (email or linked id)
	Provider  string // a configured provider instance
	// Resource is an account id, a resource's name or an alias (resolved
	// in the catalog; with Provider, a name the catalog no longer lists is
	// taken as written, so grants on a removed resource can be revoked).
	Resource string
	Role     string
}

// RevokeAll revokes every ACTIVE grant in scope at once, a bounded number
// in parallel (the provider's own limiter keeps within its quotas), and
// returns each result; failures stay REVOKING and are retried by the
// expiry engine.
func (b *Broker) RevokeAll(ctx context.Context, scope RevokeScope, reason string, workers int, actor drawbridge.Caller) ([]Step, error) {
	if scope == (RevokeScope{}) {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "revoke --all needs a scope: --principal, --provider, --resource (or --account) and/or --role")
	}
	if err := checkInput(idInput("principal", scope.Requester), idInput("provider", scope.Provider), idInput("resource", scope.Resource),
		idInput("role", scope.Role), text("reason", reason, drawbridge.MaxReasonLen)); err != nil {
		return nil, err
	}
	if scope.Requester != "" {
		p, err := b.Directory.Resolve(ctx, scope.Requester)
		if err != nil {
			return nil, err
		}
		scope.Requester = p.ID
	}
	// A scope that names nothing real would revoke nothing and look like
	// success in an emergency: the provider must be configured, and a
	// resource is named in its catalog (an alias becomes its name).
	if scope.Resource != "" {
		e, err := b.Catalog.ResolveResource(drawbridge.Entitlement{Provider: scope.Provider, Resource: scope.Resource})
		if err != nil {
			return nil, err
		}
		scope.Provider, scope.Resource = e.Provider, e.Resource
	} else if _, ok := b.Providers[scope.Provider]; scope.Provider != "" && !ok {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "unknown provider %q (configured: %s)", scope.Provider, strings.Join(slices.Sorted(maps.Keys(b.Providers)), ", "))
	}
	active, err := b.listAll(ctx, drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StateActive},
		Requester: scope.Requester, Provider: scope.Provider, Resource: scope.Resource, Role: scope.Role})
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
