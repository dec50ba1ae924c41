package policy

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
)

// Case is one entry of a `drawbridge policy test` file: a request and the
// decision the policy is expected to reach for it. The CLI resolves the
// requester's groups and the resource's OUs and tags the same way the
// broker does, builds an Input with Case.Input, and checks the outcome with
// Case.Check.
type Case struct {
	Name      string
	Requester string
	Provider  string
	Resource  string
	Role      string
	Duration  time.Duration
	Reason    string
	Ticket    string

	ExpectDecision drawbridge.Effect
	// ExpectRule is the rule that must decide; "" does not check the rule.
	ExpectRule string
	// Line is where the case starts in its file, for failure messages.
	Line int
}

var (
	casesTopKeys    = []string{"cases"}
	caseKeys        = []string{"name", "request", "expect"}
	caseRequestKeys = []string{"requester", "provider", "account", "resource", "permission_set", "role", "hours", "duration", "ticket", "reason"}
	caseExpectKeys  = []string{"decision", "rule"}
)

// ParseCases parses a policy test file. Like Parse it is strict and
// reports every problem with file:line:col, because a typo in a test file
// would otherwise make a test that cannot fail.
func ParseCases(filename string, data []byte) ([]Case, error) {
	ps := &parser{file: filename}
	root := ps.document(data, "`cases:`")
	if root == nil {
		return nil, ps.err()
	}
	var cases []Case
	seen := ps.mapping(root, "the cases file", casesTopKeys, func(key string, k, v *yaml.Node) {
		if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
			ps.errf(v, "cases must be a non-empty list (each item starts with `- name: ...`)")
			return
		}
		names := map[string]int{}
		for i, cn := range v.Content {
			c, ok := ps.testCase(cn, i+1)
			if !ok {
				continue
			}
			if first, dup := names[c.Name]; dup {
				ps.errf(cn, "duplicate case name %q (first at line %d)", c.Name, first)
				continue
			}
			names[c.Name] = c.Line
			cases = append(cases, c)
		}
	})
	if seen["cases"] == nil {
		ps.errf(root, "missing cases; add a `cases:` list")
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return cases, nil
}

func (ps *parser) testCase(cn *yaml.Node, n int) (Case, bool) {
	c := Case{Line: cn.Line, Provider: "aws"}
	before := len(ps.probs)
	what := fmt.Sprintf("case #%d", n)
	seen := ps.mapping(cn, what, caseKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			c.Name, _ = ps.str(v, "name")
		case "request":
			ps.caseRequest(v, what, &c)
		case "expect":
			ps.caseExpect(v, what, &c)
		}
	})
	if cn.Kind == yaml.MappingNode {
		for _, key := range caseKeys {
			if seen[key] == nil {
				ps.errf(cn, "%s has no %s", what, key)
			}
		}
	}
	return c, len(ps.probs) == before
}

func (ps *parser) caseRequest(n *yaml.Node, what string, c *Case) {
	seen := ps.mapping(n, what+" request", caseRequestKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "requester":
			if s, ok := ps.str(v, "requester"); ok {
				c.Requester = drawbridge.CanonicalPrincipalID(s)
			}
		case "provider":
			c.Provider, _ = ps.str(v, "provider")
		case "account", "resource":
			c.Resource, _ = ps.str(v, key)
		case "permission_set", "role":
			c.Role, _ = ps.str(v, key)
		case "hours":
			if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!int" && v.ShortTag() != "!!float") {
				ps.errf(v, "hours must be a plain decimal number such as 1 or 0.5, not %s", describe(v))
				return
			}
			d, err := duration.ParseHours(v.Value)
			if err != nil {
				ps.errf(v, "%v", err)
				return
			}
			c.Duration = d
		case "duration":
			c.Duration, _ = ps.duration(v, "duration")
		case "ticket":
			c.Ticket, _ = ps.strOrEmpty(v, "ticket")
		case "reason":
			c.Reason, _ = ps.strOrEmpty(v, "reason")
		}
	})
	if n.Kind != yaml.MappingNode {
		return
	}
	need := func(ok bool, msg string) {
		if !ok {
			ps.errf(n, "%s request %s", what, msg)
		}
	}
	need(seen["requester"] != nil, "has no requester (an email)")
	need(seen["account"] != nil || seen["resource"] != nil, "has no account (or resource)")
	need(seen["permission_set"] != nil || seen["role"] != nil, "has no permission_set (or role)")
	need(seen["hours"] != nil || seen["duration"] != nil, "has no hours (or duration)")
	if seen["account"] != nil && seen["resource"] != nil {
		ps.errf(seen["resource"], "account and resource are the same field; keep one")
	}
	if seen["permission_set"] != nil && seen["role"] != nil {
		ps.errf(seen["role"], "permission_set and role are the same field; keep one")
	}
	if seen["hours"] != nil && seen["duration"] != nil {
		ps.errf(seen["duration"], "hours and duration are the same field; keep one")
	}
}

// strOrEmpty is str that also accepts an empty value, for the optional
// ticket and reason, which tests often set to "" on purpose.
func (ps *parser) strOrEmpty(n *yaml.Node, what string) (string, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return "", true
	}
	return ps.str(n, what)
}

func (ps *parser) caseExpect(n *yaml.Node, what string, c *Case) {
	seen := ps.mapping(n, what+" expect", caseExpectKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "decision":
			if s, ok := ps.str(v, "expect.decision"); ok {
				switch e := drawbridge.Effect(s); e {
				case drawbridge.EffectAllow, drawbridge.EffectRequireApproval, drawbridge.EffectDeny:
					c.ExpectDecision = e
				default:
					ps.errf(v, "unknown decision %q (valid: allow, require_approval, deny)", s)
				}
			}
		case "rule":
			c.ExpectRule, _ = ps.str(v, "expect.rule")
		}
	})
	if n.Kind == yaml.MappingNode && seen["decision"] == nil {
		ps.errf(n, "%s expect has no decision (allow, require_approval or deny)", what)
	}
}

// Input builds the policy input for the case from the requester and the
// resource attributes the caller resolved.
func (c *Case) Input(requester *drawbridge.Principal, ous []string, tags map[string]string, now time.Time) *Input {
	return &Input{
		Requester:   requester,
		Entitlement: drawbridge.Entitlement{Provider: c.Provider, Resource: c.Resource, Role: c.Role},
		Duration:    c.Duration,
		Reason:      c.Reason,
		Ticket:      c.Ticket,
		Now:         now,
		OUs:         ous,
		Tags:        tags,
	}
}

// Check compares a decision with the expectation and returns a message
// naming the case and its line when they differ, nil when they agree.
func (c *Case) Check(d drawbridge.Decision) error {
	if d.Effect != c.ExpectDecision || (c.ExpectRule != "" && d.Rule != c.ExpectRule) {
		want := string(c.ExpectDecision)
		if c.ExpectRule != "" {
			want += fmt.Sprintf(" by rule %q", c.ExpectRule)
		}
		got := string(d.Effect)
		if d.Rule != "" {
			got += fmt.Sprintf(" by rule %q", d.Rule)
		}
		return fmt.Errorf("case %q (line %d): expected %s, got %s (%s)", c.Name, c.Line, want, got, d.Reason)
	}
	return nil
}
