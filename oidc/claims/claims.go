// Package claims computes managed groups from the claims of an OIDC
// sign-in: filters in HashiCorp Boundary's syntax (go-bexpr) over
// {"token": <ID token claims>, "userinfo": <userinfo claims>}, with the
// rule that a claim the sign-in does not carry never matches. It is
// apart from package oidc so that config can check filters without
// depending on the sign-in flow.
package claims

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-bexpr"
)

// ManagedGroup is a group whose members are computed from the claims of
// their sign-in, with a filter in HashiCorp Boundary's syntax (go-bexpr)
// over {"token": <ID token claims>, "userinfo": <userinfo claims>}:
// `"c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a" in "/token/groups"`.
type ManagedGroup struct {
	Name, Filter string
}

// Filter is one compiled managed-group filter.
type Filter struct {
	eval *bexpr.Evaluator
}

// unknownClaim stands for every selector the claims do not have. go-bexpr
// on its own answers a missing key with the operator's "not present"
// disposition, so `"/token/dept" != "HR"`, `"x" not in "/token/groups"`,
// `is empty` and `not …` all match a token that lacks the claim — a
// token with fewer claims would get more groups. A function value is a
// type every operator refuses (==, in, contains, matches, is empty, is
// nil, collections), so evaluation fails, and a failed evaluation is no
// match: a filter that reads a claim the sign-in does not carry, or a
// claim of a type its operator cannot compare, does not match, whatever
// the operator and whatever not, and, or surround it.
var unknownClaim any = func() {}

// CompileFilter parses a filter, or says what is wrong with it.
func CompileFilter(expr string) (*Filter, error) {
	e, err := bexpr.CreateEvaluator(expr, bexpr.WithUnknownValue(unknownClaim))
	if err != nil {
		return nil, fmt.Errorf("filter %q does not parse: %v (example: \"<group-object-id>\" in \"/token/groups\")", expr, err)
	}
	return &Filter{eval: e}, nil
}

// Match reports whether the claims match the filter.
func (f *Filter) Match(token, userinfo map[string]any) bool {
	ok, err := f.eval.Evaluate(map[string]any{"token": token, "userinfo": userinfo})
	return err == nil && ok
}

// ErrGroupsOverage is a token that says its groups did not fit in it.
var ErrGroupsOverage = errors.New("groups overage")

// Groups are the managed groups of one sign-in method, compiled.
type Groups struct {
	// ValidFor is how long a computed membership counts.
	ValidFor time.Duration
	names    []string
	filters  []*Filter
}

// CompileGroups compiles every group's filter.
func CompileGroups(groups []ManagedGroup, validFor time.Duration) (*Groups, error) {
	g := &Groups{ValidFor: validFor}
	for _, mg := range groups {
		f, err := CompileFilter(mg.Filter)
		if err != nil {
			return nil, fmt.Errorf("managed group %s: %w", mg.Name, err)
		}
		g.names = append(g.names, mg.Name)
		g.filters = append(g.filters, f)
	}
	return g, nil
}

// Evaluate returns the names of the groups whose filter the claims
// match. A token whose groups did not fit in it (Entra's overage: more
// than about 200 groups, sent as _claim_names/_claim_sources or
// hasgroups instead of a groups claim) is ErrGroupsOverage, never "no
// groups": the caller keeps the memberships it had, which expire on their
// own.
func (g *Groups) Evaluate(token, userinfo map[string]any) ([]string, error) {
	if Overage(token) {
		return nil, ErrGroupsOverage
	}
	var out []string
	for i, f := range g.filters {
		if f.Match(token, userinfo) {
			out = append(out, g.names[i])
		}
	}
	return out, nil
}

// Overage reports whether claims say the groups did not fit: Entra puts
// "groups" under _claim_names (pointing at a Graph URL in _claim_sources)
// in ID tokens, or hasgroups: true in implicit-flow tokens.
func Overage(claims map[string]any) bool {
	if names, ok := claims["_claim_names"].(map[string]any); ok {
		if _, ok := names["groups"]; ok {
			return true
		}
	}
	has, _ := claims["hasgroups"].(bool)
	return has
}
