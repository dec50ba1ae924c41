package policy

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// TestExampleCases runs examples/policy_tests.yaml against
// examples/access_rules.yaml the way `drawbridge policy test` does, with
// the sample directory and accounts catalog built in.
func TestExampleCases(t *testing.T) {
	p := examplePolicy(t)
	data, err := os.ReadFile("../examples/policy_tests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := ParseCases("policy_tests.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 10 {
		t.Fatalf("only %d cases", len(cases))
	}
	covered := map[string]bool{}
	for _, c := range cases {
		who, ok := people[c.Requester]
		if !ok {
			t.Fatalf("case %q: unknown requester %q", c.Name, c.Requester)
		}
		ous, tags := accountAttrs(c.Resource)
		d := p.Evaluate(c.Input(who, ous, tags, testNow))
		if err := c.Check(d); err != nil {
			t.Error(err)
		}
		covered[d.Rule] = true
	}
	for _, r := range p.Rules() {
		if !covered[r.Name] {
			t.Errorf("no case is decided by rule %q", r.Name)
		}
	}
}

func TestParseCases(t *testing.T) {
	cases, err := ParseCases("cases.yaml", []byte(`cases:
  - name: hours
    request: {requester: Alice@Example.com, account: "123456789012", permission_set: ReadOnlyAccess, hours: 0.02, ticket: "", reason: ""}
    expect: {decision: allow, rule: readonly-self-service}
  - name: aliases and duration
    request: {requester: bob@example.com, provider: entra, resource: grp-1, role: member, duration: 2h, ticket: INC-1, reason: why}
    expect: {decision: require_approval}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Case{
		{Name: "hours", Requester: "alice@example.com", Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess",
			Duration: 72 * time.Second, ExpectDecision: drawbridge.EffectAllow, ExpectRule: "readonly-self-service", Line: 2},
		{Name: "aliases and duration", Requester: "bob@example.com", Provider: "entra", Resource: "grp-1", Role: "member",
			Duration: 2 * time.Hour, Ticket: "INC-1", Reason: "why", ExpectDecision: drawbridge.EffectRequireApproval, Line: 5},
	}
	if len(cases) != len(want) {
		t.Fatalf("%d cases", len(cases))
	}
	for i := range want {
		if cases[i] != want[i] {
			t.Errorf("case %d:\n got %+v\nwant %+v", i, cases[i], want[i])
		}
	}

	c := want[0]
	if err := c.Check(drawbridge.Decision{Effect: drawbridge.EffectAllow, Rule: "readonly-self-service"}); err != nil {
		t.Error(err)
	}
	err = c.Check(drawbridge.Decision{Effect: drawbridge.EffectDeny, Reason: "no matching rule"})
	if err == nil || err.Error() != `case "hours" (line 2): expected allow by rule "readonly-self-service", got deny (no matching rule)` {
		t.Errorf("Check mismatch: %v", err)
	}
	if err := c.Check(drawbridge.Decision{Effect: drawbridge.EffectAllow, Rule: "other"}); err == nil {
		t.Error("Check ignored the rule")
	}
}

func TestParseCasesErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown key", `cases:
  - name: a
    request: {requester: a@example.com, acount: "1", permission_set: A, hours: 1}
    expect: {decision: allow}
`, []string{
			`3:14: case #1 request has no account (or resource)`,
			`3:41: unknown key "acount" in case #1 request (did you mean "account"?`,
		}},
		{"bad values", `cases:
  - name: a
    request: {requester: a@example.com, account: "1", permission_set: A, hours: -1}
    expect: {decision: allowed, rule: [x]}
`, []string{
			`3:81: hours must be positive, got -1`,
			`4:24: unknown decision "allowed" (valid: allow, require_approval, deny)`,
			`4:39: expect.rule must be a string, not a list`,
		}},
		{"missing parts", `cases:
  - name: a
    request: {requester: a@example.com, account: "1", permission_set: A, hours: 1, duration: 1h}
  - name: a
    request: {requester: a@example.com, account: "1", permission_set: A, hours: 1}
    expect: {rule: r}
  - request: {requester: a@example.com, account: "1", permission_set: A, hours: 1}
    expect: {decision: deny}
`, []string{
			`2:5: case #1 has no expect`,
			`3:84: hours and duration are the same field; keep one`,
			`6:13: case #2 expect has no decision`,
			`7:5: case #3 has no name`,
		}},
		{"duplicate names", `cases:
  - name: a
    request: {requester: a@example.com, account: "1", permission_set: A, hours: 1}
    expect: {decision: deny}
  - name: a
    request: {requester: a@example.com, account: "1", permission_set: A, hours: 1}
    expect: {decision: deny}
`, []string{`5:5: duplicate case name "a" (first at line 2)`}},
		{"no cases", "cases: []\n", []string{"1:8: cases must be a non-empty list"}},
		{"wrong top key", "case: []\n", []string{
			`1:1: unknown key "case" in the cases file (did you mean "cases"?`,
			`1:1: missing cases`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCases("cases.yaml", []byte(tt.src))
			if err == nil {
				t.Fatal("parsed")
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], "cases.yaml:"+w) {
					t.Errorf("problem %d:\n got %s\nwant cases.yaml:%s…", i, got[i], w)
				}
			}
		})
	}
}
