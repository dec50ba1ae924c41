package catalog_test

import (
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/catalog"
)

func awsAccounts() *catalog.Accounts {
	return catalog.NewAccounts([]catalog.Account{
		{ID: "123456789012", Name: "staging", Aliases: []string{"staging"}, OUs: []string{"ou-workloads-0001", "ou-staging-5678"}, Tags: map[string]string{"env": "staging"}},
		{ID: "111122223333", Name: "prod", OUs: []string{"ou-workloads-0001", "ou-prod-1234"}, Tags: map[string]string{"env": "prod"}},
	}, []string{"ReadOnlyAccess", "AdministratorAccess", "PowerUserAccess"})
}

func exampleCatalog() *catalog.Set {
	return catalog.New(map[string]drawbridge.ProviderCatalog{"aws": awsAccounts()}, "aws")
}

// A Set of an AWS provider, a webhook-like provider with configured
// resources, and a second one sharing an alias with the first.
func mixedCatalog() *catalog.Set {
	return catalog.New(map[string]drawbridge.ProviderCatalog{
		"aws": awsAccounts(),
		"hooks": catalog.NewResources("hooks", []catalog.Resource{
			{Name: "payroll-db", DisplayName: "Payroll database", Aliases: []string{"payroll", "pay"}, Roles: []string{"reader", "admin"}},
			{Name: "ledger", Roles: []string{"reader"}},
		}),
		"ops": catalog.NewResources("ops", []catalog.Resource{
			{Name: "payments", Aliases: []string{"pay"}, Roles: []string{"member"}},
		}),
	}, "aws")
}

func ent(resource, role string) drawbridge.Entitlement {
	return drawbridge.Entitlement{Provider: "aws", Resource: resource, Role: role}
}

func TestResolve(t *testing.T) {
	c := exampleCatalog()
	for _, e := range []drawbridge.Entitlement{ent("123456789012", "ReadOnlyAccess"), ent("111122223333", "AdministratorAccess")} {
		if got, err := c.Resolve(e); err != nil || got != e {
			t.Errorf("Resolve(%s) = %s, %v", e, got, err)
		}
	}
	for _, tc := range []struct {
		e     drawbridge.Entitlement
		wants []string
	}{
		{ent("12345678901", "ReadOnlyAccess"), []string{`"12345678901"`, "malformed", "12 digits"}},
		{ent("12345678901a", "ReadOnlyAccess"), []string{"malformed"}},
		{ent(" 123456789012", "ReadOnlyAccess"), []string{"malformed"}},
		{ent("999999999999", "ReadOnlyAccess"), []string{"unknown account 999999999999", "123456789012 (staging), 111122223333 (prod)"}},
		{ent("123456789012", "readonlyaccess"), []string{`"readonlyaccess"`, "AdministratorAccess, PowerUserAccess, ReadOnlyAccess", "case-sensitive"}},
		{drawbridge.Entitlement{Provider: "entra", Resource: "g", Role: "member"}, []string{`"entra"`, "configured: aws"}},
	} {
		_, err := c.Resolve(tc.e)
		if drawbridge.ErrorCode(err) != drawbridge.EINVALID {
			t.Errorf("Resolve(%s) = %v, want EINVALID", tc.e, err)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Resolve(%s) = %q, lacks %q", tc.e, err, w)
			}
		}
	}
	if _, err := catalog.New(nil, "").Resolve(ent("123456789012", "ReadOnlyAccess")); err == nil || !strings.Contains(err.Error(), "configure providers") {
		t.Errorf("empty catalog: %v", err)
	}
	// Without a list of accounts any well-formed account is requestable.
	open := catalog.New(map[string]drawbridge.ProviderCatalog{"aws": catalog.NewAccounts(nil, []string{"ReadOnlyAccess"})}, "aws")
	if _, err := open.Resolve(ent("999999999999", "ReadOnlyAccess")); err != nil {
		t.Errorf("no account list: %v", err)
	}
	if _, err := open.Resolve(ent("99999999999", "ReadOnlyAccess")); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("no account list, malformed id: %v", err)
	}
}

// Each provider has its own catalog: the AWS account list is not applied
// to another provider, whose resources and roles are its own.
func TestPerProviderCatalogs(t *testing.T) {
	c := mixedCatalog()
	for _, tc := range []struct {
		in, want drawbridge.Entitlement
	}{
		{drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"}, drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"}},
		{drawbridge.Entitlement{Provider: "hooks", Resource: "payroll", Role: "admin"}, drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "admin"}},
		{drawbridge.Entitlement{Resource: "payroll", Role: "admin"}, drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "admin"}},
		{drawbridge.Entitlement{Resource: "ledger", Role: "reader"}, drawbridge.Entitlement{Provider: "hooks", Resource: "ledger", Role: "reader"}},
		{drawbridge.Entitlement{Resource: "123456789012", Role: "ReadOnlyAccess"}, ent("123456789012", "ReadOnlyAccess")},
		{drawbridge.Entitlement{Resource: "staging", Role: "ReadOnlyAccess"}, ent("123456789012", "ReadOnlyAccess")},
		{drawbridge.Entitlement{Provider: "aws", Resource: "staging", Role: "ReadOnlyAccess"}, ent("123456789012", "ReadOnlyAccess")},
		{drawbridge.Entitlement{Provider: "ops", Resource: "pay", Role: "member"}, drawbridge.Entitlement{Provider: "ops", Resource: "payments", Role: "member"}},
	} {
		got, err := c.Resolve(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%+v) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		e     drawbridge.Entitlement
		wants []string
	}{
		{drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "ReadOnlyAccess"}, []string{`unknown role "ReadOnlyAccess" for hooks:payroll-db`, "reader, admin"}},
		{drawbridge.Entitlement{Provider: "hooks", Resource: "123456789012", Role: "reader"}, []string{`unknown resource "123456789012" of provider hooks`, "payroll-db (Payroll database), ledger"}},
		{drawbridge.Entitlement{Provider: "aws", Resource: "payroll-db", Role: "ReadOnlyAccess"}, []string{"malformed"}},
		{drawbridge.Entitlement{Resource: "pay", Role: "reader"}, []string{`resource "pay" is ambiguous`, "hooks:payroll-db and ops:payments", "e.g. hooks:payroll-db"}},
		{drawbridge.Entitlement{Resource: "12345", Role: "reader"}, []string{`account id "12345" is malformed`, "12 digits"}},
		{drawbridge.Entitlement{Resource: "nosuch", Role: "reader"}, []string{`unknown resource "nosuch"`, "<provider>:<resource>", "aws, hooks, ops"}},
	} {
		_, err := c.Resolve(tc.e)
		if drawbridge.ErrorCode(err) != drawbridge.EINVALID {
			t.Errorf("Resolve(%+v) = %v, want EINVALID", tc.e, err)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Resolve(%+v) = %q, lacks %q", tc.e, err, w)
			}
		}
	}
	noAWS := catalog.New(map[string]drawbridge.ProviderCatalog{"hooks": catalog.NewResources("hooks", nil)}, "")
	if _, err := noAWS.Resolve(drawbridge.Entitlement{Resource: "123456789012", Role: "r"}); err == nil || !strings.Contains(err.Error(), "no provider of kind aws is configured") {
		t.Errorf("account id without an aws provider: %v", err)
	}
	if got := strings.Join(c.Resources("hooks"), ","); got != "payroll-db,ledger" {
		t.Errorf("Resources(hooks) = %s", got)
	}
	if got := strings.Join(c.Resources("aws"), ","); got != "123456789012,111122223333" {
		t.Errorf("Resources(aws) = %s", got)
	}
	if c.Resources("nosuch") != nil {
		t.Error("Resources of an unknown provider")
	}
}

func TestValidAccountID(t *testing.T) {
	for s, want := range map[string]bool{"123456789012": true, "012345678901": true, "12345678901": false,
		"1234567890123": false, "12345678901x": false, "": false, "123456789012\n": false, "１２３４５６７８９０１２": false} {
		if got := catalog.ValidAccountID(s); got != want {
			t.Errorf("ValidAccountID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestResourceAttrs(t *testing.T) {
	ous, tags := exampleCatalog().ResourceAttrs(ent("111122223333", "ReadOnlyAccess"))
	if strings.Join(ous, ",") != "ou-workloads-0001,ou-prod-1234" || tags["env"] != "prod" {
		t.Errorf("ous %v tags %v", ous, tags)
	}
	if ous, tags := exampleCatalog().ResourceAttrs(ent("999999999999", "x")); ous != nil || tags != nil {
		t.Errorf("unknown account attrs %v %v", ous, tags)
	}
	if ous, tags := mixedCatalog().ResourceAttrs(drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"}); ous != nil || tags != nil {
		t.Errorf("hooks attrs %v %v", ous, tags)
	}
}
