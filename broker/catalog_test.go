package broker_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/catalog"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// listingProvider records which resources reconciliation asks it about,
// and holds the assignments it is given.
type listingProvider struct {
	drawbridge.Provider
	asked [][]string
	held  []drawbridge.Assignment
}

func (p *listingProvider) ListAssignments(_ context.Context, resources []string) ([]drawbridge.Assignment, error) {
	p.asked = append(p.asked, slices.Clone(resources))
	var out []drawbridge.Assignment
	for _, a := range p.held {
		if slices.Contains(resources, a.Resource) {
			out = append(out, a)
		}
	}
	return out, nil
}

// hooksCatalog is the example AWS catalog beside a provider "hooks" with
// its own resources and roles.
func hooksCatalog(e *testenv.Env) *catalog.Set {
	var accts []catalog.Account
	for _, a := range e.Config.Accounts {
		accts = append(accts, catalog.Account{ID: a.ID, Name: a.Name, Aliases: a.Aliases, OUs: a.OUs, Tags: a.Tags})
	}
	return catalog.New(map[string]drawbridge.ProviderCatalog{
		"aws": catalog.NewAccounts(accts, e.Provider.PermissionSetNames()),
		"hooks": catalog.NewResources("hooks", []catalog.Resource{
			{Name: "payroll-db", Aliases: []string{"payroll"}, Roles: []string{"reader", "admin"}},
		}),
	}, "aws")
}

// Reconciliation asks each provider about its own catalog's resources: the
// AWS accounts to AWS, hooks' resources to hooks, and reports drift in
// each under its own name.
func TestReconcileAsksEachProviderAboutItsOwnResources(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Broker.Catalog = hooksCatalog(e)
	hooks := &listingProvider{Provider: e.Provider, held: []drawbridge.Assignment{
		{Entitlement: drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "admin"}, PrincipalRef: "u-outsider"},
	}}
	e.Broker.Providers["hooks"] = hooks
	rep, err := e.Broker.Reconcile(e.Ctx, false, op)
	if err != nil {
		t.Fatal(err)
	}
	if got := hooks.asked; len(got) != 1 || strings.Join(got[0], ",") != "payroll-db" {
		t.Errorf("hooks was asked about %v, want [payroll-db]", got)
	}
	var unmanaged []string
	for _, f := range findings(rep, "unmanaged_assignment") {
		unmanaged = append(unmanaged, f.Assignment.Entitlement.String())
	}
	if !slices.Contains(unmanaged, "hooks:payroll-db/admin") {
		t.Errorf("unmanaged findings %v lack hooks:payroll-db/admin", unmanaged)
	}
}

// A request for another provider's resource is checked against that
// provider's catalog, not the AWS account list, and aliases name the
// resource.
func TestSubmitToAnotherProvidersCatalog(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Broker.Catalog = hooksCatalog(e)
	e.Broker.Providers["hooks"] = &hook{}
	for _, tc := range []struct {
		in   drawbridge.Entitlement
		want string
	}{
		{drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"}, `allowed by rule "payroll-readers"`},
		{drawbridge.Entitlement{Resource: "payroll", Role: "reader"}, `allowed by rule "payroll-readers"`},
		{drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "ReadOnlyAccess"}, `unknown role "ReadOnlyAccess" for hooks:payroll-db`},
		{drawbridge.Entitlement{Provider: "hooks", Resource: staging, Role: "reader"}, `unknown resource "123456789012" of provider hooks`},
	} {
		r, err := e.Broker.Submit(e.Ctx, broker.SubmitInput{Requester: alice, Entitlement: tc.in, Duration: time.Hour}, op)
		switch {
		case err != nil && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%+v: %v, want %q", tc.in, err, tc.want)
		case err == nil && (r.Entitlement != (drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"}) || r.Decision.Reason != tc.want):
			t.Errorf("%+v: recorded %s %s (%s)", tc.in, r.Entitlement, r.State, r.Decision.Reason)
		}
	}
}

// revoke --all scopes by provider, resource (an alias too) and role beside
// the person, and refuses a scope that names nothing configured rather
// than revoking nothing.
func TestRevokeAllByProviderResourceRole(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Broker.Catalog = hooksCatalog(e)
	e.Broker.Providers["hooks"] = &hook{} // the example policy's payroll-readers rule allows it
	submit := func(who string, ent drawbridge.Entitlement) string {
		t.Helper()
		r, err := e.Broker.Submit(e.Ctx, broker.SubmitInput{Requester: who, Entitlement: ent, Duration: time.Hour}, op)
		if err != nil || r.State != drawbridge.StateActive {
			t.Fatalf("submit %s: %v %v", ent, r, err)
		}
		return r.ID
	}
	payroll := drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"}
	aHooks, bHooks := submit(alice, payroll), submit(bob, payroll)
	aStaging := submit(alice, drawbridge.Entitlement{Resource: staging, Role: readOnly})
	aProd := submit(alice, drawbridge.Entitlement{Resource: prod, Role: readOnly})

	for _, tc := range []struct {
		scope broker.RevokeScope
		want  string
	}{
		{broker.RevokeScope{Provider: "nosuch"}, `unknown provider "nosuch"`},
		{broker.RevokeScope{Resource: "nosuch"}, `unknown resource "nosuch"`},
		{broker.RevokeScope{Role: "reader", Resource: "12345"}, "must be 12 digits"},
	} {
		if _, err := e.Broker.RevokeAll(e.Ctx, tc.scope, "", 0, op); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RevokeAll(%+v) = %v, want %q", tc.scope, err, tc.want)
		}
	}
	state := func(id string) drawbridge.State { return e.Get(t, id).State }
	// Alice at hooks, by the resource's alias: her AWS grants and Bob's
	// hooks grant stay.
	steps, err := e.Broker.RevokeAll(e.Ctx, broker.RevokeScope{Requester: alice, Resource: "payroll"}, "", 0, op)
	if err != nil || len(steps) != 1 || state(aHooks) != drawbridge.StateRevoked || state(bHooks) != drawbridge.StateActive || state(aStaging) != drawbridge.StateActive {
		t.Fatalf("alice at payroll: %d steps, %v; states %s %s %s", len(steps), err, state(aHooks), state(bHooks), state(aStaging))
	}
	// Every grant at hooks.
	if _, err := e.Broker.RevokeAll(e.Ctx, broker.RevokeScope{Provider: "hooks"}, "", 0, op); err != nil || state(bHooks) != drawbridge.StateRevoked || state(aProd) != drawbridge.StateActive {
		t.Fatalf("provider hooks: %v; states %s %s", err, state(bHooks), state(aProd))
	}
	// By role, on one provider's resource named as an alias of AWS.
	if _, err := e.Broker.RevokeAll(e.Ctx, broker.RevokeScope{Resource: "prod", Role: readOnly}, "", 0, op); err != nil || state(aProd) != drawbridge.StateRevoked || state(aStaging) != drawbridge.StateActive {
		t.Fatalf("prod ReadOnlyAccess: %v; states %s %s", err, state(aProd), state(aStaging))
	}
}
