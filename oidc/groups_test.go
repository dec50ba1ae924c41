package oidc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/oidc/claims"
	"github.com/drawbridge-jit/drawbridge/oidc/emulator"
)

const prodGroup = "c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a"

var prodApprovers = []claims.ManagedGroup{{Name: "prod-approvers", Filter: `"` + prodGroup + `" in "/token/groups"`}}

// bobWith makes Bob's ID token carry groups (nil: no groups claim).
func bobWith(groups []any) []emulator.User {
	claims := map[string]any{"email_verified": true}
	if groups != nil {
		claims["groups"] = groups
	}
	return []emulator.User{{Subject: "bob-sub", Email: "bob@example.com", Name: "Bob", Claims: claims}}
}

// TestManagedGroupGivesRolesAndExpires: the reference filter puts Bob in
// prod-approvers at sign-in, which the role bindings make an approver;
// the membership is stored with its source and time, and stops counting
// after valid_for (1h) even though his session lives on — removal at the
// identity provider does not wait for his next sign-in.
func TestManagedGroupGivesRolesAndExpires(t *testing.T) {
	r := newGroupsRig(t, nil, prodApprovers)
	r.idp.SetUsers(bobWith([]any{prodGroup}))
	if resp := r.signIn(r.srv.URL+LoginPath, "bob-sub", nil); resp.StatusCode != 302 {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body(t, resp))
	}
	if _, who := r.whoami(); !strings.Contains(who, "requester, approver, auditor") {
		t.Fatalf("with the group claim: %s", who)
	}
	ms, err := r.store.GroupMemberships(context.Background(), "bob@example.com")
	if err != nil || len(ms) != 1 || ms[0].Group != "prod-approvers" || ms[0].Source != "oidc:"+r.idp.Issuer() || !ms[0].ComputedAt.Equal(t0) {
		t.Fatalf("stored memberships %+v %v", ms, err)
	}
	var details map[string]string
	r.audit.ScanAudit(context.Background(), func(ev drawbridge.AuditEvent) error {
		if ev.Action == ActionSignIn {
			details = ev.Details
		}
		return nil
	})
	if details["managed_groups"] != "prod-approvers" || details["managed_groups_source"] != "oidc:"+r.idp.Issuer() {
		t.Fatalf("the sign-in event does not record the managed groups and their source: %v", details)
	}
	r.clock.Advance(29 * time.Minute)
	r.whoami()
	r.clock.Advance(29 * time.Minute)
	if _, who := r.whoami(); !strings.Contains(who, "approver") {
		t.Fatalf("within valid_for: %s", who)
	}
	r.clock.Advance(2 * time.Minute)
	if code, who := r.whoami(); code != 200 || strings.Contains(who, "approver") {
		t.Fatalf("after valid_for the session still approves: %d %s", code, who)
	}
	// Signed in again after removal at the identity provider: no group.
	r.idp.SetUsers(bobWith([]any{"other-group"}))
	r.signIn(r.srv.URL+LoginPath, "bob-sub", nil)
	if _, who := r.whoami(); strings.Contains(who, "approver") {
		t.Fatalf("removed at the IdP, still an approver: %s", who)
	}
}

// TestMissingGroupsClaimGivesNoGroup: a token without a groups claim
// matches no filter, including negative ones.
func TestMissingGroupsClaimGivesNoGroup(t *testing.T) {
	r := newGroupsRig(t, nil, []claims.ManagedGroup{{Name: "prod-approvers", Filter: `"` + prodGroup + `" not in "/token/groups"`}})
	r.idp.SetUsers(bobWith(nil))
	r.signIn(r.srv.URL+LoginPath, "bob-sub", nil)
	if _, who := r.whoami(); strings.Contains(who, "approver") {
		t.Fatalf("a missing groups claim matched a not-in filter: %s", who)
	}
}

// TestGroupsOverageIsNotNoGroups: Entra's overage marker (more groups
// than fit) is not read as "no groups": the earlier membership is kept
// (and expires on its own), not wiped and not recomputed from nothing.
func TestGroupsOverageIsNotNoGroups(t *testing.T) {
	r := newGroupsRig(t, nil, prodApprovers)
	r.idp.SetUsers(bobWith([]any{prodGroup}))
	r.signIn(r.srv.URL+LoginPath, "bob-sub", nil)
	r.clock.Advance(10 * time.Minute)
	r.idp.SetUsers([]emulator.User{{Subject: "bob-sub", Email: "bob@example.com", Claims: map[string]any{
		"email_verified": true,
		"_claim_names":   map[string]any{"groups": "src1"},
		"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}},
	}}})
	r.signIn(r.srv.URL+LoginPath, "bob-sub", nil)
	ms, _ := r.store.GroupMemberships(context.Background(), "bob@example.com")
	if len(ms) != 1 || !ms[0].ComputedAt.Equal(t0) {
		t.Fatalf("after an overage sign-in the memberships are %+v, want the earlier one kept as it was", ms)
	}
	r.clock.Advance(51 * time.Minute)
	if _, who := r.whoami(); strings.Contains(who, "approver") {
		t.Fatalf("the kept membership did not expire: %s", who)
	}
}

// TestManagedGroupNeverJoinsAConfigGroup: a managed membership of a group
// the config defines (sre-leads, Alice's) is never added to anyone.
func TestManagedGroupNeverJoinsAConfigGroup(t *testing.T) {
	r := newGroupsRig(t, nil, []claims.ManagedGroup{{Name: "sre-leads", Filter: `"/token/email_verified" == true`}})
	r.idp.SetUsers(bobWith(nil))
	r.signIn(r.srv.URL+LoginPath, "bob-sub", nil)
	if _, who := r.whoami(); strings.Contains(who, "approver") {
		t.Fatalf("a managed group added bob to the config's sre-leads: %s", who)
	}
}
