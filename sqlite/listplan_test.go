package sqlite_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/storetest"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// queryPlan returns SQLite's EXPLAIN QUERY PLAN of query, one line per step.
func queryPlan(t *testing.T, raw *sql.DB, query string, args []any) string {
	t.Helper()
	rows, err := raw.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan += detail + "\n"
	}
	return plan
}

// The lists a scoped auditor and a date range make read an index in id
// order and stop after the page: no sort of every matching row (USE TEMP
// B-TREE FOR ORDER BY), no walk of every newer row for a window. SQLite
// plans without statistics here as in production (nothing runs ANALYZE),
// so the plan on a small store is the plan on a million rows.
func TestListPlansReadInIDOrder(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	raw := rawDB(t, path)
	// Ids that carry their creation time, as the broker makes them.
	for i := 0; i < 20; i++ {
		r := storetest.NewRequest("alice@example.com", []string{"111111111111", "222222222222"}[i%2], "ReadOnly")
		r.CreatedAt = time.Now().UTC()
		if err := db.CreateRequest(ctx, r, drawbridge.AuditEvent{Actor: "alice@example.com", Action: "submit"}); err != nil {
			t.Fatal(err)
		}
	}
	var scope []string
	for i := 0; i < 30; i++ {
		scope = append(scope, strings.Repeat(string(rune('0'+i%10)), 12))
	}
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	for _, c := range []struct {
		name  string
		f     drawbridge.RequestFilter
		wants []string // in the plan
	}{
		{"scoped to 30 accounts", drawbridge.RequestFilter{Resources: scope}, []string{"requests_resource_id (resource=?)"}},
		{"scoped to 30 accounts and 5 permission sets", drawbridge.RequestFilter{Resources: scope, Roles: []string{"A", "B", "C", "D", "E"}},
			[]string{"requests_resource_id (resource=?)"}},
		{"scoped to providers", drawbridge.RequestFilter{Providers: []string{"aws", "entra"}}, []string{"requests_provider_id (provider=?)"}},
		{"a date range", drawbridge.RequestFilter{CreatedFrom: from, CreatedTo: to}, []string{"(id>? AND id<?)"}},
		{"a date range, next page", drawbridge.RequestFilter{CreatedFrom: from, CreatedTo: to, Cursor: "req_ffffffffffffffffffffffffffffffff"},
			[]string{"(id>? AND id<?)"}},
		{"a date range of one state", drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StateExpired}, CreatedFrom: from, CreatedTo: to},
			[]string{"requests_state_id (state=? AND id>? AND id<?)"}},
		{"a date range of five states", drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StateExpired, drawbridge.StateRevoked,
			drawbridge.StateDenied, drawbridge.StateCancelled, drawbridge.StateFailed}, CreatedFrom: from}, []string{"requests_state_id (state=? AND id>?)"}},
		{"five states", drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StateExpired, drawbridge.StateRevoked,
			drawbridge.StateDenied, drawbridge.StateCancelled, drawbridge.StateFailed}}, []string{"MERGE (UNION ALL)", "requests_state_id (state=?)"}},
		{"two states, next page", drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StateActive, drawbridge.StatePendingApproval},
			Cursor: "req_x"}, []string{"MERGE (UNION ALL)", "requests_state_id (state=? AND id<?)"}},
		{"an account", drawbridge.RequestFilter{Resource: "111111111111"}, []string{"requests_resource_role (resource=? AND role=?)"}},
		{"an account, scoped to three permission sets, next page", drawbridge.RequestFilter{Resource: "111111111111", Roles: []string{"A", "B", "C"},
			Cursor: "req_x"}, []string{"MERGE (UNION ALL)", "requests_resource_role (resource=? AND role=? AND id<?)"}},
		{"a scoped date range", drawbridge.RequestFilter{Resources: scope, CreatedFrom: from, CreatedTo: to},
			[]string{"requests_resource_id (resource=? AND id>? AND id<?)"}},
	} {
		var query string
		var args []any
		untrace := sqlite.TraceList(func(q string, a []any) { query, args = q, a })
		_, err := db.ListRequests(ctx, c.f)
		untrace()
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, raw, query, args)
		bad := strings.Contains(plan, "TEMP B-TREE")
		for _, w := range c.wants {
			bad = bad || !strings.Contains(plan, w)
		}
		if bad {
			t.Errorf("%s: plan sorts or misses %q:\n%s", c.name, c.wants, plan)
		}
	}
}
