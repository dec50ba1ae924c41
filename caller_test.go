package drawbridge_test

import (
	"testing"

	"github.com/drawbridge-jit/drawbridge"
)

func TestCallerPermissions(t *testing.T) {
	roles := func(rs ...drawbridge.Role) drawbridge.Caller {
		return drawbridge.Caller{Principal: "p@example.com", Roles: rs}
	}
	want := map[drawbridge.Role][]drawbridge.Permission{
		drawbridge.RoleRequester: {drawbridge.PermSubmit, drawbridge.PermRead, drawbridge.PermCancel, drawbridge.PermRevoke, drawbridge.PermExtend},
		drawbridge.RoleApprover:  {drawbridge.PermSubmit, drawbridge.PermRead, drawbridge.PermReview, drawbridge.PermCancel, drawbridge.PermRevoke, drawbridge.PermExtend},
		drawbridge.RoleAuditor:   {drawbridge.PermRead, drawbridge.PermAudit},
		drawbridge.RoleAdmin:     {drawbridge.PermSubmit, drawbridge.PermRead, drawbridge.PermReview, drawbridge.PermCancel, drawbridge.PermRevoke, drawbridge.PermExtend, drawbridge.PermAudit},
	}
	all := want[drawbridge.RoleAdmin]
	for role, perms := range want {
		c := roles(role)
		for _, p := range all {
			allowed := false
			for _, q := range perms {
				allowed = allowed || q == p
			}
			if c.Can(p) != allowed {
				t.Errorf("%s can %s: %v, want %v", role, p, c.Can(p), allowed)
			}
		}
	}
	if (drawbridge.Caller{}).Can(drawbridge.PermRead) {
		t.Error("a caller without roles can read")
	}
}

func TestCallerVisibilityAndNarrowing(t *testing.T) {
	e := drawbridge.Entitlement{Provider: "aws", Resource: "111122223333", Role: "ReadOnlyAccess"}
	other := drawbridge.Entitlement{Provider: "aws", Resource: "111122223333", Role: "AdministratorAccess"}
	mine := &drawbridge.Request{Requester: "alice@example.com", Entitlement: e, State: drawbridge.StateActive}
	theirs := &drawbridge.Request{Requester: "bob@example.com", Entitlement: e, State: drawbridge.StateActive}
	pending := &drawbridge.Request{Requester: "bob@example.com", Entitlement: e, State: drawbridge.StatePendingApproval}
	outside := &drawbridge.Request{Requester: "bob@example.com", Entitlement: other, State: drawbridge.StateActive}
	scope := drawbridge.Scope{Roles: []string{"ReadOnlyAccess"}}
	requester := drawbridge.Caller{Principal: "alice@example.com", Roles: []drawbridge.Role{drawbridge.RoleRequester}}
	approver := drawbridge.Caller{Principal: "carol@example.com", Roles: []drawbridge.Role{drawbridge.RoleApprover}, Scope: scope}
	auditor := drawbridge.Caller{Principal: "audit@example.com", Roles: []drawbridge.Role{drawbridge.RoleAuditor}, Scope: scope}
	admin := drawbridge.Caller{Principal: "admin@example.com", Roles: []drawbridge.Role{drawbridge.RoleAdmin}, Scope: scope}
	nobody := drawbridge.Caller{Roles: []drawbridge.Role{drawbridge.RoleRequester}}
	hooks := drawbridge.Caller{Principal: "hooks-audit@example.com", Roles: []drawbridge.Role{drawbridge.RoleAuditor},
		Scope: drawbridge.Scope{Providers: []string{"hooks"}}}
	for _, tc := range []struct {
		name string
		c    drawbridge.Caller
		r    *drawbridge.Request
		want bool
	}{
		{"requester, own", requester, mine, true},
		{"requester, someone else's", requester, theirs, false},
		{"approver, pending in scope", approver, pending, true},
		{"approver, someone else's active", approver, theirs, false},
		{"auditor in scope", auditor, theirs, true},
		{"auditor out of scope", auditor, outside, false},
		{"admin ignores scope", admin, outside, true},
		{"no identity", nobody, &drawbridge.Request{Entitlement: e}, false},
		{"provider scope, other provider", hooks, theirs, false},
		{"provider scope, its provider", hooks, &drawbridge.Request{Requester: "bob@example.com", State: drawbridge.StateActive,
			Entitlement: drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"}}, true},
	} {
		if got := tc.c.CanSee(tc.r); got != tc.want {
			t.Errorf("%s: CanSee %v, want %v", tc.name, got, tc.want)
		}
	}
	var f drawbridge.RequestFilter
	if err := requester.Narrow(&f); err != nil || f.Requester != "alice@example.com" {
		t.Errorf("requester narrowed to %q, %v", f.Requester, err)
	}
	f = drawbridge.RequestFilter{Requester: "bob@example.com"}
	if err := requester.Narrow(&f); drawbridge.ErrorCode(err) != drawbridge.EFORBIDDEN {
		t.Errorf("requester listing bob's: %v", err)
	}
	f = drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StatePendingApproval}}
	if err := approver.Narrow(&f); err != nil || f.Requester != "" || len(f.Roles) != 1 {
		t.Errorf("approver queue: %+v, %v", f, err)
	}
	f = drawbridge.RequestFilter{}
	if err := nobody.Narrow(&f); drawbridge.ErrorCode(err) != drawbridge.EFORBIDDEN {
		t.Errorf("caller without identity listed: %+v %v", f, err)
	}
	f = drawbridge.RequestFilter{Roles: []string{"smuggled"}}
	if err := admin.Narrow(&f); err != nil || f.Roles != nil {
		t.Errorf("admin filter %+v, %v", f, err)
	}
}

func TestActAs(t *testing.T) {
	op := drawbridge.Operator("root")
	if c, err := op.ActAs("alice@example.com", "review"); err != nil || c.Principal != "alice@example.com" || c.OnBehalfOf("alice@example.com") {
		t.Errorf("operator: %+v %v", c, err)
	}
	adm := drawbridge.Caller{Principal: "admin@example.com", Roles: []drawbridge.Role{drawbridge.RoleAdmin}}
	if c, err := adm.ActAs("alice@example.com", "review"); err != nil || !c.OnBehalfOf("alice@example.com") {
		t.Errorf("admin: %+v %v", c, err)
	}
	for _, c := range []drawbridge.Caller{
		{Principal: "bob@example.com", Roles: []drawbridge.Role{drawbridge.RoleApprover}},
		{Roles: []drawbridge.Role{drawbridge.RoleApprover}},
		{},
	} {
		if _, err := c.ActAs("alice@example.com", "review"); drawbridge.ErrorCode(err) != drawbridge.EFORBIDDEN {
			t.Errorf("%+v acting for alice: %v", c, err)
		}
	}
}
