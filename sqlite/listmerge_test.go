package sqlite_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// Several states, or an account without a permission set, are listed by
// merging one index-ordered SELECT per (state, permission set): the pages
// must be exactly those of a plain filter over every request, newest
// first, with scopes, time bounds, cursors and the fallback for too many
// arms.
func TestListRequestsMergedArmsMatchAFullScan(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	rng := rand.New(rand.NewPCG(1, 2))
	accounts := []string{"111111111111", "222222222222", "333333333333", "444444444444"}
	roles := []string{"ReadOnlyAccess", "PowerUserAccess", "AdministratorAccess", "Billing", "Support", "Network", "Security", "DBA"}
	people := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	var all []*drawbridge.Request
	for i := 0; i < 300; i++ {
		r := newRequest(people[rng.IntN(len(people))], accounts[rng.IntN(len(accounts))], roles[rng.IntN(len(roles))])
		r.State = drawbridge.States[rng.IntN(len(drawbridge.States))]
		r.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		all = append(all, create(t, db, r))
	}
	slices.SortFunc(all, func(a, b *drawbridge.Request) int { return strings.Compare(b.ID, a.ID) })

	match := func(f drawbridge.RequestFilter, r *drawbridge.Request) bool {
		return (len(f.States) == 0 || slices.Contains(f.States, r.State)) &&
			(f.Requester == "" || r.Requester == f.Requester) &&
			(f.Resource == "" || r.Resource == f.Resource) && (f.Role == "" || r.Role == f.Role) &&
			(f.Resources == nil || slices.Contains(f.Resources, r.Resource)) &&
			(f.Roles == nil || slices.Contains(f.Roles, r.Role)) &&
			(f.CreatedFrom.IsZero() || !r.CreatedAt.Before(f.CreatedFrom)) &&
			(f.CreatedTo.IsZero() || r.CreatedAt.Before(f.CreatedTo))
	}
	filters := []drawbridge.RequestFilter{
		{States: []drawbridge.State{drawbridge.StateExpired, drawbridge.StateRevoked}},
		{States: drawbridge.States},
		{States: []drawbridge.State{drawbridge.StateActive, drawbridge.StatePendingApproval}, Requester: "bob@example.com"},
		{Resource: "222222222222"},
		{Resource: "999999999999"}, // no request at all
		{Resource: "333333333333", States: []drawbridge.State{drawbridge.StateExpired, drawbridge.StateDenied, drawbridge.StateActive}},
		{Resource: "111111111111", Roles: []string{"ReadOnlyAccess", "DBA"}, Resources: []string{"111111111111", "222222222222"}},
		{Resource: "111111111111", Roles: []string{"Nope"}},
		{States: []drawbridge.State{drawbridge.StateExpired, drawbridge.StateFailed}, Resources: []string{"444444444444"}, Roles: roles[:3]},
		{Resource: "444444444444", CreatedFrom: t0.Add(50 * time.Minute), CreatedTo: t0.Add(250 * time.Minute)},
		{Resource: "222222222222", States: drawbridge.States},               // 10 states × 8 roles: more arms than merged
		{Resource: "222222222222", States: drawbridge.States, Roles: roles}, // the same, scoped
	}
	for i, f := range filters {
		var want []string
		for _, r := range all {
			if match(f, r) {
				want = append(want, r.ID)
			}
		}
		for _, limit := range []int{7, 1000} {
			f.Limit, f.Cursor = limit, ""
			var got []string
			for page := 0; page < 100; page++ {
				rs, err := db.ListRequests(ctx, f)
				if err != nil {
					t.Fatalf("filter %d: %v", i, err)
				}
				got = append(got, ids(rs)...)
				if len(rs) < limit {
					break
				}
				f.Cursor = rs[len(rs)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Errorf("filter %d (limit %d) %+v:\n got %d %v\nwant %d %v", i, limit, f, len(got), got, len(want), want)
			}
		}
	}
}

// The merged query reads each arm in index order and merges: no sort of
// every matching row (USE TEMP B-TREE), which is what made a page of
// several states cost a full sort.
func TestMergedListPlanDoesNotSort(t *testing.T) {
	db, _ := openDB(t)
	raw := rawDB(t, db.Path())
	for _, c := range []struct {
		where  []string
		args   []any
		states []string
		roles  []string
		split  bool
		index  string
	}{
		{nil, nil, []string{"EXPIRED", "REVOKED", "DENIED", "CANCELLED", "FAILED"}, nil, false, "requests_state_id"},
		{[]string{"id < ?"}, []any{"req_x"}, []string{"ACTIVE", "PENDING_APPROVAL"}, nil, false, "requests_state_id"},
		{[]string{"resource = ?"}, []any{"111111111111"}, nil, []string{"A", "B", "C"}, true, "requests_resource_role"},
		{[]string{"resource = ?", "id < ?"}, []any{"111111111111", "req_x"}, nil, []string{"A", "B"}, true, "requests_resource_role"},
	} {
		q, args := sqlite.MergedQuery(c.where, c.args, c.states, c.roles, c.split)
		rows, err := raw.Query(`EXPLAIN QUERY PLAN `+q+` LIMIT 100`, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan += detail + "\n"
		}
		rows.Close()
		if !strings.Contains(plan, "MERGE (UNION ALL)") || strings.Contains(plan, "TEMP B-TREE") || !strings.Contains(plan, "INDEX "+c.index+" ") {
			t.Errorf("%s\nplan sorts or misses %s:\n%s", q, c.index, plan)
		}
	}
}
