package aws_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/directory"
)

// setupWith starts an emulator and a provider on it with cfg's extra
// settings (the emulator's identifiers and endpoint are filled in).
func setupWith(t *testing.T, opts emulator.Options, cfg aws.Config) (*emulator.Server, *aws.Provider) {
	t.Helper()
	em, err := emulator.Start("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	cfg.InstanceARN = em.InstanceARN()
	cfg.IdentityStoreID = em.IdentityStoreID()
	cfg.PermissionSets = em.PermissionSetARNs()
	cfg.Endpoint = em.URL()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 2 * time.Millisecond
	}
	p, err := aws.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return em, p
}

func TestPrincipalRefLooksUpTheIdentityStore(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	em, p := setupWith(t, emulator.Options{}, aws.Config{IdentityCacheTTL: time.Minute, Now: clk.Now})
	em.AddUser(uid("9067-alice"), "alice", "Alice@Example.com")
	ctx := context.Background()
	alice := &drawbridge.Principal{ID: "alice@example.com"}

	for range 3 {
		id, err := p.PrincipalRef(ctx, alice)
		if err != nil || id != uid("9067-alice") {
			t.Fatalf("PrincipalRef = %q, %v", id, err)
		}
	}
	if n := em.Calls(emulator.OpGetUserId); n != 1 {
		t.Fatalf("%d GetUserId calls for three lookups within the TTL, want 1", n)
	}
	clk.Advance(time.Minute)
	if _, err := p.PrincipalRef(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if n := em.Calls(emulator.OpGetUserId); n != 2 {
		t.Fatalf("%d GetUserId calls after the TTL, want 2", n)
	}

	// The directory's id wins, without a call.
	if id, _ := p.PrincipalRef(ctx, &drawbridge.Principal{ID: "alice@example.com", Identities: map[string]string{"aws": uid("configured")}}); id != uid("configured") {
		t.Errorf("PrincipalRef ignored the directory's id: %q", id)
	}

	_, err := p.PrincipalRef(ctx, &drawbridge.Principal{ID: "bob@example.com"})
	if drawbridge.ErrorCode(err) != drawbridge.ENOTFOUND || !drawbridge.IsPermanent(err) ||
		!strings.Contains(err.Error(), `emails.value "bob@example.com"`) || !strings.Contains(err.Error(), emulator.SandboxIdentityStoreID) {
		t.Fatalf("unknown person: %v; want a permanent ENOTFOUND naming the attribute, value and store", err)
	}
	// Not found is remembered briefly too.
	calls := em.Calls(emulator.OpGetUserId)
	if _, err := p.PrincipalRef(ctx, &drawbridge.Principal{ID: "bob@example.com"}); drawbridge.ErrorCode(err) != drawbridge.ENOTFOUND {
		t.Fatalf("second lookup: %v", err)
	}
	if em.Calls(emulator.OpGetUserId) != calls {
		t.Error("a not-found answer was not cached")
	}
}

func TestPrincipalRefByUserName(t *testing.T) {
	em, p := setupWith(t, emulator.Options{}, aws.Config{UserAttribute: aws.AttributeUserName})
	em.AddUser(uid("9067-carol"), "carol@example.com", "carol.personal@example.org")
	id, err := p.PrincipalRef(context.Background(), &drawbridge.Principal{ID: "carol@example.com"})
	if err != nil || id != uid("9067-carol") {
		t.Fatalf("PrincipalRef by userName = %q, %v", id, err)
	}
	_, err = p.PrincipalRef(context.Background(), &drawbridge.Principal{ID: "carol.personal@example.org"})
	if !strings.Contains(err.Error(), `userName "carol.personal@example.org"`) {
		t.Fatalf("lookup by userName matched an email, or the error does not name userName: %v", err)
	}
}

func TestPrincipalRefRetriesThrottling(t *testing.T) {
	em, p := setupWith(t, emulator.Options{}, aws.Config{})
	em.AddUser(uid("9067-alice"), "alice", "alice@example.com")
	em.Script(emulator.OpGetUserId, emulator.Fault{Code: "ThrottlingException"})
	id, err := p.PrincipalRef(context.Background(), &drawbridge.Principal{ID: "alice@example.com"})
	if err != nil || id != uid("9067-alice") {
		t.Fatalf("PrincipalRef after one throttled call = %q, %v", id, err)
	}
	em.Fail(emulator.OpGetUserId, emulator.Fault{Code: "ThrottlingException"})
	_, err = p.PrincipalRef(context.Background(), &drawbridge.Principal{ID: "dave@example.com"})
	if err == nil || drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "ThrottlingException") {
		t.Fatalf("constant throttling: %v; want a retryable error", err)
	}
	if n := em.Calls(emulator.OpGetUserId); n != 2+3 {
		t.Errorf("%d calls, want 2 then 3 bounded attempts", n)
	}
}

func TestDirectoryJoinsIdentityStoreGroups(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	em, p := setupWith(t, emulator.Options{}, aws.Config{ResolveGroups: true, IdentityCacheTTL: time.Minute, Now: clk.Now})
	em.AddUser(uid("u-alice"), "alice", "alice@example.com")
	em.AddUser(uid("u-erin"), "erin", "erin@example.com")
	em.AddUser(uid("u-nogroups"), "frank", "frank@example.com")
	em.AddGroup(uid("g-sre"), "sre-leads")
	em.AddGroup(uid("g-eng"), "engineers")
	for _, m := range [][2]string{{"g-sre", "u-alice"}, {"g-eng", "u-alice"}, {"g-eng", "u-erin"}} {
		if err := em.AddMembership(uid(m[0]), uid(m[1])); err != nil {
			t.Fatal(err)
		}
	}
	base := directory.NewStatic([]directory.User{
		{Email: "alice@example.com", Identities: map[string]string{"slack": "U0ALICE1"}, Groups: []string{"engineers", "static-only"}},
		{Email: "nobody@example.com"},
		{Email: "frank@example.com", Identities: map[string]string{"aws": uid("u-nogroups")}},
	})
	dir := aws.NewDirectory(base, p)
	ctx := context.Background()

	alice, err := dir.Resolve(ctx, "U0ALICE1")
	if err != nil {
		t.Fatal(err)
	}
	if alice.Identity("aws") != uid("u-alice") || !slices.Equal(alice.Groups, []string{"engineers", "static-only", "sre-leads"}) {
		t.Fatalf("alice = %+v; want her user id and static groups joined with Identity Store groups once each", alice)
	}
	if _, err := dir.Resolve(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if n := em.Calls(emulator.OpListGroupMembershipsForMember); n != 1 {
		t.Errorf("%d membership listings for two resolutions within the TTL, want 1", n)
	}

	// erin is only in the Identity Store, in "engineers", a group the
	// config defines without her: group names are one namespace, so the
	// Identity Store cannot add her to it and she is refused
	// (TestIdentityStoreGroupCannotShadowConfigGroup). The shared group's
	// name is still cached.
	if erin, err := dir.Resolve(ctx, "Erin@Example.com"); err == nil || !strings.Contains(err.Error(), `group "engineers"`) {
		t.Fatalf("erin = %+v, %v; want a refusal naming the group both sources define", erin, err)
	}
	if n := em.Calls(emulator.OpDescribeGroup); n != 2 {
		t.Errorf("%d DescribeGroup calls for two distinct groups, want 2", n)
	}

	// In the directory but not in the Identity Store: resolved without an
	// AWS id; a grant fails later with PrincipalRef's clear error.
	nobody, err := dir.Resolve(ctx, "nobody@example.com")
	if err != nil || nobody.Identity("aws") != "" || len(nobody.Groups) != 0 {
		t.Fatalf("nobody = %+v, %v", nobody, err)
	}
	if _, err := dir.Resolve(ctx, "ghost@example.com"); !drawbridge.IsUnknownPerson(err) {
		t.Fatalf("someone nowhere: %v", err)
	}
	frank, err := dir.Resolve(ctx, "frank@example.com")
	if err != nil || len(frank.Groups) != 0 {
		t.Fatalf("frank = %+v, %v", frank, err)
	}

	// After the TTL the store is asked again; when it cannot answer,
	// Resolve fails rather than dropping groups a policy may test.
	clk.Advance(2 * time.Minute)
	em.Fail(emulator.OpListGroupMembershipsForMember, emulator.Fault{Code: "InternalServerException"})
	if _, err := dir.Resolve(ctx, "alice@example.com"); drawbridge.ErrorCode(err) != drawbridge.EUNAVAILABLE {
		t.Fatalf("Resolve with the Identity Store failing: %v; want EUNAVAILABLE", err)
	}
}

func TestDirectoryWithoutGroups(t *testing.T) {
	em, p := setupWith(t, emulator.Options{}, aws.Config{})
	em.AddUser(uid("u-alice"), "alice", "alice@example.com")
	em.AddGroup(uid("g-eng"), "engineers")
	if err := em.AddMembership(uid("g-eng"), uid("u-alice")); err != nil {
		t.Fatal(err)
	}
	dir := aws.NewDirectory(directory.NewStatic([]directory.User{{Email: "alice@example.com"}}), p)
	alice, err := dir.Resolve(context.Background(), "alice@example.com")
	if err != nil || alice.Identity("aws") != uid("u-alice") || len(alice.Groups) != 0 {
		t.Fatalf("alice = %+v, %v; want her id and no Identity Store groups", alice, err)
	}
	if em.Calls(emulator.OpListGroupMembershipsForMember) != 0 {
		t.Error("listed groups with ResolveGroups off")
	}
}
