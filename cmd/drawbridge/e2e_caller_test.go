package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestTokenScopeOverProviders: token create takes provider-aware scope
// flags beside the AWS ones, refuses providers the config does not name
// and mixing a flag with its AWS alias, and its JSON keeps "accounts" and
// "permission_sets" for the scripts that read them.
func TestTokenScopeOverProviders(t *testing.T) {
	s := newSandbox(t)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--providers", "payroll"}, `"payroll" is not a configured provider (configured: aws, hooks)`},
		{[]string{"--accounts", "123456789012", "--resources", "123456789012", "--permission-sets", "ReadOnlyAccess"}, "not both"},
		{[]string{"--accounts", "123456789012", "--permission-sets", "ReadOnlyAccess", "--entitlement-roles", "ReadOnlyAccess"}, "not both"},
		{[]string{"--resources", "123456789012"}, "--providers, or --resources and --entitlement-roles"},
	} {
		res := s.run(t, append([]string{"token", "create", "--principal", "audit@example.com", "--role", "auditor"}, tc.args...)...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.msg) {
			t.Errorf("token create %v: want exit 2 naming %q\n%s", tc.args, tc.msg, res)
		}
	}
	res := s.mustRun(t, 0, "-o", "json", "token", "create", "--principal", "audit@example.com", "--role", "auditor", "--providers", "aws")
	var tok map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &tok); err != nil {
		t.Fatal(err)
	}
	if sc, _ := tok["scope"].(map[string]any); sc == nil || len(sc["providers"].([]any)) != 1 || !strings.HasPrefix(tok["secret"].(string), "dbt_") {
		t.Errorf("token create JSON: %s", res.stdout)
	}
	res = s.mustRun(t, 0, "-o", "json", "token", "create", "--principal", "old@example.com", "--role", "auditor",
		"--accounts", "123456789012", "--permission-sets", "ReadOnlyAccess,PowerUserAccess")
	if err := json.Unmarshal([]byte(res.stdout), &tok); err != nil {
		t.Fatal(err)
	}
	if a, _ := tok["accounts"].([]any); len(a) != 1 || a[0] != "123456789012" {
		t.Errorf("accounts alias missing from the JSON: %s", res.stdout)
	}
	if p, _ := tok["permission_sets"].([]any); len(p) != 2 {
		t.Errorf("permission_sets alias missing from the JSON: %s", res.stdout)
	}
	res = s.mustRun(t, 0, "-o", "json", "token", "list")
	var list []map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &list); err != nil || len(list) != 2 {
		t.Fatalf("token list: %v %s", err, res)
	}
	if a, _ := list[0]["accounts"].([]any); len(a) != 1 {
		t.Errorf("token list lost the accounts alias: %s", res.stdout)
	}
}
