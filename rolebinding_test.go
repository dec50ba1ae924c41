package drawbridge

import (
	"slices"
	"testing"
)

func TestBindRoles(t *testing.T) {
	bindings := []RoleBinding{
		{Members: []string{"*"}, Roles: []Role{RoleRequester}},
		{Members: []string{"group:sre-leads"}, Roles: []Role{RoleApprover}, Scope: Scope{Providers: []string{"aws"}}},
		{Members: []string{"user:Carol@Example.com"}, Roles: []Role{RoleAuditor}, Scope: Scope{Providers: []string{"hooks"}}},
	}
	cases := []struct {
		p         Principal
		roles     []Role
		providers []string
	}{
		{Principal{ID: "alice@example.com"}, []Role{RoleRequester}, nil},
		// The approver's scope is not widened by the unscoped requester entry.
		{Principal{ID: "bob@example.com", Groups: []string{"sre-leads"}}, []Role{RoleRequester, RoleApprover}, []string{"aws"}},
		// Two scoped entries that share nothing leave nothing in scope.
		{Principal{ID: "carol@example.com", Groups: []string{"sre-leads"}}, []Role{RoleRequester, RoleApprover, RoleAuditor}, []string{}},
	}
	for _, tc := range cases {
		roles, scope := BindRoles(&tc.p, bindings)
		if !slices.Equal(roles, tc.roles) || !slices.Equal(scope.Providers, tc.providers) || (tc.providers != nil) != (scope.Providers != nil) {
			t.Errorf("%s: roles %v scope %v, want %v %v", tc.p.ID, roles, scope.Providers, tc.roles, tc.providers)
		}
	}
	if roles, _ := BindRoles(&Principal{ID: "x@example.com"}, nil); roles != nil {
		t.Errorf("no bindings gave roles %v", roles)
	}
}
