package policy

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/drawbridge-jit/drawbridge"
)

// specRule is a rule as the property test generates it; oracle decides
// from these directly, independently of the parser, the index and scan.
type specRule struct {
	provider   string
	resources  []string
	roles      []string
	requesters []string
	condition  string
	decision   drawbridge.Effect
	max        time.Duration
	reason     bool
}

// conditions model each CEL condition the random policies use: whether it
// holds, and whether it fails to evaluate (which denies by that rule).
var conditions = map[string]func(in *Input) (holds, fails bool){
	"":                                   func(*Input) (bool, bool) { return true, false },
	`request.duration <= duration("1h")`: func(in *Input) (bool, bool) { return in.Duration <= time.Hour, false },
	`"g1" in requester.groups`:           func(in *Input) (bool, bool) { return slices.Contains(in.Requester.Groups, "g1"), false },
	// Indexing a missing key is a runtime error.
	`request.tags["team"] == "x"`: func(in *Input) (bool, bool) {
		v, ok := in.Tags["team"]
		return v == "x", !ok
	},
}

func (s *specRule) matches(in *Input) (holds, fails bool) {
	e := in.Entitlement
	if s.provider != e.Provider {
		return false, false
	}
	res := false
	for _, r := range s.resources {
		switch {
		case r == "*" || r == e.Resource:
			res = true
		case strings.HasPrefix(r, "ou:"):
			res = res || slices.Contains(in.OUs, r[3:])
		case strings.HasPrefix(r, "tag:"):
			k, v, _ := strings.Cut(r[4:], "=")
			if have, ok := in.Tags[k]; ok && have == v {
				res = true
			}
		}
	}
	role := slices.Contains(s.roles, "*") || slices.Contains(s.roles, e.Role)
	who := false
	for _, q := range s.requesters {
		who = who || q == "*" || q == "user:"+in.Requester.ID ||
			(strings.HasPrefix(q, "group:") && slices.Contains(in.Requester.Groups, q[6:]))
	}
	if !res || !role || !who {
		return false, false
	}
	return conditions[s.condition](in)
}

func oracle(rules []specRule, in *Input) (drawbridge.Effect, string) {
	for i := range rules {
		s := &rules[i]
		holds, fails := s.matches(in)
		name := fmt.Sprintf("r%d", i)
		if fails {
			return drawbridge.EffectDeny, name
		}
		if !holds {
			continue
		}
		switch {
		case s.decision == drawbridge.EffectDeny,
			in.Duration > s.max,
			s.reason && in.Reason == "":
			return drawbridge.EffectDeny, name
		}
		return s.decision, name
	}
	return drawbridge.EffectDeny, ""
}

func render(rules []specRule) string {
	q := func(xs []string) string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = fmt.Sprintf("%q", x)
		}
		return strings.Join(out, ", ")
	}
	var b strings.Builder
	b.WriteString("version: 1\nrules:\n")
	for i, s := range rules {
		fmt.Fprintf(&b, "  - name: r%d\n    match:\n      provider: %s\n      resources: [%s]\n      roles: [%s]\n      requesters: [%s]\n",
			i, s.provider, q(s.resources), q(s.roles), q(s.requesters))
		if s.condition != "" {
			fmt.Fprintf(&b, "      condition: %q\n", s.condition)
		}
		if s.decision != drawbridge.EffectDeny {
			fmt.Fprintf(&b, "    max_duration: %s\n", s.max)
			if s.reason {
				b.WriteString("    require: {reason: true}\n")
			}
		}
		if s.decision == drawbridge.EffectRequireApproval {
			b.WriteString("    approval: {approvers: [\"group:g4\"]}\n")
		}
		fmt.Fprintf(&b, "    decision: %s\n", s.decision)
	}
	return b.String()
}

var (
	propAccounts = []string{"000000000001", "000000000002", "000000000003"}
	propOUs      = []string{"ou-a", "ou-b", "ou-c"}
)

func subset[T any](t *rapid.T, pool []T, label string) []T {
	return rapid.SliceOfNDistinct(rapid.SampledFrom(pool), 1, 3, func(x T) string { return fmt.Sprint(x) }).Draw(t, label)
}

// TestIndexAgreesWithOracle is the property behind the index: on random
// policies (up to 150 rules, so decisions cross 64-rule words) and random
// requests, Evaluate, the plain scan and Explain reach the decision an
// independent first-match definition reaches.
func TestIndexAgreesWithOracle(t *testing.T) {
	condKeys := []string{"", `request.duration <= duration("1h")`, `"g1" in requester.groups`, `request.tags["team"] == "x"`}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 150).Draw(t, "rules")
		rules := make([]specRule, n)
		for i := range rules {
			cond := ""
			if rapid.IntRange(0, 4).Draw(t, "hasCond") == 0 {
				cond = rapid.SampledFrom(condKeys).Draw(t, "cond")
			}
			rules[i] = specRule{
				provider:   rapid.SampledFrom([]string{"aws", "aws", "entra"}).Draw(t, "provider"),
				resources:  subset(t, append([]string{"*", "ou:ou-a", "ou:ou-b", "tag:env=prod", "tag:env=dev", "tag:team="}, propAccounts...), "resources"),
				roles:      subset(t, []string{"*", "A", "B", "C"}, "roles"),
				requesters: subset(t, []string{"*", "group:g1", "group:g2", "group:g3", "user:u1@x.io", "user:u2@x.io"}, "requesters"),
				condition:  cond,
				decision:   rapid.SampledFrom([]drawbridge.Effect{drawbridge.EffectAllow, drawbridge.EffectRequireApproval, drawbridge.EffectDeny}).Draw(t, "decision"),
				max:        time.Duration(rapid.IntRange(1, 3).Draw(t, "max")) * time.Hour,
				reason:     rapid.Bool().Draw(t, "reason"),
			}
		}
		src := render(rules)
		p, err := Parse("random.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%v\n%s", err, src)
		}
		for range 20 {
			tags := map[string]string{}
			if v := rapid.SampledFrom([]string{"", "prod", "dev"}).Draw(t, "env"); v != "" {
				tags["env"] = v
			}
			if rapid.Bool().Draw(t, "hasTeam") {
				tags["team"] = rapid.SampledFrom([]string{"", "x"}).Draw(t, "team")
			}
			in := &Input{
				Requester: &drawbridge.Principal{
					ID:     rapid.SampledFrom([]string{"u1@x.io", "u2@x.io", "u3@x.io"}).Draw(t, "id"),
					Groups: rapid.SliceOfDistinct(rapid.SampledFrom([]string{"g1", "g2", "g3", "g4"}), rapid.ID).Draw(t, "groups"),
				},
				Entitlement: drawbridge.Entitlement{
					Provider: rapid.SampledFrom([]string{"aws", "entra", "boundary"}).Draw(t, "inProvider"),
					Resource: rapid.SampledFrom(append([]string{"999999999999"}, propAccounts...)).Draw(t, "resource"),
					Role:     rapid.SampledFrom([]string{"A", "B", "C", "D", "*"}).Draw(t, "role"),
				},
				Duration: time.Duration(rapid.IntRange(1, 8).Draw(t, "halfHours")) * 30 * time.Minute,
				Reason:   rapid.SampledFrom([]string{"", "because"}).Draw(t, "inReason"),
				OUs:      rapid.SliceOfDistinct(rapid.SampledFrom(propOUs), rapid.ID).Draw(t, "ous"),
				Tags:     tags,
			}
			wantEffect, wantRule := oracle(rules, in)
			d := p.Evaluate(in)
			if d.Effect != wantEffect || d.Rule != wantRule {
				t.Fatalf("Evaluate: %s by %q (%s), oracle: %s by %q\ninput %+v %+v\n%s", d.Effect, d.Rule, d.Reason, wantEffect, wantRule, in, in.Requester, src)
			}
			if s := p.scan(in); s != d {
				t.Fatalf("scan %+v, Evaluate %+v", s, d)
			}
			if e := p.Explain(in); e.Decision != d {
				t.Fatalf("Explain %+v, Evaluate %+v", e.Decision, d)
			}
		}
	})
}

// FuzzParse: the parser never panics, rejects with positioned problems,
// and a policy it accepts never panics when evaluated, whatever the input.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"../examples/access_rules.yaml", "../examples/policy_tests.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Add([]byte(orderingPolicy))
	f.Add([]byte(edit(`requesters: ["*"]`, `requesters: ["*"]`+"\n      condition: 'request.duration <= duration(\"2h\")'")))
	f.Add([]byte("version: 1\nrules: [\n"))
	f.Add([]byte("a: &x [*x]\n"))
	inputs := []*Input{
		input(alice, prodAccount, "AdministratorAccess", time.Hour),
		input(bob, stagingAccount, "ReadOnlyAccess", 30*time.Minute),
		input(dave, "999999999999", "*", 100*time.Hour),
		{Requester: &drawbridge.Principal{ID: "x"}, Entitlement: drawbridge.Entitlement{Provider: "aws\x00", Resource: "\x00", Role: "\x00*"}, Duration: 1},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("error without problems: %T %v", err, err)
			}
			for _, pr := range ve.Problems {
				if pr.Line < 1 || pr.Col < 1 || pr.Message == "" {
					t.Fatalf("unpositioned problem %+v", pr)
				}
			}
			if p != nil {
				t.Fatal("policy returned with an error")
			}
			return
		}
		for _, in := range inputs {
			d := p.Evaluate(in)
			if s := p.scan(in); s != d {
				t.Fatalf("index %+v, scan %+v", d, s)
			}
			if d.PolicySHA != p.SHA256() {
				t.Fatal("decision without the policy's sha")
			}
			p.Explain(in)
		}
		_, _ = ParseCases("fuzz.yaml", data)
	})
}
