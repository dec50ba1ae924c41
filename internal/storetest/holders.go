package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// AssignmentHolders pages, in (role, principal ref, id) order, through
// exactly the live grants and recorded standing access of one provider's
// resource: not ended grants without standing access, not other resources
// or providers; every page continues after the last row of the previous.
func testAssignmentHolders(t *testing.T, s Stores) {
	ctx := context.Background()
	const res = "123456789012"
	var want []drawbridge.AssignmentHolder
	mk := func(resource, role, principal string, st drawbridge.State, preexisting bool, provider string) {
		r := NewRequest("alice@example.com", resource, role)
		r.Provider, r.State, r.PrincipalRef, r.PreexistingAccess = provider, st, principal, preexisting
		r.ProvisionStartedAt = T0
		if st == drawbridge.StateActive || st == drawbridge.StateRevoking || st.Terminal() {
			r.ActivatedAt, r.ExpiresAt = T0.Add(time.Minute), T0.Add(time.Hour)
		}
		if st.Terminal() {
			r.EndedAt = T0.Add(time.Hour)
		}
		Create(t, s, r)
		if provider == "aws" && resource == res && (preexisting || st == drawbridge.StateProvisioning || st == drawbridge.StateActive || st == drawbridge.StateRevoking) {
			want = append(want, drawbridge.AssignmentHolder{Assignment: drawbridge.Assignment{Entitlement: r.Entitlement, PrincipalRef: principal},
				RequestID: r.ID, State: st, PreexistingAccess: preexisting, ActivatedAt: r.ActivatedAt})
		}
	}
	for i := range 3 {
		for _, role := range []string{"ReadOnlyAccess", "AdministratorAccess"} {
			p := fmt.Sprintf("user-%d", i)
			mk(res, role, p, drawbridge.StateActive, false, "aws")
			mk(res, role, p, drawbridge.StateExpired, false, "aws") // ended, not standing
			mk(res, role, p, drawbridge.StateExpired, true, "aws")  // ended standing access
		}
	}
	mk(res, "ReadOnlyAccess", "user-9", drawbridge.StateProvisioning, false, "aws")
	mk(res, "ReadOnlyAccess", "user-8", drawbridge.StateRevoking, false, "aws")
	mk(res, "ReadOnlyAccess", "user-7", drawbridge.StatePendingApproval, false, "aws")
	mk("111122223333", "ReadOnlyAccess", "user-1", drawbridge.StateActive, false, "aws")
	mk(res, "ReadOnlyAccess", "user-1", drawbridge.StateActive, false, "other")
	slices.SortFunc(want, func(a, b drawbridge.AssignmentHolder) int {
		return cmp.Or(cmp.Compare(a.Role, b.Role), cmp.Compare(a.PrincipalRef, b.PrincipalRef), cmp.Compare(a.RequestID, b.RequestID))
	})

	var got []drawbridge.AssignmentHolder
	var after drawbridge.AssignmentHolder
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatalf("AssignmentHolders did not end after %d pages", pages)
		}
		page, err := s.AssignmentHolders(ctx, "aws", res, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("page of %d rows, limit 2", len(page))
		}
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	if len(got) != len(want) {
		t.Fatalf("AssignmentHolders returned %d rows, want %d:\n%+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Assignment != w.Assignment || g.RequestID != w.RequestID || g.State != w.State ||
			g.PreexistingAccess != w.PreexistingAccess || !g.ActivatedAt.Equal(w.ActivatedAt) {
			t.Fatalf("row %d = %+v\nwant %+v", i, g, w)
		}
	}
	if none, err := s.AssignmentHolders(ctx, "aws", "' OR 1=1 --", drawbridge.AssignmentHolder{}, 10); err != nil || len(none) != 0 {
		t.Fatalf("unknown resource: %v, %v", none, err)
	}
}

// LastEndedGrant is the assignment's grant with the latest end (ties: the
// lowest id), never a live one or another assignment's; nil when none
// ended.
func testLastEndedGrant(t *testing.T, s Stores) {
	ctx := context.Background()
	ent := drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess"}
	a := drawbridge.Assignment{Entitlement: ent, PrincipalRef: "user-1"}
	if got, err := s.LastEndedGrant(ctx, a); err != nil || got != nil {
		t.Fatalf("no grants: %v, %v; want nil", got, err)
	}
	mk := func(principal string, st drawbridge.State, ended time.Duration) *drawbridge.Request {
		r := NewRequest("alice@example.com", ent.Resource, ent.Role)
		r.State, r.PrincipalRef = st, principal
		r.ProvisionStartedAt, r.ActivatedAt, r.ExpiresAt = T0, T0, T0.Add(time.Hour)
		if ended != 0 {
			r.EndedAt = T0.Add(ended)
		}
		return Create(t, s, r)
	}
	mk("user-1", drawbridge.StateActive, 0)
	if got, err := s.LastEndedGrant(ctx, a); err != nil || got != nil {
		t.Fatalf("only a live grant: %v, %v; want nil", got, err)
	}
	mk("user-1", drawbridge.StateExpired, time.Hour)
	first := mk("user-1", drawbridge.StateRevoked, 3*time.Hour)
	mk("user-1", drawbridge.StateRevoked, 3*time.Hour) // a tie, with a higher id
	mk("user-1", drawbridge.StateExpired, 2*time.Hour)
	mk("user-2", drawbridge.StateExpired, 5*time.Hour)
	got, err := s.LastEndedGrant(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.ID != first.ID || !got.EndedAt.Equal(first.EndedAt) {
		t.Fatalf("LastEndedGrant = %+v, want %s (ended %v, lowest id of the tie)", got, first.ID, first.EndedAt)
	}
}
