package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/drawbridge-jit/drawbridge"
)

// Explanation is the trace behind a decision, for `drawbridge policy
// explain`: every rule in file order, whether its match held and why not,
// and the decision Evaluate returns for the same input.
type Explanation struct {
	Decision drawbridge.Decision `json:"decision"`
	Steps    []Step              `json:"steps"`
}

// Step is one rule's part in an Explanation.
type Step struct {
	Rule string `json:"rule"`
	Line int    `json:"line"`
	// Matched reports whether the rule's match held.
	Matched bool `json:"matched"`
	// Decided is true for the first matching rule, the one that decided.
	Decided bool `json:"decided"`
	// Detail says why the rule did not match, what it decided, or, for a
	// matching rule after the deciding one, that it was shadowed.
	Detail string `json:"detail"`
}

// Explain evaluates in against every rule without the index and says, rule
// by rule, what happened. It allocates freely: it is for people, not for
// the request path.
func (p *Policy) Explain(in *Input) Explanation {
	ex := Explanation{Decision: p.scan(in)}
	if invalidInput(in) != "" {
		return ex
	}
	act := activation{in: in}
	decider := ""
	for _, r := range p.rules {
		st := Step{Rule: r.Name, Line: r.Line}
		why, err := r.whyNot(in, &act)
		switch {
		case err != nil && decider == "":
			st.Decided = true
			decider = r.Name
			st.Detail = "condition failed to evaluate; decided: deny (" + ex.Decision.Reason + ")"
		case err != nil:
			st.Detail = fmt.Sprintf("condition failed to evaluate (%v), but rule %q comes first and decided", err, decider)
		case why != "":
			st.Detail = why
		case decider == "":
			st.Matched, st.Decided = true, true
			decider = r.Name
			st.Detail = "matched; decided: " + string(ex.Decision.Effect)
			if ex.Decision.Reason != "" {
				st.Detail += " (" + ex.Decision.Reason + ")"
			}
		default:
			st.Matched = true
			st.Detail = fmt.Sprintf("matched, but rule %q comes first and decided", decider)
		}
		ex.Steps = append(ex.Steps, st)
	}
	return ex
}

// String renders the explanation one rule per line, as the CLI prints it.
func (e Explanation) String() string {
	var b strings.Builder
	for _, s := range e.Steps {
		mark := "  "
		if s.Decided {
			mark = "=>"
		}
		fmt.Fprintf(&b, "%s %s (line %d): %s\n", mark, s.Rule, s.Line, s.Detail)
	}
	fmt.Fprintf(&b, "decision: %s", e.Decision.Effect)
	if e.Decision.Rule != "" {
		fmt.Fprintf(&b, " by rule %q", e.Decision.Rule)
	}
	if e.Decision.Reason != "" {
		fmt.Fprintf(&b, ": %s", e.Decision.Reason)
	}
	return b.String()
}

// whyNot returns "" when the rule's match holds, else the first reason it
// does not, in the order the match keys are written; or the error of a
// condition that failed to evaluate.
func (r *Rule) whyNot(in *Input, act *activation) (string, error) {
	e := in.Entitlement
	if r.Provider != e.Provider {
		return fmt.Sprintf("provider is %q, rule wants %q", e.Provider, r.Provider), nil
	}
	if !r.matchesResource(in) {
		return fmt.Sprintf("resource %s (OUs: %s; tags: %s) is not selected by %s",
			e.Resource, listOrNone(in.OUs), tagsOrNone(in.Tags), strings.Join(r.Resources, ", ")), nil
	}
	if !r.matchesRole(e.Role) {
		return fmt.Sprintf("role %s is not in %s", e.Role, strings.Join(r.Roles, ", ")), nil
	}
	if !r.matchesRequester(in.Requester) {
		return fmt.Sprintf("requester %s (groups: %s) is not in %s",
			in.Requester.ID, listOrNone(in.Requester.Groups), strings.Join(r.Requesters, ", ")), nil
	}
	ok, err := r.condition(act)
	if err != nil {
		return "", err
	}
	if !ok {
		return fmt.Sprintf("condition is false: %s", r.Condition), nil
	}
	return "", nil
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func tagsOrNone(tags map[string]string) string {
	if len(tags) == 0 {
		return "none"
	}
	kv := make([]string, 0, len(tags))
	for k, v := range tags {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return strings.Join(kv, ", ")
}
