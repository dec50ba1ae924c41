package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// newToken returns a valid token for principal and its secret.
func newToken(principal string, roles ...drawbridge.Role) (*drawbridge.Token, string) {
	secret := drawbridge.NewTokenSecret()
	return &drawbridge.Token{ID: drawbridge.NewTokenID(), Principal: principal, Roles: roles,
		Hash: drawbridge.HashTokenSecret(secret), CreatedAt: T0}, secret
}

// sameToken says how got differs from want, a token as it was created:
// "" when they are the same, with times in UTC and an empty scope equal
// to none.
func sameToken(got, want *drawbridge.Token) string {
	var diffs []string
	eq := func(name string, ok bool, g, w any) {
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s %v, want %v", name, g, w))
		}
	}
	eq("id", got.ID == want.ID, got.ID, want.ID)
	eq("principal", got.Principal == want.Principal, got.Principal, want.Principal)
	eq("roles", slices.Equal(got.Roles, want.Roles), got.Roles, want.Roles)
	eq("provider scope", slices.Equal(got.Scope.Providers, want.Scope.Providers), got.Scope.Providers, want.Scope.Providers)
	eq("resource scope", slices.Equal(got.Scope.Resources, want.Scope.Resources), got.Scope.Resources, want.Scope.Resources)
	eq("role scope", slices.Equal(got.Scope.Roles, want.Scope.Roles), got.Scope.Roles, want.Scope.Roles)
	eq("description", got.Description == want.Description, got.Description, want.Description)
	eq("hash", got.Hash == want.Hash, got.Hash, want.Hash)
	for _, tm := range []struct {
		name      string
		got, want time.Time
	}{{"created_at", got.CreatedAt, want.CreatedAt}, {"expires_at", got.ExpiresAt, want.ExpiresAt}, {"revoked_at", got.RevokedAt, want.RevokedAt}} {
		eq(tm.name, tm.got.Equal(tm.want) && tm.got.IsZero() == tm.want.IsZero() && (tm.got.IsZero() || tm.got.Location() == time.UTC), tm.got, tm.want)
	}
	return strings.Join(diffs, "; ")
}

func testTokenRoundTrip(t *testing.T, s Stores) {
	ctx := context.Background()
	full, fullSecret := newToken("audit@example.com", drawbridge.RoleAuditor, drawbridge.RoleApprover)
	full.Scope = drawbridge.Scope{Providers: []string{"aws", "hooks"}, Resources: []string{"111122223333", "123456789012"},
		Roles: []string{"ReadOnlyAccess", drawbridge.Wildcard}}
	full.Description, full.ExpiresAt = "quarterly review 'Q1'; --", T0.Add(90*24*time.Hour+time.Nanosecond)
	admin, adminSecret := newToken("admin@example.com", drawbridge.RoleAdmin)
	for _, tok := range []struct {
		t      *drawbridge.Token
		secret string
	}{{full, fullSecret}, {admin, adminSecret}} {
		want := *tok.t
		if err := s.CreateToken(ctx, tok.t); err != nil {
			t.Fatal(err)
		}
		got, err := s.TokenByHash(ctx, drawbridge.HashTokenSecret(tok.secret))
		if err != nil {
			t.Fatal(err)
		}
		if d := sameToken(got, &want); d != "" {
			t.Fatalf("token %s came back different: %s", want.ID, d)
		}
	}
}

func testTokenChecks(t *testing.T, s Stores) {
	ctx := context.Background()
	tok, _ := newToken("alice@example.com", drawbridge.RoleRequester)
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	sameID, _ := newToken("mallory@example.com", drawbridge.RoleAdmin)
	sameID.ID = tok.ID
	mustCode(t, s.CreateToken(ctx, sameID), drawbridge.ECONFLICT)
	sameHash, _ := newToken("mallory@example.com", drawbridge.RoleAdmin)
	sameHash.Hash = tok.Hash
	mustCode(t, s.CreateToken(ctx, sameHash), drawbridge.ECONFLICT)
	for name, spoil := range map[string]func(*drawbridge.Token){
		"no id":            func(t *drawbridge.Token) { t.ID = "" },
		"no hash":          func(t *drawbridge.Token) { t.Hash = "" },
		"no creation time": func(t *drawbridge.Token) { t.CreatedAt = time.Time{} },
	} {
		bad, _ := newToken("bob@example.com", drawbridge.RoleRequester)
		spoil(bad)
		if err := s.CreateToken(ctx, bad); drawbridge.ErrorCode(err) != drawbridge.EINVALID {
			t.Errorf("token with %s: %v, want EINVALID", name, err)
		}
	}
	if got, err := s.TokenByHash(ctx, tok.Hash); err != nil || got.Principal != "alice@example.com" {
		t.Fatalf("after refused creates, the first token reads %+v, %v", got, err)
	}
	_, err := s.TokenByHash(ctx, drawbridge.HashTokenSecret(drawbridge.NewTokenSecret()))
	mustCode(t, err, drawbridge.ENOTFOUND)
	_, err = s.TokenByHash(ctx, "' OR 1=1 --")
	mustCode(t, err, drawbridge.ENOTFOUND)
	if ts, err := s.ListTokens(ctx); err != nil || len(ts) != 1 {
		t.Fatalf("ListTokens after refused creates: %d tokens, %v; want 1", len(ts), err)
	}
}

func testListTokensNewestFirst(t *testing.T, s Stores) {
	ctx := context.Background()
	if ts, err := s.ListTokens(ctx); err != nil || len(ts) != 0 {
		t.Fatalf("empty store: %v, %v", ts, err)
	}
	var want []string
	for i := range 4 {
		tok, _ := newToken(fmt.Sprintf("user%d@example.com", i), drawbridge.RoleRequester)
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		want = append(want, tok.ID)
	}
	// Revoked tokens are listed too.
	if err := s.RevokeToken(ctx, want[1], T0); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(want)
	ts, err := s.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tok := range ts {
		got = append(got, tok.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ListTokens = %v, want newest first %v", got, want)
	}
}

// A token revoked through one handle (the CLI) is refused at once through
// another (serve): nothing caches it.
func testRevokeToken(t *testing.T, s Stores) {
	ctx := context.Background()
	serve, cli := drawbridge.Backend(s), s.Reopen(t)
	tok, secret := newToken("alice@example.com", drawbridge.RoleRequester)
	if err := serve.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got, err := serve.TokenByHash(ctx, drawbridge.HashTokenSecret(secret)); err != nil || !got.Active(T0) {
		t.Fatalf("new token: %+v, %v; want active", got, err)
	}
	first := T0.Add(time.Hour)
	if err := cli.RevokeToken(ctx, tok.ID, first); err != nil {
		t.Fatal(err)
	}
	got, err := serve.TokenByHash(ctx, drawbridge.HashTokenSecret(secret))
	if err != nil {
		t.Fatal(err)
	}
	if got.Active(T0) || !got.RevokedAt.Equal(first) {
		t.Fatalf("revoked token: revoked_at %v, active %v; want revoked at %v", got.RevokedAt, got.Active(T0), first.UTC())
	}
	// Revoking again keeps the first time.
	if err := cli.RevokeToken(ctx, tok.ID, first.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := serve.TokenByHash(ctx, drawbridge.HashTokenSecret(secret)); !got.RevokedAt.Equal(first) {
		t.Fatalf("revoked twice: revoked_at %v, want the first %v", got.RevokedAt, first.UTC())
	}
	mustCode(t, cli.RevokeToken(ctx, drawbridge.NewTokenID(), first), drawbridge.ENOTFOUND)
}

func testCountRequests(t *testing.T, s Stores) {
	ctx := context.Background()
	if cs, err := s.CountRequests(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("empty store: %v, %v; want no counts", cs, err)
	}
	mk := func(st drawbridge.State, ch drawbridge.Channel, attempts int) {
		r := NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
		r.State, r.Channel, r.RevokeAttempts = st, ch, attempts
		Create(t, s, r)
	}
	mk(drawbridge.StateActive, drawbridge.ChannelCLI, 0)
	mk(drawbridge.StateActive, drawbridge.ChannelCLI, 0)
	mk(drawbridge.StateActive, drawbridge.ChannelAPI, 0)
	mk(drawbridge.StateRevoking, drawbridge.ChannelAPI, 0)
	mk(drawbridge.StateRevoking, drawbridge.ChannelAPI, 1)
	mk(drawbridge.StateRevoking, drawbridge.ChannelAPI, 4)
	mk(drawbridge.StatePendingApproval, drawbridge.ChannelSlack, 0)
	want := []drawbridge.RequestCount{
		{State: drawbridge.StateActive, Channel: drawbridge.ChannelAPI, N: 1},
		{State: drawbridge.StateActive, Channel: drawbridge.ChannelCLI, N: 2},
		{State: drawbridge.StatePendingApproval, Channel: drawbridge.ChannelSlack, N: 1},
		{State: drawbridge.StateRevoking, Channel: drawbridge.ChannelAPI, N: 3, Failing: 2},
	}
	got, err := s.CountRequests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b drawbridge.RequestCount) int {
		return strings.Compare(string(a.State)+" "+string(a.Channel), string(b.State)+" "+string(b.Channel))
	})
	if !slices.Equal(got, want) {
		t.Fatalf("CountRequests = %+v\nwant %+v", got, want)
	}
}

// Readiness: an open store answers, a closed handle does not.
func testPing(t *testing.T, s Stores) {
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("open store: %v", err)
	}
	other := s.Reopen(t)
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Ping(ctx); err == nil {
		t.Fatal("a closed handle answers Ping")
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("closing another handle broke this one: %v", err)
	}
}
