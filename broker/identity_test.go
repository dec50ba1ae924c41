package broker_test

import (
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/directory"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// withAlias replaces the Env's directory by the example people plus one
// more entry for an existing person: same AWS Identity Store user, another
// email, in sre-leads so that the policy lets the alias approve.
func withAlias(t *testing.T, e *testenv.Env, of, alias string) {
	t.Helper()
	var users []directory.User
	for _, u := range e.Config.Directory.Users {
		users = append(users, directory.User{Email: u.Email, Name: u.Name, Identities: u.LinkedIdentities(), Groups: u.Groups})
	}
	users = append(users, directory.User{Email: alias, Identities: map[string]string{"aws": e.AWSUserID(t, of)}, Groups: []string{"sre-leads"}})
	e.Broker.Directory = directory.NewStatic(users)
}

func TestAliasCannotApproveOwnRequest(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	withAlias(t, e, alice, "alice.alt@example.com")
	r := pendingAdmin(t, e, alice)
	for _, verb := range []string{"approve", "deny"} {
		var err error
		if verb == "approve" {
			_, err = e.Broker.Approve(e.Ctx, r.ID, "alice.alt@example.com", "", op)
		} else {
			_, err = e.Broker.Deny(e.Ctx, r.ID, "alice.alt@example.com", "", op)
		}
		wantCode(t, err, drawbridge.EFORBIDDEN, "own request")
	}
	got := e.Get(t, r.ID)
	wantState(t, got, drawbridge.StatePendingApproval)
	if len(got.Approvals) != 0 {
		t.Errorf("%d approvals recorded", len(got.Approvals))
	}
	if e.HasAssignment(t, alice, prod, admin) {
		t.Error("alice holds AdministratorAccess approved by her own alias")
	}
}

func TestQuorumCountsPeopleNotAliases(t *testing.T) {
	e := testenv.New(t, testenv.Options{Policy: twoApproverPolicy})
	withAlias(t, e, bob, "bob.alt@example.com")
	r := e.Submit(t, alice, prod, admin, time.Hour, "")
	wantState(t, r, drawbridge.StatePendingApproval)
	if _, err := e.Broker.Approve(e.Ctx, r.ID, bob, "", op); err != nil {
		t.Fatal(err)
	}
	_, err := e.Broker.Approve(e.Ctx, r.ID, "bob.alt@example.com", "", op)
	wantCode(t, err, drawbridge.ECONFLICT, "same person")
	got := e.Get(t, r.ID)
	wantState(t, got, drawbridge.StatePendingApproval)
	if got.DistinctApprovers() != 1 {
		t.Errorf("%d approvals counted", got.DistinctApprovers())
	}
	r, err = e.Broker.Approve(e.Ctx, r.ID, carol, "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, drawbridge.StateActive)
}
