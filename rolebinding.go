package drawbridge

import (
	"slices"
	"strings"
)

// RoleBinding gives roles, within a scope, to the people it names:
// "group:<name>" (a group from any source: config, Identity Store,
// managed groups), "user:<email>", or "*" for everyone the directory
// knows. Channels that sign people in themselves (the OIDC web session)
// take a person's roles from the bindings, not from a token.
type RoleBinding struct {
	Members []string
	Roles   []Role
	Scope   Scope
}

// Binds reports whether b names p.
func (b RoleBinding) Binds(p *Principal) bool {
	for _, m := range b.Members {
		switch {
		case m == "*":
			return true
		case strings.HasPrefix(m, "group:") && p.InGroup(strings.TrimPrefix(m, "group:")):
			return true
		case strings.HasPrefix(m, "user:") && CanonicalPrincipalID(strings.TrimPrefix(m, "user:")) == p.ID:
			return true
		}
	}
	return false
}

// BindRoles returns p's roles and scope under bindings: every role of
// every binding that names p, and the scope all of those bindings allow
// together. Scopes are intersected, not joined: a binding that scopes an
// approver to production must not be widened by another that makes
// everyone a requester with no scope, so a person's scope is what every
// binding naming them allows (give differently scoped roles through
// separate sign-in methods or tokens). No binding names p: no roles.
func BindRoles(p *Principal, bindings []RoleBinding) ([]Role, Scope) {
	var roles []Role
	var scope Scope
	for _, b := range bindings {
		if !b.Binds(p) {
			continue
		}
		for _, r := range b.Roles {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
		scope.Providers = intersect(scope.Providers, b.Scope.Providers)
		scope.Resources = intersect(scope.Resources, b.Scope.Resources)
		scope.Roles = intersect(scope.Roles, b.Scope.Roles)
	}
	return roles, scope
}

// intersect narrows a scope list: nil is unrestricted, so nil ∩ b is b;
// two lists keep what both allow (a non-nil empty result matches nothing).
func intersect(a, b []string) []string {
	switch {
	case a == nil:
		return slices.Clone(b)
	case b == nil:
		return a
	}
	out := []string{}
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
