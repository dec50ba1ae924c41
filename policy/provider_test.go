package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// A rule selects a provider by its configured instance name, with that
// provider's own resources and roles; the AWS aliases (accounts,
// permission_sets) and the account-id format do not apply to it, and one
// kind can have several instances that rules tell apart.
func TestRulesForNonAWSProviders(t *testing.T) {
	p := mustParse(t, `version: 1
rules:
  - name: payroll-readers
    match:
      provider: hooks
      resources: [payroll-db]
      roles: [reader]
      requesters: ["group:engineers"]
    max_duration: 2h
    decision: allow
  - name: payroll-admin
    match:
      provider: hooks-eu
      resources: ["*"]
      roles: [admin]
      requesters: ["*"]
    approval: {approvers: ["group:sre-leads"], count: 1, timeout: 1h}
    max_duration: 1h
    decision: require_approval
  - name: aws-readonly
    match:
      provider: aws
      accounts: ["*"]
      permission_sets: [ReadOnlyAccess]
      requesters: ["*"]
    max_duration: 8h
    decision: allow
`)
	in := func(provider, resource, role string, d time.Duration) *Input {
		return &Input{Requester: alice, Entitlement: drawbridge.Entitlement{Provider: provider, Resource: resource, Role: role}, Duration: d, Now: testNow}
	}
	for _, tc := range []struct {
		in         *Input
		effect     drawbridge.Effect
		rule, want string
	}{
		{in("hooks", "payroll-db", "reader", time.Hour), drawbridge.EffectAllow, "payroll-readers", ""},
		{in("hooks", "payroll-db", "reader", 3*time.Hour), drawbridge.EffectDeny, "payroll-readers", "max_duration"},
		{in("hooks", "payroll-db", "admin", time.Hour), drawbridge.EffectDeny, "", "no matching rule"},
		{in("hooks", "ledger", "reader", time.Hour), drawbridge.EffectDeny, "", "no matching rule"},
		{in("hooks-eu", "payroll-db", "admin", time.Hour), drawbridge.EffectRequireApproval, "payroll-admin", ""},
		{in("hooks-eu", "payroll-db", "reader", time.Hour), drawbridge.EffectDeny, "", "no matching rule"},
		// The same resource and role under another provider is another
		// entitlement: the aws rule never matches a hooks request.
		{in("hooks", "123456789012", "ReadOnlyAccess", time.Hour), drawbridge.EffectDeny, "", "no matching rule"},
		{in("aws", "123456789012", "ReadOnlyAccess", time.Hour), drawbridge.EffectAllow, "aws-readonly", ""},
	} {
		d := evaluate(t, p, tc.in)
		if d.Effect != tc.effect || d.Rule != tc.rule || (tc.want != "" && !strings.Contains(d.Reason, tc.want)) {
			t.Errorf("%s: %s by %q (%s); want %s by %q (%s)", tc.in.Entitlement, d.Effect, d.Rule, d.Reason, tc.effect, tc.rule, tc.want)
		}
	}
}
