// Package policycompare benchmarks the same 1,000-rule policy decision in
// OPA/Rego, for docs/benchmarks.md. It is a separate module so that the
// product never depends on OPA; it uses the very policy and request that
// the policy package's own benchmarks use (policy/policygen).
package policycompare

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/drawbridge-jit/drawbridge/policy/policygen"
)

// compiledModule writes every policy rule as its own Rego rule contributing
// its position to a set; the decision is the smallest position. This is
// the form OPA can index (equality on input.role and input.provider), so it
// is its fastest.
func compiledModule(g policygen.Generated) string {
	var b strings.Builder
	b.WriteString("package drawbridge\n\nfirst := min(matching)\n\n")
	for i, r := range g.Rules {
		for _, res := range resourceBodies(r.Accounts) {
			for _, role := range r.Roles {
				for _, who := range requesterBodies(r.Requesters) {
					fmt.Fprintf(&b, "matching contains %d if {\n\tinput.provider == \"aws\"\n", i)
					if role != "*" {
						fmt.Fprintf(&b, "\tinput.role == %q\n", role)
					}
					b.WriteString(res + who + "}\n\n")
				}
			}
		}
	}
	return b.String()
}

func resourceBodies(accounts []string) []string {
	var out []string
	for _, a := range accounts {
		switch {
		case a == "*":
			out = append(out, "")
		case strings.HasPrefix(a, "ou:"):
			out = append(out, fmt.Sprintf("\tinput.ous[_] == %q\n", a[3:]))
		case strings.HasPrefix(a, "tag:"):
			k, v, _ := strings.Cut(a[4:], "=")
			out = append(out, fmt.Sprintf("\tinput.tags[%q] == %q\n", k, v))
		default:
			out = append(out, fmt.Sprintf("\tinput.resource == %q\n", a))
		}
	}
	return out
}

func requesterBodies(reqs []string) []string {
	var out []string
	for _, s := range reqs {
		switch {
		case s == "*":
			out = append(out, "")
		case strings.HasPrefix(s, "user:"):
			out = append(out, fmt.Sprintf("\tinput.requester == %q\n", s[5:]))
		case strings.HasPrefix(s, "group:"):
			out = append(out, fmt.Sprintf("\tinput.groups[_] == %q\n", s[6:]))
		}
	}
	return out
}

// dataModule is the data-driven form: one generic Rego policy iterating
// over the rules held as data, the way a policy file is usually loaded
// into OPA without generating code.
const dataModule = `package drawbridge

first := min(matching)

matching contains i if {
	some i, r in data.rules
	r.provider == input.provider
	role_ok(r)
	resource_ok(r)
	requester_ok(r)
}

role_ok(r) if "*" in r.roles
role_ok(r) if input.role in r.roles

resource_ok(r) if "*" in r.resources
resource_ok(r) if input.resource in r.resources
resource_ok(r) if {
	some ou in input.ous
	concat("", ["ou:", ou]) in r.resources
}
resource_ok(r) if {
	some k, v in input.tags
	concat("", ["tag:", k, "=", v]) in r.resources
}

requester_ok(r) if "*" in r.requesters
requester_ok(r) if concat("", ["user:", input.requester]) in r.requesters
requester_ok(r) if {
	some g in input.groups
	concat("", ["group:", g]) in r.requesters
}
`

func opaInput(g policygen.Generated) map[string]any {
	q := g.Request
	tags := map[string]any{}
	for k, v := range q.Tags {
		tags[k] = v
	}
	return map[string]any{
		"provider": q.Provider, "resource": q.Resource, "role": q.Role,
		"requester": q.Requester.ID, "groups": toAny(q.Requester.Groups),
		"ous": toAny(q.OUs), "tags": tags,
	}
}

func toAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func targetIndex(g policygen.Generated) int {
	for i, r := range g.Rules {
		if r.Name == g.WantRule {
			return i
		}
	}
	return -1
}

func prepare(tb testing.TB, g policygen.Generated, data bool) rego.PreparedEvalQuery {
	tb.Helper()
	opts := []func(*rego.Rego){rego.Query("data.drawbridge.first")}
	if data {
		rules := make([]any, len(g.Rules))
		for i, r := range g.Rules {
			rules[i] = map[string]any{
				"provider": "aws", "resources": toAny(r.Accounts), "roles": toAny(r.Roles), "requesters": toAny(r.Requesters),
			}
		}
		opts = append(opts, rego.Module("data.rego", dataModule),
			rego.Store(inmem.NewFromObject(map[string]any{"rules": rules})))
	} else {
		opts = append(opts, rego.Module("compiled.rego", compiledModule(g)))
	}
	pq, err := rego.New(opts...).PrepareForEval(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return pq
}

func decide(tb testing.TB, pq rego.PreparedEvalQuery, in map[string]any) int {
	rs, err := pq.Eval(context.Background(), rego.EvalInput(in))
	if err != nil {
		tb.Fatal(err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		tb.Fatalf("no decision: %v", rs)
	}
	// OPA returns numbers as json.Number.
	num, ok := rs[0].Expressions[0].Value.(json.Number)
	if !ok {
		tb.Fatalf("decision %v (%T)", rs[0].Expressions[0].Value, rs[0].Expressions[0].Value)
	}
	i, err := num.Int64()
	if err != nil {
		tb.Fatal(err)
	}
	return int(i)
}

func TestOPAAgrees(t *testing.T) {
	g := policygen.Generate(1000, 1)
	want := targetIndex(g)
	for _, data := range []bool{false, true} {
		if got := decide(t, prepare(t, g, data), opaInput(g)); got != want {
			t.Errorf("data=%v: OPA decided rule %d, want %d", data, got, want)
		}
	}
}

// BenchmarkOPACompiled1000Rules: each policy rule as a Rego rule.
func BenchmarkOPACompiled1000Rules(b *testing.B) {
	g := policygen.Generate(1000, 1)
	pq, in := prepare(b, g, false), opaInput(g)
	b.ReportAllocs()
	for b.Loop() {
		decide(b, pq, in)
	}
}

// BenchmarkOPAData1000Rules: one generic Rego policy over the rules as data.
func BenchmarkOPAData1000Rules(b *testing.B) {
	g := policygen.Generate(1000, 1)
	pq, in := prepare(b, g, true), opaInput(g)
	b.ReportAllocs()
	for b.Loop() {
		decide(b, pq, in)
	}
}
