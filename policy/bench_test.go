package policy

import (
	"testing"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/policy/policygen"
)

// benchPolicy parses the generated 1,000-rule policy and returns it with the
// request the benchmarks decide, after checking that the decision is the
// intended allow by a rule near the end of the file.
func benchPolicy(tb testing.TB) (*Policy, *Input, policygen.Generated) {
	tb.Helper()
	g := policygen.Generate(1000, 1)
	p, err := Parse("generated.yaml", g.YAML)
	if err != nil {
		tb.Fatal(err)
	}
	q := g.Request
	in := &Input{
		Requester:   &q.Requester,
		Entitlement: q.Entitlement,
		Duration:    q.Duration,
		Now:         time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		OUs:         q.OUs,
		Tags:        q.Tags,
	}
	for name, d := range map[string]drawbridge.Decision{"index": p.Evaluate(in), "scan": p.scan(in)} {
		if d.Effect != drawbridge.EffectAllow || d.Rule != g.WantRule {
			tb.Fatalf("%s: got %+v, want allow by %q", name, d, g.WantRule)
		}
	}
	return p, in, g
}

func TestEvaluateAllowDoesNotAllocate(t *testing.T) {
	p, in, _ := benchPolicy(t)
	if n := testing.AllocsPerRun(100, func() { p.Evaluate(in) }); n != 0 {
		t.Fatalf("Evaluate allocated %v times per allow decision, want 0", n)
	}
}

// BenchmarkEvaluate1000Rules is DESIGN.md's policy target: one decision
// against 1,000 rules without CEL conditions, ≤ 250 ns and no allocations.
func BenchmarkEvaluate1000Rules(b *testing.B) {
	p, in, _ := benchPolicy(b)
	b.ReportAllocs()
	for b.Loop() {
		if d := p.Evaluate(in); d.Effect != drawbridge.EffectAllow {
			b.Fatal(d)
		}
	}
}

// BenchmarkEvaluate1000RulesNoMatch is the fail-closed path: a request no
// rule matches, for an account the index knows nothing about.
func BenchmarkEvaluate1000RulesNoMatch(b *testing.B) {
	p, in, _ := benchPolicy(b)
	miss := *in
	miss.Entitlement.Resource = "999999999999"
	miss.OUs, miss.Tags = nil, nil
	b.ReportAllocs()
	for b.Loop() {
		if d := p.Evaluate(&miss); d.Effect != drawbridge.EffectDeny {
			b.Fatal(d)
		}
	}
}

// BenchmarkNaiveScan1000Rules is the same decision by checking every rule
// in order with the same compiled matchers: what the index saves.
func BenchmarkNaiveScan1000Rules(b *testing.B) {
	p, in, _ := benchPolicy(b)
	b.ReportAllocs()
	for b.Loop() {
		if d := p.scan(in); d.Effect != drawbridge.EffectAllow {
			b.Fatal(d)
		}
	}
}

// BenchmarkCEL1000Programs is the same decision written as 1,000 compiled
// CEL programs evaluated in order until one is true, the obvious way to use
// CEL for the whole policy; the Go checks after the match are the same.
func BenchmarkCEL1000Programs(b *testing.B) {
	p, in, g := benchPolicy(b)
	env, err := celEnv()
	if err != nil {
		b.Fatal(err)
	}
	prgs := make([]cel.Program, len(g.Rules))
	for i := range g.Rules {
		ast, iss := env.Compile(g.Rules[i].CEL())
		if iss.Err() != nil {
			b.Fatalf("%s: %v", g.Rules[i].CEL(), iss.Err())
		}
		if prgs[i], err = env.Program(ast, cel.EvalOptions(cel.OptOptimize)); err != nil {
			b.Fatal(err)
		}
	}
	decide := func() drawbridge.Decision {
		act := activation{in: in}
		for i, prg := range prgs {
			out, _, err := prg.Eval(&act)
			if err == nil && out.Value() == true {
				return p.decide(p.rules[i], in)
			}
		}
		return p.noMatch
	}
	if d := decide(); d.Rule != g.WantRule {
		b.Fatalf("CEL programs decided %+v, want rule %q", d, g.WantRule)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d := decide(); d.Effect != drawbridge.EffectAllow {
			b.Fatal(d)
		}
	}
}
