package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/drawbridge-jit/drawbridge"
)

// failClosedPolicy is the shape of issue 7 item 6: a rule meant to keep
// contractors out, followed by a rule that lets everyone in. Whatever is
// wrong with the first rule's condition, the second must never decide.
func failClosedPolicy(decision, condition string) string {
	extra := ""
	if decision != "deny" {
		extra = "    max_duration: 8h\n"
	}
	return `version: 1
rules:
  - name: block-contractors
    match:
      provider: aws
      accounts: ["*"]
      permission_sets: ["*"]
      requesters: ["*"]
      condition: '` + condition + `'
` + extra + `    decision: ` + decision + `
  - name: everyone
    match: {provider: aws, accounts: ["*"], permission_sets: ["*"], requesters: ["*"]}
    max_duration: 8h
    decision: allow
`
}

// A misspelt field is a load error at the field, naming the fields that
// exist, for every variable; `policy check` runs this same Parse.
func TestConditionUnknownFieldIsALoadError(t *testing.T) {
	tests := []struct {
		condition string
		at        string
		field     string
	}{
		{`"contractors" in requester.group`, "9:45:", "requester.group"},
		{`request.durration > duration("1h")`, "9:26:", "request.durration"},
		{`has(request.tikcet)`, "9:22:", "request.tikcet"},
		{`request.tags.env == "prod" && requester.id.endsWith("@x") && request.x == 1`, "9:", "request.x"},
	}
	for _, tt := range tests {
		for _, decision := range []string{"deny", "allow"} {
			t.Run(tt.field+"/"+decision, func(t *testing.T) {
				p, err := Parse("access_rules.yaml", []byte(failClosedPolicy(decision, tt.condition)))
				if err == nil {
					d := p.Evaluate(input(dave, prodAccount, "AdministratorAccess", time.Hour))
					t.Fatalf("policy with %s loaded; dave's request: %s by %q (%s)", tt.field, d.Effect, d.Rule, d.Reason)
				}
				var ve *ValidationError
				if !errors.As(err, &ve) || len(ve.Problems) != 1 {
					t.Fatalf("want one problem, got %v", err)
				}
				msg := ve.Problems[0].String()
				if !strings.HasPrefix(msg, "access_rules.yaml:"+tt.at) {
					t.Errorf("problem not at %s: %s", tt.at, msg)
				}
				for _, want := range []string{"requester.{id, groups}", "request.{provider, resource, role, account, permission_set, reason, ticket, duration, ous, tags}"} {
					if !strings.Contains(msg, want) {
						t.Errorf("problem does not list the known fields %s: %s", want, msg)
					}
				}
			})
		}
	}
}

// A condition that fails at run time denies, by the rule whose condition
// failed and with the error as the reason; it never falls through to the
// allow-everyone rule after it. Explain shows the same.
func TestConditionRuntimeErrorDenies(t *testing.T) {
	tests := []struct {
		condition string
		inReason  string
	}{
		// The production account is in two OUs: 1/0 at run time.
		{`1 / (size(request.ous) - 2) == 1`, "division by zero"},
		{`request.tags["team"] == "contractors"`, "no such key"},
		{`requester.groups[5] == "contractors"`, "index"},
	}
	for _, tt := range tests {
		for _, decision := range []string{"deny", "allow", "require_approval"} {
			t.Run(tt.condition+"/"+decision, func(t *testing.T) {
				src := failClosedPolicy(decision, tt.condition)
				if decision == "require_approval" {
					src = strings.Replace(src, "    decision: require_approval", "    approval: {approvers: [\"group:sre-leads\"]}\n    decision: require_approval", 1)
				}
				p := mustParse(t, src)
				in := input(dave, prodAccount, "AdministratorAccess", time.Hour)
				d := evaluate(t, p, in)
				if d.Effect != drawbridge.EffectDeny || d.Rule != "block-contractors" {
					t.Fatalf("decided %s by %q (%s); want deny by block-contractors", d.Effect, d.Rule, d.Reason)
				}
				if !strings.Contains(d.Reason, tt.inReason) || !strings.Contains(d.Reason, `condition of rule "block-contractors"`) {
					t.Fatalf("reason %q does not name the rule and the error %q", d.Reason, tt.inReason)
				}
				ex := p.Explain(in)
				if !ex.Steps[0].Decided || !strings.Contains(ex.Steps[0].Detail, tt.inReason) || ex.Steps[1].Decided {
					t.Fatalf("explain:\n%s", ex)
				}
			})
		}
	}
}

// Conditions must be bool-typed at load: a condition that can only be
// known to be a bool at run time is refused.
func TestConditionMustBeBool(t *testing.T) {
	for _, c := range []string{`request.reason`, `request.duration`, `requester.groups`, `dyn(request.reason)`} {
		if _, err := Parse("access_rules.yaml", []byte(failClosedPolicy("deny", c))); err == nil || !strings.Contains(err.Error(), "must be a bool expression") {
			t.Errorf("%s: %v", c, err)
		}
	}
}

// FuzzCondition: whatever the condition, a deny rule guarded by it and
// followed by an allow-everyone rule lets a request through only when the
// condition evaluated to false without error.
func FuzzCondition(f *testing.F) {
	for _, c := range []string{
		`"contractors" in requester.groups`, `1/0 == 1`, `request.tags["team"] == "x"`,
		`requester.groups[2] == "x"`, `request.duration > duration("1h")`, `now.getHours() < 9`,
		`request.reason.matches("^x")`, `int(request.ticket) > 3`, `[1, 2].all(x, x > 0)`,
	} {
		f.Add(c)
	}
	inputs := []*Input{
		input(dave, prodAccount, "AdministratorAccess", time.Hour),
		input(alice, "999999999999", "ReadOnlyAccess", time.Minute),
	}
	f.Fuzz(func(t *testing.T, cond string) {
		prg, _ := compileCondition(cond)
		if prg == nil || !utf8.ValidString(cond) {
			return
		}
		src := strings.Replace(failClosedPolicy("deny", "X"), `'X'`, fmt.Sprintf("%q", cond), 1)
		p, err := Parse("fuzz.yaml", []byte(src))
		if err != nil {
			t.Fatalf("compiles alone but not in a policy: %v\n%s", err, src)
		}
		for _, in := range inputs {
			out, _, evalErr := prg.Eval(&activation{in: in})
			d := p.Evaluate(in)
			if s := p.scan(in); s != d {
				t.Fatalf("index %+v, scan %+v", d, s)
			}
			if evalErr == nil && out.Value() == false {
				if d.Rule != "everyone" {
					t.Fatalf("condition false, but decided by %q: %s", d.Rule, d.Reason)
				}
				continue
			}
			if d.Effect != drawbridge.EffectDeny || d.Rule != "block-contractors" {
				t.Fatalf("condition gave %v, %v; decided %s by %q: %s", out, evalErr, d.Effect, d.Rule, d.Reason)
			}
		}
	})
}

// A condition that reads no variable fails the same way for every request,
// so `policy check` reports it instead of the rule denying everyone.
func TestConstantConditionThatFailsIsALoadError(t *testing.T) {
	for _, c := range []string{`1/0 == 1`, `[1][3] == 1`, `{"a": 1}["b"] == 1`} {
		_, err := Parse("access_rules.yaml", []byte(failClosedPolicy("deny", c)))
		if err == nil || !strings.Contains(err.Error(), "access_rules.yaml:9:18: condition: condition fails to evaluate for every request") {
			t.Errorf("%s: %v", c, err)
		}
	}
	for _, c := range []string{`1 == 1`, `[1, 2].all(x, x > 0)`, `false && 1/0 == 1`} {
		mustParse(t, failClosedPolicy("deny", c))
	}
}
