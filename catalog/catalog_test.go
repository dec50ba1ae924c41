package catalog_test

import (
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/catalog"
)

func exampleCatalog() *catalog.Static {
	return catalog.NewStatic([]catalog.Account{
		{ID: "123456789012", Name: "staging", OUs: []string{"ou-workloads-0001", "ou-staging-5678"}, Tags: map[string]string{"env": "staging"}},
		{ID: "111122223333", Name: "prod", OUs: []string{"ou-workloads-0001", "ou-prod-1234"}, Tags: map[string]string{"env": "prod"}},
	}, map[string][]string{"aws": {"ReadOnlyAccess", "AdministratorAccess", "PowerUserAccess"}})
}

func ent(resource, role string) drawbridge.Entitlement {
	return drawbridge.Entitlement{Provider: "aws", Resource: resource, Role: role}
}

func TestCheck(t *testing.T) {
	c := exampleCatalog()
	for _, e := range []drawbridge.Entitlement{ent("123456789012", "ReadOnlyAccess"), ent("111122223333", "AdministratorAccess")} {
		if err := c.Check(e); err != nil {
			t.Errorf("Check(%s): %v", e, err)
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
		err := c.Check(tc.e)
		if drawbridge.ErrorCode(err) != drawbridge.EINVALID {
			t.Errorf("Check(%s) = %v, want EINVALID", tc.e, err)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Check(%s) = %q, lacks %q", tc.e, err, w)
			}
		}
	}
	if err := catalog.NewStatic(nil, nil).Check(ent("123456789012", "ReadOnlyAccess")); err == nil || !strings.Contains(err.Error(), "configure providers") {
		t.Errorf("empty catalog: %v", err)
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
}
