package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// testGroupMemberships: a replace is the whole membership from one source
// (a group the person left is gone), other sources and people are
// untouched, the time round-trips, and a second handle reads it.
func testGroupMemberships(t *testing.T, s Stores) {
	ctx := context.Background()
	at := T0.Add(time.Minute)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.ReplaceGroupMemberships(ctx, "alice@example.com", "oidc:https://idp", []string{"sre-leads", "engineers"}, T0))
	must(s.ReplaceGroupMemberships(ctx, "alice@example.com", "graph", []string{"engineers"}, T0))
	must(s.ReplaceGroupMemberships(ctx, "bob@example.com", "oidc:https://idp", []string{"sre-leads"}, T0))
	must(s.ReplaceGroupMemberships(ctx, "alice@example.com", "oidc:https://idp", []string{"engineers"}, at))
	got, err := s.Reopen(t).GroupMemberships(ctx, "alice@example.com")
	must(err)
	want := []drawbridge.GroupMembership{
		{Principal: "alice@example.com", Group: "engineers", Source: "graph", ComputedAt: T0},
		{Principal: "alice@example.com", Group: "engineers", Source: "oidc:https://idp", ComputedAt: at},
	}
	if len(got) != len(want) {
		t.Fatalf("memberships %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Group != want[i].Group || got[i].Source != want[i].Source || !got[i].ComputedAt.Equal(want[i].ComputedAt) || got[i].Principal != want[i].Principal {
			t.Fatalf("membership %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	must(s.ReplaceGroupMemberships(ctx, "bob@example.com", "oidc:https://idp", nil, at))
	if got, err := s.GroupMemberships(ctx, "bob@example.com"); err != nil || len(got) != 0 {
		t.Fatalf("after an empty replace bob has %+v (%v)", got, err)
	}
	mustCode(t, s.ReplaceGroupMemberships(ctx, "", "oidc:x", nil, at), drawbridge.EINVALID)
}
