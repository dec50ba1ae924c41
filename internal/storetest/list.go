package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

func testListRequests(t *testing.T, s Stores) {
	ctx := context.Background()
	type spec struct {
		requester, resource, role string
		state                     drawbridge.State
		created                   time.Duration
		standing                  bool
	}
	specs := []spec{
		{"alice@example.com", "111111111111", "ReadOnlyAccess", drawbridge.StateActive, 0, true},
		{"alice@example.com", "222222222222", "AdministratorAccess", drawbridge.StatePendingApproval, 1 * time.Hour, false},
		{"bob@example.com", "111111111111", "AdministratorAccess", drawbridge.StateDenied, 2 * time.Hour, false},
		{"bob@example.com", "222222222222", "ReadOnlyAccess", drawbridge.StateExpired, 3 * time.Hour, true},
		{"carol@example.com", "333333333333", "ReadOnlyAccess", drawbridge.StateActive, 4 * time.Hour, false},
	}
	// all is in creation order; ids are time-sortable, so newest first is
	// the reverse.
	var all []*drawbridge.Request
	for _, sp := range specs {
		r := NewRequest(sp.requester, sp.resource, sp.role)
		r.State, r.CreatedAt, r.PreexistingAccess = sp.state, T0.Add(sp.created), sp.standing
		all = append(all, Create(t, s, r))
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
		{"provider scope", drawbridge.RequestFilter{Providers: []string{"aws"}, Roles: []string{"AdministratorAccess"}}, newest(1, 2)},
		{"other provider scope", drawbridge.RequestFilter{Providers: []string{"hooks"}}, nil},
		{"empty provider scope sees nothing", drawbridge.RequestFilter{Providers: []string{}}, nil},
		{"filter outside scope", drawbridge.RequestFilter{Resource: "111111111111", Resources: []string{"222222222222"}}, nil},
		{"standing access only", drawbridge.RequestFilter{PreexistingOnly: true}, newest(0, 3)},
		{"created range", drawbridge.RequestFilter{CreatedFrom: T0.Add(time.Hour), CreatedTo: T0.Add(3 * time.Hour)}, newest(1, 2)},
		{"created from is inclusive", drawbridge.RequestFilter{CreatedFrom: T0.Add(4 * time.Hour)}, newest(4)},
		{"created to is exclusive", drawbridge.RequestFilter{CreatedTo: T0.Add(time.Hour)}, newest(0)},
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
			got, err := s.ListRequests(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if g := ids(got); !slices.Equal(g, tt.want) {
				t.Fatalf("got %v\nwant %v", g, tt.want)
			}
		})
	}

	// The injection attempts left the table alone.
	if got, _ := s.ListRequests(ctx, drawbridge.RequestFilter{}); len(got) != len(all) {
		t.Fatalf("%d requests left, want %d", len(got), len(all))
	}
}

func testListRequestsPaginates(t *testing.T, s Stores) {
	ctx := context.Background()
	var want []string
	for range 7 {
		want = append(want, Create(t, s, NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")).ID)
	}
	slices.Reverse(want)

	var got []string
	f := drawbridge.RequestFilter{Requester: "alice@example.com", Limit: 3}
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("pagination does not end")
		}
		page, err := s.ListRequests(ctx, f)
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

// A page holds DefaultListLimit requests when no limit is given and never
// more than MaxListLimit; DueRequests has the same default.
func testListRequestsLimits(t *testing.T, s Stores) {
	ctx := context.Background()
	// One more than the largest page: the smallest store that shows the cap.
	rs := make([]*drawbridge.Request, drawbridge.MaxListLimit+1)
	for i := range rs {
		rs[i] = NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
		rs[i].ApprovalDeadline = T0
	}
	createAll(t, s, rs)
	for _, tt := range []struct{ limit, want int }{
		{0, drawbridge.DefaultListLimit}, {-1, drawbridge.DefaultListLimit}, {5, 5},
		{drawbridge.MaxListLimit + 1, drawbridge.MaxListLimit}, {5000, drawbridge.MaxListLimit},
	} {
		got, err := s.ListRequests(ctx, drawbridge.RequestFilter{Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.want {
			t.Errorf("Limit %d gave %d requests, want %d", tt.limit, len(got), tt.want)
		}
	}
	for _, tt := range []struct{ limit, want int }{{0, drawbridge.DefaultListLimit}, {-1, drawbridge.DefaultListLimit}, {7, 7}} {
		got, err := s.DueRequests(ctx, T0, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.want {
			t.Errorf("DueRequests limit %d gave %d requests, want %d", tt.limit, len(got), tt.want)
		}
	}
}

// Every filter, paged with a cursor, gives exactly the requests a plain
// scan of everything selects, newest first: whatever a store does to make
// pages fast (SQLite merges one index-ordered SELECT per state and role)
// must not change which requests a page holds.
func testListRequestsMatchAFullScan(t *testing.T, s Stores) {
	// Every account has every role (the first len(accounts)*len(roles)
	// requests see to it), so that one account with every state is more
	// arms than SQLite merges (64) and takes its sorting fallback; the rest
	// are random, several to a page.
	const n = 160
	rng := rand.New(rand.NewPCG(1, 2))
	accounts := []string{"111111111111", "222222222222", "333333333333", "444444444444"}
	roles := []string{"ReadOnlyAccess", "PowerUserAccess", "AdministratorAccess", "Billing", "Support", "Network", "Security", "DBA"}
	people := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	all := make([]*drawbridge.Request, n)
	for i := range all {
		account, role := accounts[rng.IntN(len(accounts))], roles[rng.IntN(len(roles))]
		if i < len(accounts)*len(roles) {
			account, role = accounts[i/len(roles)], roles[i%len(roles)]
		}
		r := NewRequest(people[rng.IntN(len(people))], account, role)
		r.State = drawbridge.States[rng.IntN(len(drawbridge.States))]
		r.CreatedAt = T0.Add(time.Duration(i) * time.Minute)
		all[i] = r
	}
	createAll(t, s, all)
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
		{Resource: "444444444444", CreatedFrom: T0.Add(50 * time.Minute), CreatedTo: T0.Add(130 * time.Minute)},
		{Resource: "222222222222", States: drawbridge.States},               // 10 states × 8 roles
		{Resource: "222222222222", States: drawbridge.States, Roles: roles}, // the same, scoped
		// a scope alone: one arm per account or provider
		{Resources: []string{"111111111111", "333333333333"}},
		{Resources: accounts, Roles: roles[:2]},
		{Providers: []string{"aws", "okta"}},
		{Providers: []string{"okta"}},
		{Providers: []string{"aws"}, Resources: []string{"444444444444"}, CreatedFrom: T0.Add(30 * time.Minute)},
		{States: []drawbridge.State{drawbridge.StateExpired, drawbridge.StateActive}, Resources: accounts[:3]},
		{States: []drawbridge.State{drawbridge.StateExpired}, Resources: accounts[:3], CreatedTo: T0.Add(100 * time.Minute)},
	}
	checkFullScan(t, s, all, n, filters)
}

// checkFullScan pages through each filter, with a small page and the
// largest, and compares with a plain scan of all.
func checkFullScan(t *testing.T, s Stores, all []*drawbridge.Request, n int, filters []drawbridge.RequestFilter) {
	t.Helper()
	ctx := context.Background()
	all = slices.Clone(all)
	slices.SortFunc(all, func(a, b *drawbridge.Request) int { return strings.Compare(b.ID, a.ID) })
	match := func(f drawbridge.RequestFilter, r *drawbridge.Request) bool {
		return (len(f.States) == 0 || slices.Contains(f.States, r.State)) &&
			(f.Requester == "" || r.Requester == f.Requester) &&
			(f.Provider == "" || r.Provider == f.Provider) &&
			(f.Resource == "" || r.Resource == f.Resource) && (f.Role == "" || r.Role == f.Role) &&
			(f.Providers == nil || slices.Contains(f.Providers, r.Provider)) &&
			(f.Resources == nil || slices.Contains(f.Resources, r.Resource)) &&
			(f.Roles == nil || slices.Contains(f.Roles, r.Role)) &&
			(f.CreatedFrom.IsZero() || !r.CreatedAt.Before(f.CreatedFrom)) &&
			(f.CreatedTo.IsZero() || r.CreatedAt.Before(f.CreatedTo))
	}
	for i, f := range filters {
		var want []string
		for _, r := range all {
			if match(f, r) {
				want = append(want, r.ID)
			}
		}
		for _, limit := range []int{7, drawbridge.MaxListLimit} {
			f.Limit, f.Cursor = limit, ""
			var got []string
			for page := 0; page <= n; page++ {
				rs, err := s.ListRequests(ctx, f)
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
		// The export streams the same rows; a cursor and a limit cut them.
		for _, cut := range [][2]int{{0, 0}, {3, 5}, {1, 0}} {
			f.Cursor, f.Limit = "", cut[1]
			from := min(cut[0], len(want))
			if from > 0 {
				f.Cursor = want[from-1]
			}
			to := len(want)
			if cut[1] > 0 {
				to = min(to, from+cut[1])
			}
			var got []string
			if err := s.ExportRequests(ctx, f, func(r *drawbridge.Request) error {
				got = append(got, r.ID)
				return nil
			}); err != nil {
				t.Fatalf("filter %d: export: %v", i, err)
			}
			if !slices.Equal(got, want[from:to]) {
				t.Errorf("filter %d export after %d, limit %d %+v:\n got %d %v\nwant %d %v", i, from, cut[1], f, len(got), got, to-from, want[from:to])
			}
		}
	}
}

// The export fills every field drawbridge.ExportFields names as a read of
// the request does, and stops at the first error of its callback.
func testExportRequestsFields(t *testing.T, s Stores) {
	ctx := context.Background()
	r := NewRequest("alice@example.com", "111111111111", "ReadOnlyAccess")
	r.Ticket, r.Channel, r.Decision = "OPS-1", drawbridge.ChannelSlack, drawbridge.Decision{Effect: drawbridge.EffectRequireApproval,
		Rule: "prod", PolicySHA: "abc", Reason: "needs one approval", ApprovalsRequired: 1}
	Create(t, s, r)
	r.State, r.DecidedAt = drawbridge.StateApproved, T0.Add(time.Minute)
	r.Approvals = []drawbridge.Approval{{Approver: "carol@example.com", Approved: true, At: T0.Add(time.Minute)}}
	if err := s.UpdateRequest(ctx, r, drawbridge.AuditEvent{Actor: "carol@example.com", Action: "approve"}); err != nil {
		t.Fatal(err)
	}
	r.State, r.ActivatedAt, r.ExpiresAt = drawbridge.StateActive, T0.Add(2*time.Minute), T0.Add(time.Hour)
	if err := s.UpdateRequest(ctx, r, drawbridge.AuditEvent{Actor: "drawbridge", Action: "activate"}); err != nil {
		t.Fatal(err)
	}
	r.State, r.EndedAt, r.EndReason, r.LastError = drawbridge.StateRevoked, T0.Add(30*time.Minute), "revoked by carol", "throttled once"
	if err := s.UpdateRequest(ctx, r, drawbridge.AuditEvent{Actor: "carol@example.com", Action: "revoke"}); err != nil {
		t.Fatal(err)
	}
	plain := NewRequest("bob@example.com", "222222222222", "Billing")
	Create(t, s, plain)
	want := map[string]*drawbridge.Request{}
	for _, x := range []*drawbridge.Request{r, plain} {
		got, err := s.GetRequest(ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		want[x.ID] = got
	}
	seen := 0
	if err := s.ExportRequests(ctx, drawbridge.RequestFilter{}, func(e *drawbridge.Request) error {
		seen++
		g := want[e.ID]
		if g == nil {
			t.Fatalf("export gave %s, which was not stored", e.ID)
		}
		if e.State != g.State || e.Requester != g.Requester || e.Entitlement != g.Entitlement || e.Duration != g.Duration ||
			e.Reason != g.Reason || e.Ticket != g.Ticket || e.Channel != g.Channel || e.Decision.Rule != g.Decision.Rule ||
			e.Decision.PolicySHA != g.Decision.PolicySHA || e.Decision.Reason != g.Decision.Reason ||
			!slices.EqualFunc(e.Approvals, g.Approvals, func(a, b drawbridge.Approval) bool {
				return a.Approver == b.Approver && a.Approved == b.Approved && a.At.Equal(b.At)
			}) ||
			!e.CreatedAt.Equal(g.CreatedAt) || !e.DecidedAt.Equal(g.DecidedAt) || !e.ActivatedAt.Equal(g.ActivatedAt) ||
			!e.ExpiresAt.Equal(g.ExpiresAt) || !e.EndedAt.Equal(g.EndedAt) || e.EndReason != g.EndReason || e.LastError != g.LastError {
			t.Errorf("export of %s:\n got %+v\nwant %+v", e.ID, e, g)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen != 2 {
		t.Fatalf("export gave %d requests, want 2", seen)
	}
	stop := errors.New("client went away")
	calls := 0
	err := s.ExportRequests(ctx, drawbridge.RequestFilter{}, func(*drawbridge.Request) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("export with a failing callback: %v after %d calls, want the callback's error after 1", err, calls)
	}
}

// A window of creation times is exact whatever the ids say. The store may
// read it as a range of ids (they sort like creation times), widened by
// the largest distance between an id's time and its request's creation
// it has stored; so a request whose id is far from its creation time (an
// import, a fake clock), stored after the others, must widen the range,
// and an id that carries no time at all must end the bounding.
func testListWindowsFollowIDTimes(t *testing.T, s Stores) {
	rng := rand.New(rand.NewPCG(3, 4))
	// idAt is a request id (UUIDv7 layout) whose time is ms.
	idAt := func(ms int64) string {
		return fmt.Sprintf("%s%012x%04x%016x", drawbridge.RequestIDPrefix, ms, 0x7000|rng.IntN(1<<12), rng.Uint64()&^(3<<62)|(2<<62))
	}
	accounts := []string{"111111111111", "222222222222"}
	var all []*drawbridge.Request
	add := func(rs ...*drawbridge.Request) {
		createAll(t, s.Backend, rs)
		all = append(all, rs...)
	}
	var batch []*drawbridge.Request
	for i := 0; i < 120; i++ {
		r := NewRequest("alice@example.com", accounts[i%2], "ReadOnlyAccess")
		r.State = []drawbridge.State{drawbridge.StateExpired, drawbridge.StateDenied, drawbridge.StateActive}[i%3]
		r.CreatedAt = T0.Add(time.Duration(i)*30*time.Second + time.Duration(rng.IntN(1000))*time.Millisecond)
		// as the broker makes them: the id's clock within 2 ms of CreatedAt
		r.ID = idAt(r.CreatedAt.UnixMilli() + int64(rng.IntN(5)) - 2)
		batch = append(batch, r)
	}
	add(batch...)
	edge := batch[40].CreatedAt
	windows := func() []drawbridge.RequestFilter {
		var fs []drawbridge.RequestFilter
		for _, w := range [][2]time.Time{
			{T0.Add(10 * time.Minute), T0.Add(20 * time.Minute)},
			{edge, edge.Add(time.Millisecond)}, // exactly one request's time
			{edge.Add(time.Nanosecond), edge.Add(time.Minute)},
			{edge.Add(-time.Minute), edge},
			{T0.Add(55 * time.Minute), time.Time{}},
			{time.Time{}, T0.Add(5 * time.Minute)},
			{T0.Add(time.Hour), T0.Add(2 * time.Hour)}, // past the last
		} {
			fs = append(fs,
				drawbridge.RequestFilter{CreatedFrom: w[0], CreatedTo: w[1]},
				drawbridge.RequestFilter{CreatedFrom: w[0], CreatedTo: w[1], States: []drawbridge.State{drawbridge.StateExpired}},
				drawbridge.RequestFilter{CreatedFrom: w[0], CreatedTo: w[1], States: []drawbridge.State{drawbridge.StateExpired, drawbridge.StateActive}},
				drawbridge.RequestFilter{CreatedFrom: w[0], CreatedTo: w[1], Resources: accounts[:1]},
			)
		}
		return fs
	}
	checkFullScan(t, s, all, len(all), windows())

	// Its id says an hour later than it was created, then an hour earlier.
	late := NewRequest("bob@example.com", accounts[0], "ReadOnlyAccess")
	late.CreatedAt = T0.Add(10*time.Minute + 15*time.Second)
	late.ID = idAt(late.CreatedAt.Add(time.Hour).UnixMilli())
	early := NewRequest("bob@example.com", accounts[1], "ReadOnlyAccess")
	early.CreatedAt = edge
	early.ID = idAt(edge.Add(-time.Hour).UnixMilli())
	add(late)
	add(early)
	checkFullScan(t, s, all, len(all), windows())

	// An id that carries no time.
	odd := NewRequest("bob@example.com", accounts[0], "ReadOnlyAccess")
	odd.CreatedAt = T0.Add(12 * time.Minute)
	odd.ID = "imported-1"
	add(odd)
	checkFullScan(t, s, all, len(all), windows())
}

func testDueRequestsAndNextDue(t *testing.T, s Stores) {
	ctx := context.Background()
	if _, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Fatalf("empty store: NextDue ok=%v err=%v, want none", ok, err)
	}

	at := func(m int) time.Time { return T0.Add(time.Duration(m) * time.Minute) }
	mk := func(state drawbridge.State, set func(*drawbridge.Request)) *drawbridge.Request {
		r := NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
		r.State, r.ApprovalDeadline = state, time.Time{}
		set(r)
		return Create(t, s, r)
	}
	pending := mk(drawbridge.StatePendingApproval, func(r *drawbridge.Request) { r.ApprovalDeadline = at(30) })
	active := mk(drawbridge.StateActive, func(r *drawbridge.Request) { r.ExpiresAt = at(10); r.NextAttemptAt = at(1) })
	revoking := mk(drawbridge.StateRevoking, func(r *drawbridge.Request) { r.ExpiresAt = at(5); r.NextAttemptAt = at(20) })
	approved := mk(drawbridge.StateApproved, func(r *drawbridge.Request) { r.NextAttemptAt = at(40) })
	// Two due at the same instant come in id order.
	tieA := mk(drawbridge.StateProvisioning, func(r *drawbridge.Request) { r.NextAttemptAt = at(45) })
	tieB := mk(drawbridge.StateRevoking, func(r *drawbridge.Request) { r.NextAttemptAt = at(45) })
	// Never due: terminal, or nothing scheduled.
	mk(drawbridge.StateExpired, func(r *drawbridge.Request) { r.ExpiresAt = at(2); r.ApprovalDeadline = at(2) })
	mk(drawbridge.StateProvisioning, func(r *drawbridge.Request) {})

	next, ok, err := s.NextDue(ctx)
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
		{at(60), 10, []string{active.ID, revoking.ID, pending.ID, approved.ID, tieA.ID, tieB.ID}},
		{at(60), 2, []string{active.ID, revoking.ID}},
	}
	for _, tt := range tests {
		got, err := s.DueRequests(ctx, tt.now, tt.limit)
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
	if err := s.UpdateRequest(ctx, active); err != nil {
		t.Fatal(err)
	}
	if next, _, _ := s.NextDue(ctx); !next.Equal(at(20)) {
		t.Fatalf("after update NextDue = %v, want %v", next, at(20))
	}
}
