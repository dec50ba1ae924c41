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
	e.Broker.Providers["hooks"] = e.Provider
	for _, tc := range []struct {
		in   drawbridge.Entitlement
		want string
	}{
		{drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"}, "no matching rule"},
		{drawbridge.Entitlement{Resource: "payroll", Role: "reader"}, "no matching rule"},
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
