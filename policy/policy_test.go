package policy

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// The sample directory and accounts catalog of examples/drawbridge.yaml.
var (
	alice = &drawbridge.Principal{ID: "alice@example.com", Groups: []string{"engineers"}}
	bob   = &drawbridge.Principal{ID: "bob@example.com", Groups: []string{"engineers", "sre-leads"}}
	carol = &drawbridge.Principal{ID: "carol@example.com", Groups: []string{"sre-leads"}}
	dave  = &drawbridge.Principal{ID: "dave@example.com", Groups: []string{"contractors"}}

	people = map[string]*drawbridge.Principal{alice.ID: alice, bob.ID: bob, carol.ID: carol, dave.ID: dave}
)

const (
	stagingAccount = "123456789012"
	prodAccount    = "111122223333"
)

func accountAttrs(id string) ([]string, map[string]string) {
	switch id {
	case stagingAccount:
		return []string{"ou-workloads-0001", "ou-staging-5678"}, map[string]string{"env": "staging"}
	case prodAccount:
		return []string{"ou-workloads-0001", "ou-prod-1234"}, map[string]string{"env": "prod"}
	}
	return nil, nil
}

var testNow = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func input(who *drawbridge.Principal, account, role string, d time.Duration) *Input {
	ous, tags := accountAttrs(account)
	return &Input{
		Requester:   who,
		Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: account, Role: role},
		Duration:    d,
		Now:         testNow,
		OUs:         ous,
		Tags:        tags,
	}
}

func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Parse("access_rules.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func examplePolicy(t testing.TB) *Policy {
	t.Helper()
	data, err := os.ReadFile("../examples/access_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("access_rules.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// evaluate checks that the index, the plain scan and Explain agree before
// returning the decision, so every test below also tests the index.
func evaluate(t *testing.T, p *Policy, in *Input) drawbridge.Decision {
	t.Helper()
	d := p.Evaluate(in)
	if s := p.scan(in); s != d {
		t.Fatalf("index decided %+v, scan decided %+v", d, s)
	}
	if e := p.Explain(in); e.Decision != d {
		t.Fatalf("Evaluate decided %+v, Explain decided %+v", d, e.Decision)
	}
	if d.PolicySHA != p.SHA256() || len(d.PolicySHA) != 64 {
		t.Fatalf("decision carries policy sha %q, policy is %q", d.PolicySHA, p.SHA256())
	}
	return d
}

func TestExamplePolicyDecisions(t *testing.T) {
	p := examplePolicy(t)
	withTicket := func(in *Input, ticket string) *Input { in.Ticket = ticket; return in }
	tests := []struct {
		name   string
		in     *Input
		effect drawbridge.Effect
		rule   string
		reason string
	}{
		{"read-only anywhere", input(alice, prodAccount, "ReadOnlyAccess", 8*time.Hour),
			drawbridge.EffectAllow, "readonly-self-service", `allowed by rule "readonly-self-service"`},
		{"max_duration denies, never clamps", input(alice, prodAccount, "ReadOnlyAccess", 8*time.Hour+time.Second),
			drawbridge.EffectDeny, "readonly-self-service", `requested 8h0m1s exceeds max_duration 8h0m0s of rule "readonly-self-service"`},
		{"deny rule before prod-admin wins", withTicket(input(dave, prodAccount, "AdministratorAccess", time.Hour), "INC-1"),
			drawbridge.EffectDeny, "no-contractor-admin", `denied by rule "no-contractor-admin"`},
		{"ou selector, approval", withTicket(input(alice, prodAccount, "AdministratorAccess", 2*time.Hour), "INC-1234"),
			drawbridge.EffectRequireApproval, "prod-admin", `rule "prod-admin" requires 1 approval(s) from group:sre-leads`},
		{"prod-admin max_duration with reason in the brief's words", withTicket(input(alice, prodAccount, "AdministratorAccess", 3*time.Hour), "INC-1"),
			drawbridge.EffectDeny, "prod-admin", `requested 3h0m0s exceeds max_duration 2h0m0s of rule "prod-admin"`},
		{"missing ticket", input(alice, prodAccount, "PowerUserAccess", time.Hour),
			drawbridge.EffectDeny, "prod-admin", `rule "prod-admin" requires a ticket matching ^(INC|CHG)-[0-9]+$`},
		{"malformed ticket", withTicket(input(alice, prodAccount, "PowerUserAccess", time.Hour), "INC-12x"),
			drawbridge.EffectDeny, "prod-admin", `ticket "INC-12x" does not match ^(INC|CHG)-[0-9]+$ required by rule "prod-admin"`},
		{"ticket must match whole", withTicket(input(alice, prodAccount, "PowerUserAccess", time.Hour), "see INC-1"),
			drawbridge.EffectDeny, "prod-admin", `ticket "see INC-1" does not match ^(INC|CHG)-[0-9]+$ required by rule "prod-admin"`},
		{"tag selector", input(alice, stagingAccount, "PowerUserAccess", 4*time.Hour),
			drawbridge.EffectAllow, "staging-poweruser", `allowed by rule "staging-poweruser"`},
		{"no match", input(carol, stagingAccount, "PowerUserAccess", time.Hour),
			drawbridge.EffectDeny, "", "no matching rule"},
		{"unknown account", input(alice, "999999999999", "PowerUserAccess", time.Hour),
			drawbridge.EffectDeny, "", "no matching rule"},
		{"other provider", &Input{Requester: alice, Entitlement: drawbridge.Entitlement{Provider: "entra", Resource: stagingAccount, Role: "ReadOnlyAccess"}, Duration: time.Hour},
			drawbridge.EffectDeny, "", "no matching rule"},
		{"non-positive duration", input(alice, stagingAccount, "ReadOnlyAccess", 0),
			drawbridge.EffectDeny, "", "invalid request: duration 0s is not positive"},
		{"no requester", input(nil, stagingAccount, "ReadOnlyAccess", time.Hour),
			drawbridge.EffectDeny, "", "invalid request: no requester"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := evaluate(t, p, tt.in)
			if d.Effect != tt.effect || d.Rule != tt.rule || d.Reason != tt.reason {
				t.Fatalf("got %s by %q (%s), want %s by %q (%s)", d.Effect, d.Rule, d.Reason, tt.effect, tt.rule, tt.reason)
			}
			if d.Effect == drawbridge.EffectRequireApproval && (d.ApprovalsRequired != 1 || d.ApprovalTimeout != 4*time.Hour) {
				t.Fatalf("approval %d within %s, want 1 within 4h", d.ApprovalsRequired, d.ApprovalTimeout)
			}
		})
	}
	if d := p.Evaluate(nil); d.Effect != drawbridge.EffectDeny {
		t.Fatalf("nil input: %+v", d)
	}
}

const orderingPolicy = `version: 1
rules:
  - name: narrow-deny
    match: {provider: aws, accounts: ["111122223333"], permission_sets: [AdministratorAccess], requesters: ["user:bob@example.com"]}
    decision: deny
  - name: broad-allow
    match: {provider: aws, accounts: ["*"], permission_sets: ["*"], requesters: ["group:engineers"]}
    max_duration: 1h
    decision: allow
  - name: never-reached
    match: {provider: aws, accounts: ["111122223333"], permission_sets: [AdministratorAccess], requesters: ["*"]}
    approval: {approvers: ["*"]}
    max_duration: 8h
    decision: require_approval
`

func TestFirstMatchWins(t *testing.T) {
	p := mustParse(t, orderingPolicy)
	if d := evaluate(t, p, input(bob, prodAccount, "AdministratorAccess", time.Hour)); d.Rule != "narrow-deny" || d.Effect != drawbridge.EffectDeny {
		t.Fatalf("bob: %+v", d)
	}
	if d := evaluate(t, p, input(alice, prodAccount, "AdministratorAccess", time.Hour)); d.Rule != "broad-allow" || d.Effect != drawbridge.EffectAllow {
		t.Fatalf("alice: %+v", d)
	}
	// A later rule with a longer max_duration does not rescue a request
	// that is too long for the first matching rule.
	if d := evaluate(t, p, input(alice, prodAccount, "AdministratorAccess", 2*time.Hour)); d.Rule != "broad-allow" || d.Effect != drawbridge.EffectDeny {
		t.Fatalf("alice 2h: %+v", d)
	}
	if d := evaluate(t, p, input(carol, prodAccount, "AdministratorAccess", 8*time.Hour)); d.Rule != "never-reached" || d.Effect != drawbridge.EffectRequireApproval ||
		d.ApprovalsRequired != DefaultApprovalCount || d.ApprovalTimeout != DefaultApprovalTimeout {
		t.Fatalf("carol: %+v", d)
	}
}

func TestSelectors(t *testing.T) {
	p := mustParse(t, `version: 1
rules:
  - name: exact
    match: {provider: aws, resources: ["000000000001"], roles: [A], requesters: ["*"]}
    max_duration: 1h
    decision: allow
  - name: nested-ou
    match: {provider: aws, accounts: ["ou:ou-parent"], permission_sets: [A], requesters: ["*"]}
    max_duration: 1h
    decision: allow
  - name: tag
    match: {provider: aws, accounts: ["tag:team=payments", "tag:empty="], permission_sets: [A], requesters: ["*"]}
    max_duration: 1h
    decision: allow
  - name: users
    match: {provider: aws, accounts: ["*"], permission_sets: [B], requesters: ["user:Alice@Example.com"]}
    max_duration: 1h
    decision: allow
  - name: entra-any
    match: {provider: entra, resources: ["*"], roles: ["*"], requesters: ["*"]}
    max_duration: 1h
    decision: allow
`)
	in := func(res, role string, ous []string, tags map[string]string, who *drawbridge.Principal, provider string) *Input {
		return &Input{Requester: who, Entitlement: drawbridge.Entitlement{Provider: provider, Resource: res, Role: role},
			Duration: time.Minute, OUs: ous, Tags: tags}
	}
	tests := []struct {
		name string
		in   *Input
		want string
	}{
		{"exact id", in("000000000001", "A", nil, nil, dave, "aws"), "exact"},
		{"exact id, other role", in("000000000001", "C", nil, nil, dave, "aws"), ""},
		{"ancestor OU", in("000000000002", "A", []string{"ou-parent", "ou-child"}, nil, dave, "aws"), "nested-ou"},
		{"OU prefix is not a match", in("000000000002", "A", []string{"ou-parent-2"}, nil, dave, "aws"), ""},
		{"tag", in("000000000003", "A", nil, map[string]string{"team": "payments"}, dave, "aws"), "tag"},
		{"tag other value", in("000000000003", "A", nil, map[string]string{"team": "search"}, dave, "aws"), ""},
		{"tag with empty value needs the tag", in("000000000003", "A", nil, map[string]string{"empty": ""}, dave, "aws"), "tag"},
		{"absent tag does not match empty value", in("000000000003", "A", nil, map[string]string{}, dave, "aws"), ""},
		{"user entry is canonicalised", in("000000000003", "B", nil, nil, alice, "aws"), "users"},
		{"user entry, other user", in("000000000003", "B", nil, nil, bob, "aws"), ""},
		{"any role, any resource", in("group-object-id", "member", nil, nil, dave, "entra"), "entra-any"},
		{"NUL in input finds nothing", in("000000000001", "A\x00", nil, nil, dave, "aws"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := evaluate(t, p, tt.in); d.Rule != tt.want {
				t.Fatalf("decided by %q (%s), want %q", d.Rule, d.Reason, tt.want)
			}
		})
	}
}

func TestRequireReason(t *testing.T) {
	p := mustParse(t, `version: 1
rules:
  - name: r
    match: {provider: aws, accounts: ["*"], permission_sets: [A], requesters: ["*"]}
    require: {reason: true}
    max_duration: 1h
    decision: allow
`)
	in := input(alice, stagingAccount, "A", time.Hour)
	in.Reason = "  "
	if d := evaluate(t, p, in); d.Effect != drawbridge.EffectDeny || d.Reason != `rule "r" requires a reason` {
		t.Fatalf("blank reason: %+v", d)
	}
	in.Reason = "deploy hotfix"
	if d := evaluate(t, p, in); d.Effect != drawbridge.EffectAllow {
		t.Fatalf("with reason: %+v", d)
	}
}

func TestConditions(t *testing.T) {
	p := mustParse(t, `version: 1
rules:
  - name: short
    match:
      provider: aws
      accounts: ["*"]
      permission_sets: [A]
      requesters: ["*"]
      condition: 'request.duration <= duration("30m") && request.account == "123456789012" && request.permission_set == "A"'
    max_duration: 8h
    decision: allow
  - name: oncall
    match:
      provider: aws
      accounts: ["*"]
      permission_sets: [A]
      requesters: ["*"]
      condition: '"sre-leads" in requester.groups && requester.id.endsWith("@example.com") && now.getHours() >= 9 && "ou-prod-1234" in request.ous && request.tags["env"] == "prod"'
    max_duration: 8h
    decision: allow
  - name: runtime-error
    match:
      provider: aws
      accounts: ["*"]
      permission_sets: [A]
      requesters: ["*"]
      condition: 'request.tags["env"] == "prod" && request.tags["no-such-tag"] == "x"'
    max_duration: 8h
    decision: allow
  - name: fallback
    match: {provider: aws, accounts: ["*"], permission_sets: [A], requesters: ["*"]}
    decision: deny
`)
	tests := []struct {
		name string
		in   *Input
		want string
	}{
		{"true", input(alice, stagingAccount, "A", 30*time.Minute), "short"},
		{"false: too long", input(alice, stagingAccount, "A", 31*time.Minute), "fallback"},
		{"requester, now, ous and tags", input(carol, prodAccount, "A", time.Hour), "oncall"},
		{"runtime error denies by its rule", input(alice, prodAccount, "A", time.Hour), "runtime-error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := evaluate(t, p, tt.in); d.Rule != tt.want {
				t.Fatalf("decided by %q (%s), want %q", d.Rule, d.Reason, tt.want)
			}
		})
	}
	ex := p.Explain(input(alice, prodAccount, "A", time.Hour))
	if !strings.Contains(ex.Steps[2].Detail, "condition failed to evaluate; decided: deny") || !ex.Steps[2].Decided {
		t.Fatalf("explain of a runtime error: %q", ex.Steps[2].Detail)
	}
}

func TestExplain(t *testing.T) {
	p := mustParse(t, orderingPolicy)
	ex := p.Explain(input(bob, prodAccount, "AdministratorAccess", time.Hour))
	want := []Step{
		{Rule: "narrow-deny", Line: 3, Matched: true, Decided: true, Detail: `matched; decided: deny (denied by rule "narrow-deny")`},
		{Rule: "broad-allow", Line: 6, Matched: true, Detail: `matched, but rule "narrow-deny" comes first and decided`},
		{Rule: "never-reached", Line: 10, Matched: true, Detail: `matched, but rule "narrow-deny" comes first and decided`},
	}
	if len(ex.Steps) != len(want) {
		t.Fatalf("steps: %+v", ex.Steps)
	}
	for i := range want {
		if ex.Steps[i] != want[i] {
			t.Errorf("step %d:\n got %+v\nwant %+v", i, ex.Steps[i], want[i])
		}
	}
	ex = p.Explain(input(carol, stagingAccount, "PowerUserAccess", time.Hour))
	wantDetails := []string{
		"resource 123456789012 (OUs: ou-workloads-0001, ou-staging-5678; tags: env=staging) is not selected by 111122223333",
		"requester carol@example.com (groups: sre-leads) is not in group:engineers",
		"resource 123456789012 (OUs: ou-workloads-0001, ou-staging-5678; tags: env=staging) is not selected by 111122223333",
	}
	for i, w := range wantDetails {
		if ex.Steps[i].Matched || ex.Steps[i].Detail != w {
			t.Errorf("step %d: %+v, want detail %q", i, ex.Steps[i], w)
		}
	}
	if s := ex.String(); !strings.HasSuffix(s, "decision: deny: no matching rule") || !strings.Contains(s, "   broad-allow (line 6): requester carol") {
		t.Errorf("String():\n%s", s)
	}
}

func TestIsApprover(t *testing.T) {
	p := mustParse(t, `version: 1
rules:
  - name: leads
    match: {provider: aws, accounts: ["*"], permission_sets: [A], requesters: ["*"]}
    approval: {approvers: ["group:sre-leads", "user:Dave@Example.com"], count: 2, timeout: 30m}
    max_duration: 1h
    decision: require_approval
  - name: anyone
    match: {provider: aws, accounts: ["*"], permission_sets: [B], requesters: ["*"]}
    approval: {approvers: ["*"]}
    max_duration: 1h
    decision: require_approval
`)
	leads, _ := p.Rule("leads")
	anyone, _ := p.Rule("anyone")
	for _, tt := range []struct {
		r    *Rule
		p    *drawbridge.Principal
		want bool
	}{
		{leads, carol, true},
		{leads, bob, true},
		{leads, alice, false},
		{leads, dave, true},
		{leads, &drawbridge.Principal{ID: "DAVE@example.com"}, true},
		{leads, nil, false},
		{anyone, alice, true},
		{anyone, &drawbridge.Principal{}, false},
	} {
		if got := tt.r.IsApprover(tt.p); got != tt.want {
			t.Errorf("%s.IsApprover(%v) = %v, want %v", tt.r.Name, tt.p, got, tt.want)
		}
	}
	if leads.ApprovalCount != 2 || leads.ApprovalTimeout != 30*time.Minute || anyone.ApprovalCount != 1 || anyone.ApprovalTimeout != time.Hour {
		t.Fatalf("approval settings: %+v %+v", leads, anyone)
	}
	// Membership only: the requester is an approver here, and the broker
	// is the one that refuses self-approval.
	if !leads.IsApprover(carol) {
		t.Fatal("IsApprover must not know about requesters")
	}
}

func TestEveryKeyParses(t *testing.T) {
	p := mustParse(t, `version: 1
rules:
  - name: every-key
    description: uses every key
    match:
      provider: aws
      accounts: ["123456789012", 111122223333, "ou:ou-prod-1234", "tag:env=prod", "*"]
      permission_sets: [ReadOnlyAccess, "*"]
      requesters: ["group:engineers", "user:alice@example.com", "*"]
      condition: 'request.reason != ""'
    require: {ticket: 'INC-[0-9]+', reason: true}
    approval: {approvers: ["group:sre-leads", "user:carol@example.com"], count: 2, timeout: 1d12h}
    max_duration: 7d
    decision: require_approval
  - name: aliases
    match: {provider: entra, resources: [group-1], roles: [member], requesters: ["user:bob@example.com"]}
    decision: deny
`)
	rules := p.Rules()
	if len(rules) != 2 {
		t.Fatalf("%d rules", len(rules))
	}
	r := rules[0]
	if r.Name != "every-key" || r.Description != "uses every key" || r.Line != 3 || r.Provider != "aws" ||
		strings.Join(r.Resources, ",") != "123456789012,111122223333,ou:ou-prod-1234,tag:env=prod,*" ||
		strings.Join(r.Roles, ",") != "ReadOnlyAccess,*" ||
		strings.Join(r.Requesters, ",") != "group:engineers,user:alice@example.com,*" ||
		r.Condition != `request.reason != ""` || !r.RequireReason || r.TicketPattern != "INC-[0-9]+" ||
		strings.Join(r.Approvers, ",") != "group:sre-leads,user:carol@example.com" || r.ApprovalCount != 2 ||
		r.ApprovalTimeout != 36*time.Hour || r.MaxDuration != 7*24*time.Hour || r.Decision != drawbridge.EffectRequireApproval {
		t.Fatalf("every-key parsed as %+v", r)
	}
	a, ok := p.Rule("aliases")
	if !ok || a.Provider != "entra" || a.Resources[0] != "group-1" || a.Roles[0] != "member" || a.Decision != drawbridge.EffectDeny {
		t.Fatalf("aliases parsed as %+v", a)
	}
	if _, ok := p.Rule("missing"); ok {
		t.Fatal("found a rule that does not exist")
	}
	// Rules returns a copy: callers cannot reorder the policy.
	rules[0], rules[1] = rules[1], rules[0]
	if p.Rules()[0].Name != "every-key" {
		t.Fatal("Rules exposed the policy's slice")
	}
}

func TestSHA256IsOfRawBytes(t *testing.T) {
	a := mustParse(t, orderingPolicy)
	b := mustParse(t, orderingPolicy+"# a comment changes the file\n")
	if a.SHA256() == b.SHA256() {
		t.Fatal("different files, same sha")
	}
	if a.SHA256() != mustParse(t, orderingPolicy).SHA256() {
		t.Fatal("same file, different sha")
	}
}

func TestLoad(t *testing.T) {
	p, err := Load("../examples/access_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Filename() != "../examples/access_rules.yaml" || len(p.Rules()) < 4 {
		t.Fatalf("loaded %q with %d rules", p.Filename(), len(p.Rules()))
	}
	if _, err := Load("testdata/does-not-exist.yaml"); drawbridge.ErrorCode(err) != drawbridge.EINVALID {
		t.Fatalf("missing file: %v (code %q)", err, drawbridge.ErrorCode(err))
	}
}

// Durations in the policy use the grammar of package duration; the policy
// adds that they are positive and that max_duration is within the hard
// limit.
func TestDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"2h": 2 * time.Hour, "90m": 90 * time.Minute, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "1h30m": 90 * time.Minute, "168h": 168 * time.Hour,
	} {
		p, err := Parse("access_rules.yaml", []byte(edit("max_duration: 1h", "max_duration: "+s)))
		if err != nil || p.rules[0].MaxDuration != want {
			t.Errorf("max_duration: %s: %v", s, err)
		}
	}
	for s, msg := range map[string]string{
		`""`: "invalid duration", "0s": "must be positive", "0d": "must be positive", "-1h": "invalid duration", "d": "invalid duration",
		"1.5d": "invalid duration", "2 hours": "invalid duration", "3600": "must be a duration", "1d-1h": "invalid duration",
		"xd": "invalid duration", "1d+1h": "invalid duration", "+1h": "invalid duration",
		"8d": "above Drawbridge's hard limit of 168h (7d) for one grant", "168h1s": "hard limit of 168h",
	} {
		if _, err := Parse("access_rules.yaml", []byte(edit("max_duration: 1h", "max_duration: "+s))); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("max_duration: %s: %v, want %q", s, err, msg)
		}
	}
}

// TestDocumentedConditionsCompile keeps the examples in docs/policy.md honest.
func TestDocumentedConditionsCompile(t *testing.T) {
	for _, c := range []string{
		`request.duration <= duration("2h")`,
		`"oncall" in requester.groups`,
		`now.getDayOfWeek("Europe/Paris") >= 1 && now.getDayOfWeek("Europe/Paris") <= 5`,
		`!("data" in request.tags) || request.tags["data"] != "pii" || request.reason.size() > 20`,
		`"team" in request.tags && request.tags["team"] == "x"`,
	} {
		prg, issues := compileCondition(c)
		if issues != nil {
			t.Errorf("%s: %+v", c, issues)
			continue
		}
		// A documented example must be defined for every request, or
		// copying it would deny requests by a runtime error.
		if _, _, err := prg.Eval(&activation{in: input(alice, "999999999999", "A", time.Hour)}); err != nil {
			t.Errorf("%s fails on an account without tags: %v", c, err)
		}
	}
}

// Requestable lists the allow and approval rules whose requesters include
// the person, in file order; deny rules and rules for others are left out.
func TestRequestable(t *testing.T) {
	p, err := Parse("p.yaml", []byte(`version: 1
rules:
  - name: ro
    match: {provider: aws, accounts: ["*"], permission_sets: [ReadOnlyAccess], requesters: ["group:eng"]}
    max_duration: 8h
    decision: allow
  - name: no-admin
    match: {provider: aws, accounts: ["*"], permission_sets: [AdministratorAccess], requesters: ["group:contractors"]}
    decision: deny
  - name: prod
    match: {provider: aws, accounts: ["111122223333"], permission_sets: [AdministratorAccess], requesters: ["*"]}
    approval: {approvers: ["group:leads"], count: 1, timeout: 1h}
    max_duration: 2h
    decision: require_approval
  - name: dave-only
    match: {provider: aws, accounts: ["*"], permission_sets: [PowerUserAccess], requesters: ["user:dave@example.com"]}
    max_duration: 1h
    decision: allow
`))
	if err != nil {
		t.Fatal(err)
	}
	names := func(who *drawbridge.Principal) []string {
		var out []string
		for _, r := range p.Requestable(who) {
			out = append(out, r.Name)
		}
		return out
	}
	if got := names(&drawbridge.Principal{ID: "alice@example.com", Groups: []string{"eng"}}); !slices.Equal(got, []string{"ro", "prod"}) {
		t.Errorf("alice may request %v", got)
	}
	if got := names(&drawbridge.Principal{ID: "dave@example.com", Groups: []string{"contractors"}}); !slices.Equal(got, []string{"prod", "dave-only"}) {
		t.Errorf("dave may request %v", got)
	}
}
