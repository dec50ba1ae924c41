package sqlite_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

func ids(rs []*drawbridge.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestListRequests(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)

	type spec struct {
		requester, resource, role string
		state                     drawbridge.State
		created                   time.Duration
	}
	specs := []spec{
		{"alice@example.com", "111111111111", "ReadOnlyAccess", drawbridge.StateActive, 0},
		{"alice@example.com", "222222222222", "AdministratorAccess", drawbridge.StatePendingApproval, 1 * time.Hour},
		{"bob@example.com", "111111111111", "AdministratorAccess", drawbridge.StateDenied, 2 * time.Hour},
		{"bob@example.com", "222222222222", "ReadOnlyAccess", drawbridge.StateExpired, 3 * time.Hour},
		{"carol@example.com", "333333333333", "ReadOnlyAccess", drawbridge.StateActive, 4 * time.Hour},
	}
	// all is in creation order; ids are time-sortable, so newest first is
	// the reverse.
	var all []*drawbridge.Request
	for _, s := range specs {
		r := newRequest(s.requester, s.resource, s.role)
		r.State, r.CreatedAt = s.state, t0.Add(s.created)
		all = append(all, create(t, db, r))
	}
	newest := func(idx ...int) []string {
		var out []string
		for i := len(all) - 1; i >= 0; i-- {
			if slices.Contains(idx, i) {
				out = append(out, all[i].ID)
			}
		}
		return out
	}

	tests := []struct {
		name string
		f    drawbridge.RequestFilter
		want []string
	}{
		{"everything, newest first", drawbridge.RequestFilter{}, newest(0, 1, 2, 3, 4)},
		{"one state", drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StateActive}}, newest(0, 4)},
		{"several states", drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StateDenied, drawbridge.StateExpired}}, newest(2, 3)},
		{"requester", drawbridge.RequestFilter{Requester: "bob@example.com"}, newest(2, 3)},
		{"provider", drawbridge.RequestFilter{Provider: "aws"}, newest(0, 1, 2, 3, 4)},
		{"other provider", drawbridge.RequestFilter{Provider: "entra"}, nil},
		{"resource", drawbridge.RequestFilter{Resource: "111111111111"}, newest(0, 2)},
		{"role", drawbridge.RequestFilter{Role: "ReadOnlyAccess"}, newest(0, 3, 4)},
		{"resource and role", drawbridge.RequestFilter{Resource: "222222222222", Role: "ReadOnlyAccess"}, newest(3)},
		{"resource scope", drawbridge.RequestFilter{Resources: []string{"111111111111", "333333333333"}}, newest(0, 2, 4)},
		{"role scope", drawbridge.RequestFilter{Roles: []string{"AdministratorAccess"}}, newest(1, 2)},
		{"both scopes", drawbridge.RequestFilter{Resources: []string{"222222222222"}, Roles: []string{"AdministratorAccess"}}, newest(1)},
		{"empty resource scope sees nothing", drawbridge.RequestFilter{Resources: []string{}}, nil},
		{"empty role scope sees nothing", drawbridge.RequestFilter{Roles: []string{}}, nil},
		{"filter outside scope", drawbridge.RequestFilter{Resource: "111111111111", Resources: []string{"222222222222"}}, nil},
		{"created range", drawbridge.RequestFilter{CreatedFrom: t0.Add(time.Hour), CreatedTo: t0.Add(3 * time.Hour)}, newest(1, 2)},
		{"created from is inclusive", drawbridge.RequestFilter{CreatedFrom: t0.Add(4 * time.Hour)}, newest(4)},
		{"created to is exclusive", drawbridge.RequestFilter{CreatedTo: t0.Add(time.Hour)}, newest(0)},
		{"cursor", drawbridge.RequestFilter{Cursor: all[2].ID}, newest(0, 1)},
		{"limit", drawbridge.RequestFilter{Limit: 2}, newest(3, 4)},
		{"combined", drawbridge.RequestFilter{Requester: "alice@example.com", States: []drawbridge.State{drawbridge.StatePendingApproval}, Resources: []string{"222222222222"}}, newest(1)},
		// Values are bound parameters, never SQL.
		{"injection in requester", drawbridge.RequestFilter{Requester: "' OR 1=1 --"}, nil},
		{"injection in resource", drawbridge.RequestFilter{Resource: "x' OR '1'='1"}, nil},
		{"injection in scope", drawbridge.RequestFilter{Resources: []string{"') OR 1=1 --"}}, nil},
		{"injection in state", drawbridge.RequestFilter{States: []drawbridge.State{"ACTIVE' OR 1=1 --"}}, nil},
		{"injection in cursor", drawbridge.RequestFilter{Cursor: "' OR 1=1 --"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.ListRequests(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if g := ids(got); !slices.Equal(g, tt.want) {
				t.Fatalf("got %v\nwant %v", g, tt.want)
			}
		})
	}

	// The injection attempts left the table alone.
	if got, _ := db.ListRequests(ctx, drawbridge.RequestFilter{}); len(got) != len(all) {
		t.Fatalf("%d requests left, want %d", len(got), len(all))
	}
}

func TestListRequestsPaginates(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	var want []string
	for range 7 {
		want = append(want, create(t, db, newRequest("alice@example.com", "123456789012", "ReadOnlyAccess")).ID)
	}
	slices.Reverse(want)

	var got []string
	f := drawbridge.RequestFilter{Requester: "alice@example.com", Limit: 3}
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("pagination does not end")
		}
		page, err := db.ListRequests(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(page)...)
		if len(page) < f.Limit {
			break
		}
		f.Cursor = page[len(page)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages gave %v\nwant %v", got, want)
	}
}

func TestListRequestsLimits(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	// One transaction's worth of rows through the raw file is faster than
	// 1,001 CreateRequest calls under -race.
	var r *drawbridge.Request
	for range 3 {
		r = create(t, db, newRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	}
	raw := rawDB(t, db.Path())
	if _, err := raw.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1100)
		INSERT INTO requests SELECT 'req_x' || printf('%05d', i), requester, provider, resource, role, duration_ns, reason,
			ticket, channel, state, effect, rule, policy_sha256, decision_reason, approvals_required, approval_timeout_ns,
			approvals, extends, created_at, decided_at, approval_deadline, activated_at, expires_at, ended_at,
			next_attempt_at, due_at, provider_ref, preexisting_access, revoke_attempts, last_error, end_reason,
			revoked_by, version, provision_attempts, provision_started_at, assignment_found, deletes_assignment
		FROM requests, n WHERE id = ?`, r.ID); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ limit, want int }{{0, 100}, {-1, 100}, {5, 5}, {5000, 1000}} {
		got, err := db.ListRequests(ctx, drawbridge.RequestFilter{Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.want {
			t.Errorf("Limit %d gave %d requests, want %d", tt.limit, len(got), tt.want)
		}
	}
}

func TestDueRequestsAndNextDue(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)

	if _, ok, err := db.NextDue(ctx); err != nil || ok {
		t.Fatalf("empty store: NextDue ok=%v err=%v, want none", ok, err)
	}

	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	mk := func(state drawbridge.State, set func(*drawbridge.Request)) *drawbridge.Request {
		r := newRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
		r.State, r.ApprovalDeadline = state, time.Time{}
		set(r)
		return create(t, db, r)
	}
	pending := mk(drawbridge.StatePendingApproval, func(r *drawbridge.Request) { r.ApprovalDeadline = at(30) })
	active := mk(drawbridge.StateActive, func(r *drawbridge.Request) { r.ExpiresAt = at(10); r.NextAttemptAt = at(1) })
	revoking := mk(drawbridge.StateRevoking, func(r *drawbridge.Request) { r.ExpiresAt = at(5); r.NextAttemptAt = at(20) })
	approved := mk(drawbridge.StateApproved, func(r *drawbridge.Request) { r.NextAttemptAt = at(40) })
	// Never due: terminal, or nothing scheduled.
	mk(drawbridge.StateExpired, func(r *drawbridge.Request) { r.ExpiresAt = at(2); r.ApprovalDeadline = at(2) })
	mk(drawbridge.StateProvisioning, func(r *drawbridge.Request) {})

	next, ok, err := db.NextDue(ctx)
	if err != nil || !ok || !next.Equal(at(10)) {
		t.Fatalf("NextDue = %v, %v, %v; want the active grant's expiry %v", next, ok, err, at(10))
	}

	tests := []struct {
		now   time.Time
		limit int
		want  []string
	}{
		{at(9), 10, nil},
		{at(10), 10, []string{active.ID}},
		{at(35), 10, []string{active.ID, revoking.ID, pending.ID}},
		{at(60), 10, []string{active.ID, revoking.ID, pending.ID, approved.ID}},
		{at(60), 2, []string{active.ID, revoking.ID}},
	}
	for _, tt := range tests {
		got, err := db.DueRequests(ctx, tt.now, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if g := ids(got); !slices.Equal(g, tt.want) {
			t.Errorf("DueRequests(%v, %d) = %v, want %v", tt.now, tt.limit, g, tt.want)
		}
	}

	// Moving a request on moves its due time: expiring the active grant
	// makes its next attempt the due time.
	active.State = drawbridge.StateRevoking
	active.NextAttemptAt = at(50)
	if err := db.UpdateRequest(ctx, active); err != nil {
		t.Fatal(err)
	}
	if next, _, _ := db.NextDue(ctx); !next.Equal(at(20)) {
		t.Fatalf("after update NextDue = %v, want %v", next, at(20))
	}
}

// AssignmentGrants with since in the future returns the live grants of
// exactly one assignment, and binds every value.
func TestAssignmentGrantsLiveOnly(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	ent := drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "AdministratorAccess"}
	mk := func(state drawbridge.State, e drawbridge.Entitlement, ref string) *drawbridge.Request {
		r := newRequest("alice@example.com", e.Resource, e.Role)
		r.Entitlement, r.State, r.ProviderRef = e, state, ref
		if state.Terminal() {
			r.EndedAt = t0
		}
		return create(t, db, r)
	}
	var want []string
	for _, s := range []drawbridge.State{drawbridge.StateProvisioning, drawbridge.StateActive, drawbridge.StateRevoking} {
		want = append(want, mk(s, ent, "user-1").ID)
	}
	for _, s := range []drawbridge.State{drawbridge.StatePendingApproval, drawbridge.StateApproved, drawbridge.StateExpired, drawbridge.StateRevoked, drawbridge.StateFailed} {
		mk(s, ent, "user-1")
	}
	mk(drawbridge.StateActive, ent, "user-2")
	mk(drawbridge.StateActive, drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess"}, "user-1")
	mk(drawbridge.StateActive, drawbridge.Entitlement{Provider: "aws", Resource: "999999999999", Role: "AdministratorAccess"}, "user-1")
	mk(drawbridge.StateActive, drawbridge.Entitlement{Provider: "entra", Resource: "123456789012", Role: "AdministratorAccess"}, "user-1")

	future := t0.Add(time.Hour)
	got, err := db.AssignmentGrants(ctx, drawbridge.Assignment{Entitlement: ent, Principal: "user-1"}, future)
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(got); !slices.Equal(g, want) {
		t.Fatalf("AssignmentGrants = %v, want %v", g, want)
	}
	if got, _ := db.AssignmentGrants(ctx, drawbridge.Assignment{Entitlement: ent, Principal: "' OR 1=1 --"}, future); len(got) != 0 {
		t.Fatalf("AssignmentGrants for an unknown principal = %v", ids(got))
	}
}

func TestQueriesUseIndexes(t *testing.T) {
	db, _ := openDB(t)
	raw := rawDB(t, db.Path())
	for query, index := range map[string]string{
		`SELECT id FROM requests WHERE due_at IS NOT NULL AND due_at <= 1 ORDER BY due_at, id LIMIT 10`:         "requests_due",
		`SELECT due_at FROM requests WHERE due_at IS NOT NULL ORDER BY due_at LIMIT 1`:                          "requests_due",
		`SELECT id FROM requests WHERE provider = 'a' AND resource = 'b' AND role = 'c' AND provider_ref = 'd'`: "requests_assignment",
		// the Store's assignment rule (checkAssignment) and AssignmentGrants
		`SELECT id, state FROM requests WHERE provider = 'a' AND resource = 'b' AND role = 'c' AND provider_ref = 'd' AND id != 'e'
			AND state IN ('PROVISIONING', 'ACTIVE') LIMIT 1`: "requests_assignment",
		`SELECT id FROM requests WHERE provider = 'a' AND resource = 'b' AND role = 'c' AND provider_ref = 'd'
			AND (state IN ('PROVISIONING', 'ACTIVE', 'REVOKING') OR ended_at >= 1)`: "requests_assignment",
		`SELECT id FROM requests WHERE requester = 'a' ORDER BY id DESC LIMIT 100`:  "requests_requester",
		`SELECT id FROM requests WHERE state = 'ACTIVE' ORDER BY id DESC LIMIT 100`: "requests_state_id",
		// the one-live-extension rule (checkExtension)
		`SELECT id, state FROM requests WHERE extends = 'a' AND id != 'b'
			AND state IN ('PENDING_APPROVAL', 'APPROVED', 'PROVISIONING', 'ACTIVE') LIMIT 1`: "requests_extends",
		// the continuous-access check on every submission (broker.continuousSince)
		`SELECT id FROM requests WHERE state IN ('ACTIVE') AND requester = 'a' AND provider = 'aws' AND resource = 'b' AND role = 'c'
			ORDER BY id DESC LIMIT 1000`: "requests_person_entitlement",
		`SELECT seq FROM audit_events WHERE request_id = 'r' ORDER BY seq`: "audit_events_request",
	} {
		rows, err := raw.Query(`EXPLAIN QUERY PLAN ` + query)
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
		if !strings.Contains(plan+" ", "INDEX "+index+" ") {
			t.Errorf("%s\nplan does not use %s:\n%s", query, index, plan)
		}
	}
}
