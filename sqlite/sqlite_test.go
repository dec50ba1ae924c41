package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))

func openDB(t testing.TB) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "drawbridge.db")
	db, err := sqlite.Open(context.Background(), path, sqlite.WithNow(func() time.Time { return t0 }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// openTwice opens two stores on one file, as `serve` and a CLI command in
// another process do.
func openTwice(t testing.TB) (*sqlite.DB, *sqlite.DB) {
	t.Helper()
	first, path := openDB(t)
	second, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	return first, second
}

// rawDB opens the store's file directly, as an attacker with file access
// (or a test) would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// newRequest returns a pending request with the fields the store requires.
func newRequest(requester, resource, role string) *drawbridge.Request {
	return &drawbridge.Request{
		ID:               drawbridge.NewRequestID(),
		Requester:        requester,
		Entitlement:      drawbridge.Entitlement{Provider: "aws", Resource: resource, Role: role},
		Duration:         time.Hour,
		Reason:           "deploy",
		Channel:          drawbridge.ChannelCLI,
		State:            drawbridge.StatePendingApproval,
		CreatedAt:        t0,
		ApprovalDeadline: t0.Add(4 * time.Hour),
	}
}

func create(t testing.TB, db *sqlite.DB, r *drawbridge.Request) *drawbridge.Request {
	t.Helper()
	ev := drawbridge.AuditEvent{Actor: r.Requester, Action: "submit", Details: map[string]string{"state": string(r.State)}}
	if err := db.CreateRequest(context.Background(), r, ev); err != nil {
		t.Fatal(err)
	}
	return r
}

func verify(t *testing.T, db *sqlite.DB) audit.Result {
	t.Helper()
	res, err := audit.Verify(context.Background(), db.ScanAudit)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func mustCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := drawbridge.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

// utc is r as the store returns it: times in UTC, without monotonic
// readings.
func utc(r *drawbridge.Request) *drawbridge.Request {
	c := r.Clone()
	for _, p := range []*time.Time{&c.CreatedAt, &c.DecidedAt, &c.ApprovalDeadline, &c.ActivatedAt, &c.ExpiresAt, &c.EndedAt, &c.NextAttemptAt} {
		if !p.IsZero() {
			*p = p.UTC()
		}
	}
	for i := range c.Approvals {
		c.Approvals[i].At = c.Approvals[i].At.UTC()
	}
	return c
}

func TestRequestRoundTripsEveryField(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)

	parent := create(t, db, newRequest("bob@example.com", "123456789012", "ReadOnlyAccess"))
	full := &drawbridge.Request{
		ID:          drawbridge.NewRequestID(),
		Requester:   "alice@example.com",
		Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "AdministratorAccess"},
		Duration:    90*time.Minute + 7*time.Nanosecond,
		Reason:      "incident 'INC-1'; DROP TABLE requests; --",
		Ticket:      "INC-42",
		Channel:     drawbridge.ChannelSlack,
		State:       drawbridge.StateRevoking,
		Decision: drawbridge.Decision{
			Effect: drawbridge.EffectRequireApproval, Rule: "prod-admin", PolicySHA: "ab12",
			Reason: "rule prod-admin", ApprovalsRequired: 2, ApprovalTimeout: 4 * time.Hour,
		},
		Approvals: []drawbridge.Approval{
			{Approver: "carol@example.com", Approved: true, Comment: "ok", At: t0.Add(time.Minute)},
			{Approver: "dave@example.com", Approved: true, At: t0.Add(2 * time.Minute), By: "admin@example.com"},
		},
		Extends:           parent.ID,
		CreatedAt:         t0,
		DecidedAt:         t0.Add(time.Second),
		ApprovalDeadline:  t0.Add(4 * time.Hour),
		ActivatedAt:       t0.Add(3 * time.Minute),
		ExpiresAt:         t0.Add(93 * time.Minute),
		EndedAt:           t0.Add(94 * time.Minute),
		NextAttemptAt:     t0.Add(95 * time.Minute),
		ProviderRef:       "9067b2a4-user",
		PreexistingAccess: true,
		RevokeAttempts:    3,
		LastError:         "aws: ThrottlingException",
		EndReason:         "expired",
		RevokedBy:         "janitor",
	}
	minimal := &drawbridge.Request{
		ID: drawbridge.NewRequestID(), Requester: "erin@example.com", State: drawbridge.StateDenied, CreatedAt: t0,
	}
	for _, r := range []*drawbridge.Request{full, minimal} {
		in := r.Clone()
		create(t, db, r)
		if r.Version != 1 {
			t.Fatalf("Version after create = %d, want 1", r.Version)
		}
		got, err := db.GetRequest(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := utc(in)
		want.Version = 1
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, want)
		}
		for _, tm := range []time.Time{got.DecidedAt, got.ActivatedAt, got.ExpiresAt, got.EndedAt, got.NextAttemptAt} {
			if r == minimal && !tm.IsZero() {
				t.Fatalf("zero time came back as %v", tm)
			}
		}
	}

	// An update round-trips too and bumps the version.
	full.State = drawbridge.StateExpired
	full.NextAttemptAt = time.Time{}
	full.Approvals = nil
	in := full.Clone()
	if err := db.UpdateRequest(ctx, full, drawbridge.AuditEvent{Actor: "janitor", Action: "confirm_expired"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetRequest(ctx, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := utc(in)
	want.Version = 2
	if full.Version != 2 || !reflect.DeepEqual(got, want) {
		t.Fatalf("after update:\n got %+v\nwant %+v", got, want)
	}
}

func TestCreateRequestChecks(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	r := create(t, db, newRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))

	dup := newRequest("mallory@example.com", "123456789012", "AdministratorAccess")
	dup.ID = r.ID
	mustCode(t, db.CreateRequest(ctx, dup), drawbridge.ECONFLICT)

	bad := newRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	bad.State = drawbridge.StateNew
	mustCode(t, db.CreateRequest(ctx, bad), drawbridge.EINVALID)

	bad = newRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	bad.CreatedAt = time.Time{}
	mustCode(t, db.CreateRequest(ctx, bad), drawbridge.EINVALID)

	bad = newRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	bad.ExpiresAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	mustCode(t, db.CreateRequest(ctx, bad), drawbridge.EINVALID)

	bad = newRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	bad.Extends = drawbridge.NewRequestID()
	mustCode(t, db.CreateRequest(ctx, bad), drawbridge.EINVALID)

	// A rejected create writes no audit event.
	if evs, err := db.RequestEvents(ctx, r.ID); err != nil || len(evs) != 1 {
		t.Fatalf("events of %s: %d, %v; want only its submit event", r.ID, len(evs), err)
	}
	if res := verify(t, db); !res.OK || res.Events != 1 {
		t.Fatalf("chain: %+v", res)
	}
}

func TestGetRequestNotFound(t *testing.T) {
	db, _ := openDB(t)
	id := drawbridge.NewRequestID()
	_, err := db.GetRequest(context.Background(), id)
	mustCode(t, err, drawbridge.ENOTFOUND)
	if msg := drawbridge.ErrorMessage(err); msg != "request "+id+" not found" {
		t.Fatalf("message = %q", msg)
	}
	r := newRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	r.Version = 1
	mustCode(t, db.UpdateRequest(context.Background(), r), drawbridge.ENOTFOUND)
}

func TestUpdateFromStaleVersionConflicts(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	r := create(t, db, newRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))

	a, _ := db.GetRequest(ctx, r.ID)
	b, _ := db.GetRequest(ctx, r.ID)
	a.State = drawbridge.StateApproved
	if err := db.UpdateRequest(ctx, a, drawbridge.AuditEvent{Actor: "carol@example.com", Action: "approve"}); err != nil {
		t.Fatal(err)
	}
	b.State = drawbridge.StateDenied
	err := db.UpdateRequest(ctx, b, drawbridge.AuditEvent{Actor: "dave@example.com", Action: "deny"})
	mustCode(t, err, drawbridge.ECONFLICT)
	if !drawbridge.IsStale(err) {
		t.Fatalf("lost race is not a stale error: %v", err)
	}
	want := "request " + r.ID + " was changed by someone else (version 1 is stale); reload and retry"
	if drawbridge.ErrorMessage(err) != want {
		t.Fatalf("message = %q, want %q", drawbridge.ErrorMessage(err), want)
	}
	if b.Version != 1 {
		t.Fatalf("loser's version changed to %d", b.Version)
	}

	got, _ := db.GetRequest(ctx, r.ID)
	if got.State != drawbridge.StateApproved || got.Version != 2 {
		t.Fatalf("stored %s v%d, want APPROVED v2", got.State, got.Version)
	}
	evs, err := db.RequestEvents(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Action != "submit" || evs[1].Action != "approve" || evs[1].Actor != "carol@example.com" {
		t.Fatalf("events = %+v, want submit then the winner's approve only", evs)
	}
	if res := verify(t, db); !res.OK || res.Events != 2 {
		t.Fatalf("chain: %+v", res)
	}
}

func TestRacingUpdatesExactlyOneWins(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	const rounds = 20
	for i := range rounds {
		r := create(t, db, newRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine, err := db.GetRequest(ctx, r.ID)
				if err != nil {
					errs[g] = err
					return
				}
				// Both start from version 1, as two approvers clicking at once.
				mine.Version = 1
				mine.State = drawbridge.StateApproved
				errs[g] = db.UpdateRequest(ctx, mine, drawbridge.AuditEvent{Actor: "approver", Action: "approve", Details: map[string]string{"g": string(rune('0' + g))}})
			}()
		}
		wg.Wait()
		won, lost := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case drawbridge.IsStale(err):
				lost++
			default:
				t.Fatalf("round %d: unexpected error %v", i, err)
			}
		}
		if won != 1 || lost != 1 {
			t.Fatalf("round %d: %d won, %d lost; want exactly one each", i, won, lost)
		}
		if evs, _ := db.RequestEvents(ctx, r.ID); len(evs) != 2 {
			t.Fatalf("round %d: %d events, want submit + one approve", i, len(evs))
		}
	}
	if res := verify(t, db); !res.OK || res.Events != 2*rounds {
		t.Fatalf("chain: %+v", res)
	}
}

// Two stores on one file stand for the server and a CLI: their writes
// serialise on SQLite's lock (IMMEDIATE transactions, busy timeout) and
// the chain stays one chain.
func TestTwoStoresOnOneFileShareTheChain(t *testing.T) {
	ctx := context.Background()
	db1, db2 := openTwice(t)

	const perStore = 50
	var wg sync.WaitGroup
	errs := make(chan error, 4*perStore)
	for _, db := range []*sqlite.DB{db1, db2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perStore {
				r := newRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
				if err := db.CreateRequest(ctx, r, drawbridge.AuditEvent{Action: "submit"}); err != nil {
					errs <- err
				}
				// AppendAudit reads the chain head before it writes: the
				// case a DEFERRED transaction cannot upgrade under
				// contention.
				if err := db.AppendAudit(ctx, drawbridge.AuditEvent{Action: "note"}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, db := range []*sqlite.DB{db1, db2} {
		if res := verify(t, db); !res.OK || res.Events != 4*perStore {
			t.Fatalf("chain: %+v", res)
		}
	}
}

func TestOpenIsIdempotentAndConcurrent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "d.db")

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := sqlite.Open(ctx, path)
			if err == nil {
				err = db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r := create(t, db, newRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	db.Close()

	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if _, err := db.GetRequest(ctx, r.ID); err != nil {
		t.Fatalf("data lost on reopen: %v", err)
	}
	var dups int
	if err := rawDB(t, path).QueryRow(`SELECT count(*) FROM (SELECT version_id FROM goose_db_version
		GROUP BY version_id HAVING count(*) > 1)`).Scan(&dups); err != nil {
		t.Fatal(err)
	}
	if dups != 0 {
		t.Fatalf("%d migrations recorded more than once", dups)
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	_, err := sqlite.Open(context.Background(), ":memory:")
	mustCode(t, err, drawbridge.EINVALID)
}

func TestOpenPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?name#1%.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	create(t, db, newRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	if db.Path() != path {
		t.Fatalf("Path() = %q, want %q", db.Path(), path)
	}
}

func TestScanAuditStopsOnCallerError(t *testing.T) {
	db, _ := openDB(t)
	for range 3 {
		create(t, db, newRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	}
	stop := errors.New("enough")
	n := 0
	err := db.ScanAudit(context.Background(), func(ev drawbridge.AuditEvent) error {
		n++
		if ev.Seq != int64(n) {
			t.Fatalf("event %d has seq %d", n, ev.Seq)
		}
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("scan returned %v after %d events, want the caller's error after 2", err, n)
	}
}

func TestAppendAudit(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	r := create(t, db, newRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	at := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	err := db.AppendAudit(ctx,
		drawbridge.AuditEvent{Actor: "expiry", Action: drawbridge.ActionRevokeAttemptFailed, RequestID: r.ID, Time: at,
			Details: map[string]string{"error": "aws: ThrottlingException"}},
		drawbridge.AuditEvent{Actor: "mallory@example.com", Action: "login_denied"},
	)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := db.RequestEvents(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("got %d events for the request, want 2", len(evs))
	}
	got := evs[1]
	if got.Seq != 2 || !got.Time.Equal(at) || got.Details["error"] != "aws: ThrottlingException" || got.PrevHash != evs[0].Hash {
		t.Fatalf("appended event = %+v", got)
	}
	if evs[0].RequestID != r.ID || !evs[0].Time.Equal(t0) {
		t.Fatalf("create's event: request id %q, time %v; want the request's id and the clock's time", evs[0].RequestID, evs[0].Time)
	}
	if res := verify(t, db); !res.OK || res.Events != 3 {
		t.Fatalf("chain: %+v", res)
	}
}
