package sqlite_test

import (
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// The merge's results are the conformance suite's
// (ListRequestsMatchAFullScan); its plan is SQLite's own.

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
