// Package policygen generates large synthetic access_rules.yaml files and a
// request to decide against them, so that the policy benchmarks and the
// OPA/CEL comparisons (bench/policycompare) measure the very same policy and
// the very same decision. It is a test and benchmark helper; nothing in the
// product imports it.
package policygen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// Rule is one generated rule, kept alongside its YAML so that comparisons
// can translate the policy into other engines without parsing YAML again.
type Rule struct {
	Name       string
	Accounts   []string // exact ids, "ou:<id>", "tag:k=v" or "*"
	Roles      []string // names or "*"
	Requesters []string // "group:x", "user:x" or "*"
	Decision   drawbridge.Effect
	MaxHours   int
}

// Request is the request every engine decides in the benchmarks.
type Request struct {
	Requester drawbridge.Principal
	drawbridge.Entitlement
	Duration time.Duration
	OUs      []string
	Tags     map[string]string
}

// Generated is a policy and the request to benchmark against it.
type Generated struct {
	YAML  []byte
	Rules []Rule
	// Request is allowed by rule WantRule, which sits near the end of the
	// file, so a plain scan has to look at almost every rule first.
	Request  Request
	WantRule string
}

// Generate builds an n-rule policy (n >= 60) deterministically from seed,
// with a realistic mix of selectors: mostly exact accounts, then OUs, tags,
// wildcards and mixtures, role lists and role wildcards, group, user and
// wildcard requesters, and allow, require_approval and deny decisions.
func Generate(n int, seed uint64) Generated {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	accounts := make([]string, 300)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("%012d", 100000000000+i*7919)
	}
	ous := []string{"ou-root-workloads", "ou-team-1", "ou-team-2", "ou-team-3", "ou-team-4", "ou-team-5", "ou-team-6", "ou-team-7", "ou-sandbox", "ou-security"}
	tags := []string{"env=prod", "env=staging", "env=dev", "team=payments", "team=search", "team=platform", "data=pii"}
	roles := make([]string, 25)
	for i := range roles {
		roles[i] = fmt.Sprintf("Role%02dAccess", i)
	}
	groups := make([]string, 40)
	for i := range groups {
		groups[i] = fmt.Sprintf("team-%02d", i)
	}

	req := Request{
		Requester: drawbridge.Principal{
			ID:     "erin@example.com",
			Groups: []string{"engineers", groups[3], groups[17], "oncall"},
		},
		Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: accounts[42], Role: roles[7]},
		Duration:    time.Hour,
		OUs:         []string{"ou-root-workloads", "ou-team-7"},
		Tags:        map[string]string{"env": "prod", "team": "payments"},
	}
	target := n - 50

	pick := func(pool []string, k int) []string {
		out := make([]string, 0, k)
		for len(out) < k {
			if s := pool[rng.IntN(len(pool))]; !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	var g Generated
	for i := range n {
		r := Rule{Name: fmt.Sprintf("rule-%04d", i), MaxHours: 1 + rng.IntN(12)}
		switch x := rng.IntN(100); {
		case x < 55:
			r.Accounts = pick(accounts, 1+rng.IntN(3))
		case x < 70:
			r.Accounts = []string{"ou:" + ous[rng.IntN(len(ous))]}
		case x < 80:
			r.Accounts = []string{"tag:" + tags[rng.IntN(len(tags))]}
		case x < 90:
			r.Accounts = []string{"*"}
		default:
			r.Accounts = append(pick(accounts, 1+rng.IntN(2)), "ou:"+ous[rng.IntN(len(ous))])
		}
		if rng.IntN(10) == 0 {
			r.Roles = []string{"*"}
		} else {
			r.Roles = pick(roles, 1+rng.IntN(2))
		}
		switch x := rng.IntN(100); {
		case x < 70:
			r.Requesters = prefixed("group:", pick(groups, 1+rng.IntN(2)))
		case x < 90:
			r.Requesters = []string{fmt.Sprintf("user:user%03d@example.com", rng.IntN(500))}
		default:
			r.Requesters = []string{"*"}
		}
		switch x := rng.IntN(10); {
		case x < 6:
			r.Decision = drawbridge.EffectAllow
		case x < 9:
			r.Decision = drawbridge.EffectRequireApproval
		default:
			r.Decision = drawbridge.EffectDeny
		}
		if i == target {
			r = Rule{
				Name: "target", Accounts: []string{req.Resource, accounts[43]},
				Roles: []string{req.Role, roles[8]}, Requesters: []string{"group:" + groups[17]},
				Decision: drawbridge.EffectAllow, MaxHours: 4,
			}
		} else if r.matches(&req) {
			// Keep the earlier rules from deciding the benchmark request,
			// while they still share its account, OUs, tags, role or
			// groups and so stay candidates the index must skip.
			r.Requesters = []string{"group:nobody-" + r.Name}
		}
		g.Rules = append(g.Rules, r)
	}
	g.YAML = render(g.Rules)
	g.Request = req
	g.WantRule = "target"
	return g
}

func prefixed(prefix string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = prefix + x
	}
	return out
}

// matches is the generator's own small definition of a rule's match, used
// only to keep random rules from shadowing the target.
func (r *Rule) matches(q *Request) bool {
	res := false
	for _, a := range r.Accounts {
		switch {
		case a == "*" || a == q.Resource:
			res = true
		case strings.HasPrefix(a, "ou:"):
			res = res || slices.Contains(q.OUs, a[3:])
		case strings.HasPrefix(a, "tag:"):
			k, v, _ := strings.Cut(a[4:], "=")
			if have, ok := q.Tags[k]; ok && have == v {
				res = true
			}
		}
	}
	role := slices.Contains(r.Roles, "*") || slices.Contains(r.Roles, q.Role)
	who := false
	for _, s := range r.Requesters {
		who = who || s == "*" || s == "user:"+q.Requester.ID ||
			(strings.HasPrefix(s, "group:") && slices.Contains(q.Requester.Groups, s[6:]))
	}
	return res && role && who
}

func render(rules []Rule) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nrules:\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "  - name: %s\n    match:\n      provider: aws\n", r.Name)
		fmt.Fprintf(&b, "      accounts: [%s]\n", quoted(r.Accounts))
		fmt.Fprintf(&b, "      permission_sets: [%s]\n", quoted(r.Roles))
		fmt.Fprintf(&b, "      requesters: [%s]\n", quoted(r.Requesters))
		switch r.Decision {
		case drawbridge.EffectRequireApproval:
			b.WriteString("    approval: {approvers: [\"group:sre-leads\"], count: 1, timeout: 4h}\n")
			fallthrough
		case drawbridge.EffectAllow:
			fmt.Fprintf(&b, "    max_duration: %dh\n", r.MaxHours)
		}
		fmt.Fprintf(&b, "    decision: %s\n", r.Decision)
	}
	return []byte(b.String())
}

func quoted(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = `"` + x + `"`
	}
	return strings.Join(q, ", ")
}

// CEL returns the rule's match as one CEL expression over the variables
// `request` (provider, resource, role, ous, tags) and `requester` (id,
// groups), for the "1,000 CEL programs" comparison.
func (r *Rule) CEL() string {
	var res []string
	var ids []string
	for _, a := range r.Accounts {
		switch {
		case a == "*":
			res = append(res, "true")
		case strings.HasPrefix(a, "ou:"):
			res = append(res, fmt.Sprintf("%q in request.ous", a[3:]))
		case strings.HasPrefix(a, "tag:"):
			k, v, _ := strings.Cut(a[4:], "=")
			res = append(res, fmt.Sprintf("(%q in request.tags && request.tags[%q] == %q)", k, k, v))
		default:
			ids = append(ids, fmt.Sprintf("%q", a))
		}
	}
	if len(ids) > 0 {
		res = append(res, "request.resource in ["+strings.Join(ids, ", ")+"]")
	}
	role := "true"
	if !slices.Contains(r.Roles, "*") {
		role = "request.role in [" + quotedCEL(r.Roles) + "]"
	}
	var who []string
	var users, grps []string
	for _, s := range r.Requesters {
		switch {
		case s == "*":
			who = append(who, "true")
		case strings.HasPrefix(s, "user:"):
			users = append(users, s[5:])
		case strings.HasPrefix(s, "group:"):
			grps = append(grps, s[6:])
		}
	}
	if len(users) > 0 {
		who = append(who, "requester.id in ["+quotedCEL(users)+"]")
	}
	if len(grps) > 0 {
		who = append(who, "requester.groups.exists(g, g in ["+quotedCEL(grps)+"])")
	}
	return fmt.Sprintf(`request.provider == "aws" && (%s) && %s && (%s)`,
		strings.Join(res, " || "), role, strings.Join(who, " || "))
}

func quotedCEL(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
