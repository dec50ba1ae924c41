package aws_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// denySetup starts the emulator on a fake clock and returns a provider in
// deny_old_sessions mode as replica holder, its leases in the SQLite store
// at path (a second call with the same path is another replica).
func denySetup(t *testing.T, em *emulator.Server, clk *clock.Fake, path, holder string) *aws.Provider {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := aws.New(context.Background(), aws.Config{
		InstanceARN: em.InstanceARN(), IdentityStoreID: em.IdentityStoreID(), PermissionSets: em.PermissionSetARNs(),
		Endpoint: em.URL(), PollInterval: time.Millisecond, MaxTPS: -1, Now: clk.Now,
		DenyOldSessions: true, Leases: db, LeaseHolder: holder,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func denyEmulator(t *testing.T, clk *clock.Fake) *emulator.Server {
	t.Helper()
	opts := emulator.SandboxOptions()
	opts.Delay = 0
	opts.Now = clk.Now
	em, err := emulator.Start("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	return em
}

func revokeAndEnd(t *testing.T, p *aws.Provider, id string, a drawbridge.Assignment) drawbridge.RevokeResult {
	t.Helper()
	ctx := context.Background()
	spec := drawbridge.RevokeSpec{RequestID: id, Assignment: a}
	if _, err := p.Revoke(ctx, spec); err != nil {
		t.Fatal(err)
	}
	res, err := p.EndSessions(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func allowed(t *testing.T, em *emulator.Server, acct, ps, user string, issued time.Time) bool {
	t.Helper()
	ok, err := em.SessionAllowed(acct, ps, user, issued)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// After a revocation the person's session issued before it is refused in
// that account, a session issued after (a later grant) is allowed, their
// sessions in another account are untouched, a statement already in the
// inline policy stays, and once the session duration has passed the deny
// is removed and provisioned again.
func TestDenyOldSessionsRefusesOldSessionAllowsNew(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	em := denyEmulator(t, clk)
	p := denySetup(t, em, clk, filepath.Join(t.TempDir(), "db.sqlite"), "r1")
	ctx := context.Background()
	a := assignment("ReadOnlyAccess", "deny-user")
	const other = "222233334444"
	if err := grant(ctx, p, a); err != nil {
		t.Fatal(err)
	}
	issued := t0.Add(10 * time.Minute)
	clk.Advance(time.Hour)
	res := revokeAndEnd(t, p, "req_01deny", a)
	if !strings.Contains(res.Details["deny_old_sessions"], "denied") {
		t.Fatalf("details = %v", res.Details)
	}
	policy := em.InlinePolicy("ReadOnlyAccess")
	for _, want := range []string{`"identitystore:userId":"` + uid("deny-user") + `"`, `"aws:PrincipalAccount":"` + account + `"`, `"aws:TokenIssueTime":"2026-11-30T10:00:01Z"`, `"Effect":"Deny"`} {
		if !strings.Contains(policy, want) {
			t.Fatalf("inline policy %s lacks %s", policy, want)
		}
	}
	if allowed(t, em, account, "ReadOnlyAccess", uid("deny-user"), issued) {
		t.Fatal("a session issued before the revocation is still allowed")
	}
	if !allowed(t, em, account, "ReadOnlyAccess", uid("deny-user"), t0.Add(2*time.Hour)) {
		t.Fatal("a session issued after the revocation (a new grant) is refused")
	}
	if !allowed(t, em, other, "ReadOnlyAccess", uid("deny-user"), issued) {
		t.Fatal("the person's session in another account is refused")
	}
	if !allowed(t, em, account, "ReadOnlyAccess", uid("someone"), issued) {
		t.Fatal("another person's session is refused")
	}

	// Before the session duration (8 h) has passed, nothing is removed.
	clk.Advance(7 * time.Hour)
	if err := p.RemoveExpiredDenies(ctx); err != nil {
		t.Fatal(err)
	}
	if em.InlinePolicy("ReadOnlyAccess") != policy {
		t.Fatal("the deny was removed before the session duration passed")
	}
	clk.Advance(time.Hour + time.Second)
	if err := p.RemoveExpiredDenies(ctx); err != nil {
		t.Fatal(err)
	}
	if got := em.InlinePolicy("ReadOnlyAccess"); got != "" {
		t.Fatalf("inline policy after the session duration = %s, want none", got)
	}
	if !allowed(t, em, account, "ReadOnlyAccess", uid("deny-user"), issued) {
		t.Fatal("the removal was not provisioned to the account")
	}
}

// A person who still holds the permission set in the account through a
// group keeps their sessions: no deny is added.
func TestDenyOldSessionsSkippedWhileHeldThroughGroup(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	em := denyEmulator(t, clk)
	p := denySetup(t, em, clk, filepath.Join(t.TempDir(), "db.sqlite"), "r1")
	ctx := context.Background()
	em.AddUser(uid("grp-user"), "grp", "grp@example.com")
	em.AddGroup(uid("g-readers"), "readers")
	if err := em.AddMembership(uid("g-readers"), uid("grp-user")); err != nil {
		t.Fatal(err)
	}
	if err := em.AddGroupAssignment(account, "ReadOnlyAccess", uid("g-readers")); err != nil {
		t.Fatal(err)
	}
	a := assignment("ReadOnlyAccess", "grp-user")
	if err := grant(ctx, p, a); err != nil {
		t.Fatal(err)
	}
	res := revokeAndEnd(t, p, "req_01grp", a)
	if !strings.Contains(res.Details["deny_old_sessions"], "through group") {
		t.Fatalf("details = %v", res.Details)
	}
	if got := em.InlinePolicy("ReadOnlyAccess"); got != "" {
		t.Fatalf("inline policy = %s, want none", got)
	}
}

// Two replicas revoking on one permission set at once: the second reads
// the inline policy while the first is between its read and its write.
// Both statements must end up in the policy.
func TestDenyOldSessionsConcurrentRevocationsKeepBoth(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	em := denyEmulator(t, clk)
	path := filepath.Join(t.TempDir(), "db.sqlite")
	p1 := denySetup(t, em, clk, path, "replica-1")
	p2 := denySetup(t, em, clk, path, "replica-2")
	ctx := context.Background()
	a1, a2 := assignment("ReadOnlyAccess", "alice"), assignment("ReadOnlyAccess", "bob")
	for _, a := range []drawbridge.Assignment{a1, a2} {
		if err := grant(ctx, p1, a); err != nil {
			t.Fatal(err)
		}
		if _, err := p1.Revoke(ctx, drawbridge.RevokeSpec{RequestID: "x", Assignment: a}); err != nil {
			t.Fatal(err)
		}
	}
	spec2 := drawbridge.RevokeSpec{RequestID: "req_bob", Assignment: a2}
	var err2 error
	em.OnCall(emulator.OpGetInlinePolicyForPermissionSet, func() {
		_, err2 = p2.EndSessions(ctx, spec2)
	})
	if _, err := p1.EndSessions(ctx, drawbridge.RevokeSpec{RequestID: "req_alice", Assignment: a1}); err != nil {
		t.Fatal(err)
	}
	if err2 != nil {
		if _, ok := drawbridge.RetryAfterHint(err2); !ok || !strings.Contains(err2.Error(), "being changed by another process") {
			t.Fatalf("the second revocation failed with %v, want a retry while the first holds the policy", err2)
		}
		// The revocation is retried (the broker keeps it REVOKING).
		if _, err := p2.EndSessions(ctx, spec2); err != nil {
			t.Fatal(err)
		}
	}
	policy := em.InlinePolicy("ReadOnlyAccess")
	for _, who := range []string{"alice", "bob"} {
		if !strings.Contains(policy, uid(who)) {
			t.Fatalf("%s's deny statement was lost: %s", who, policy)
		}
	}
}

// deny_old_sessions without the store's leases is refused at start.
func TestDenyOldSessionsNeedsLeases(t *testing.T) {
	_, err := aws.New(context.Background(), aws.Config{InstanceARN: emulator.SandboxInstanceARN,
		PermissionSets: map[string]string{"ReadOnlyAccess": emulator.PermissionSetARN("ReadOnlyAccess")},
		Endpoint:       "http://127.0.0.1:1", DenyOldSessions: true})
	if err == nil || !strings.Contains(err.Error(), "deny_old_sessions needs the store's leases") {
		t.Fatalf("err = %v", err)
	}
}
