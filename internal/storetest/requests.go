package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// utc is r as a store returns it: times in UTC, without monotonic
// readings.
func utc(r *drawbridge.Request) *drawbridge.Request {
	c := r.Clone()
	for _, p := range []*time.Time{&c.CreatedAt, &c.DecidedAt, &c.ApprovalDeadline, &c.ActivatedAt, &c.ExpiresAt,
		&c.EndedAt, &c.NextAttemptAt, &c.ProvisionStartedAt, &c.NoticeAt} {
		if !p.IsZero() {
			*p = p.UTC()
		}
	}
	for i := range c.Approvals {
		c.Approvals[i].At = c.Approvals[i].At.UTC()
	}
	return c
}

// zeroFields names the fields of v (a struct, embedded structs included)
// that hold their zero value.
func zeroFields(v reflect.Value, prefix string) []string {
	var out []string
	for i := range v.NumField() {
		f, name := v.Field(i), prefix+v.Type().Field(i).Name
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeFor[time.Time]() {
			out = append(out, zeroFields(f, name+".")...)
		} else if f.IsZero() {
			out = append(out, name)
		}
	}
	return out
}

func testRequestRoundTripsEveryField(t *testing.T, s Stores) {
	ctx := context.Background()
	parent := Create(t, s, NewRequest("bob@example.com", "123456789012", "ReadOnlyAccess"))
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
			{Approver: "carol@example.com", Approved: true, Comment: "ok", At: T0.Add(time.Minute)},
			{Approver: "dave@example.com", Approved: true, At: T0.Add(2 * time.Minute), By: "admin@example.com"},
		},
		Extends:            parent.ID,
		CreatedAt:          T0,
		DecidedAt:          T0.Add(time.Second),
		ApprovalDeadline:   T0.Add(4 * time.Hour),
		ActivatedAt:        T0.Add(3 * time.Minute),
		ExpiresAt:          T0.Add(93 * time.Minute),
		EndedAt:            T0.Add(94 * time.Minute),
		NextAttemptAt:      T0.Add(95 * time.Minute),
		PrincipalRef:       "9067b2a4-user",
		GrantRef:           "creation-request-7c1e",
		NoticeAt:           T0.Add(83 * time.Minute),
		ProvisionStartedAt: T0.Add(2*time.Minute + 30*time.Second),
		AssignmentFound:    true,
		PreexistingAccess:  true,
		DeletesAssignment:  true,
		RevokeAttempts:     3,
		ProvisionAttempts:  2,
		LastError:          "aws: ThrottlingException",
		EndReason:          "expired",
		RevokedBy:          "janitor",
	}
	// A field added to Request must be added above, so that this test
	// proves every store keeps it.
	if zero := zeroFields(reflect.ValueOf(*full), ""); !reflect.DeepEqual(zero, []string{"Version"}) {
		t.Fatalf("the full request leaves %v unset: give every field a value", zero)
	}
	minimal := &drawbridge.Request{
		ID: drawbridge.NewRequestID(), Requester: "erin@example.com", State: drawbridge.StateDenied, CreatedAt: T0,
	}
	for _, r := range []*drawbridge.Request{full, minimal} {
		in := r.Clone()
		Create(t, s, r)
		if r.Version != 1 {
			t.Fatalf("Version after create = %d, want 1", r.Version)
		}
		got, err := s.GetRequest(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := utc(in)
		want.Version = 1
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, want)
		}
		for _, tm := range []time.Time{got.DecidedAt, got.ActivatedAt, got.ExpiresAt, got.EndedAt, got.NextAttemptAt, got.ProvisionStartedAt, got.NoticeAt} {
			if r == minimal && !tm.IsZero() {
				t.Fatalf("zero time came back as %v", tm)
			}
		}
	}

	// An update round-trips too and bumps the version.
	full.State = drawbridge.StateExpired
	full.NextAttemptAt = time.Time{}
	full.Approvals = nil
	full.AssignmentFound = false
	in := full.Clone()
	if err := s.UpdateRequest(ctx, full, drawbridge.AuditEvent{Actor: "janitor", Action: "confirm_expired"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRequest(ctx, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := utc(in)
	want.Version = 2
	if full.Version != 2 || !reflect.DeepEqual(got, want) {
		t.Fatalf("after update:\n got %+v\nwant %+v", got, want)
	}
}

func testCreateRequestChecks(t *testing.T, s Stores) {
	ctx := context.Background()
	r := Create(t, s, NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))

	dup := NewRequest("mallory@example.com", "123456789012", "AdministratorAccess")
	dup.ID = r.ID
	mustCode(t, s.CreateRequest(ctx, dup), drawbridge.ECONFLICT)

	bad := NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	bad.State = drawbridge.StateNew
	mustCode(t, s.CreateRequest(ctx, bad), drawbridge.EINVALID)

	bad = NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	bad.CreatedAt = time.Time{}
	mustCode(t, s.CreateRequest(ctx, bad), drawbridge.EINVALID)

	bad = NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	bad.ExpiresAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	mustCode(t, s.CreateRequest(ctx, bad), drawbridge.EINVALID)

	bad = NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	bad.Extends = drawbridge.NewRequestID()
	mustCode(t, s.CreateRequest(ctx, bad), drawbridge.EINVALID)

	// A request and its events are one write: an event the store refuses
	// takes the request with it, and an update with one changes nothing.
	badEvent := drawbridge.AuditEvent{Action: "submit", Time: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}
	lost := NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	mustCode(t, s.CreateRequest(ctx, lost, badEvent), drawbridge.EINVALID)
	if _, err := s.GetRequest(ctx, lost.ID); drawbridge.ErrorCode(err) != drawbridge.ENOTFOUND {
		t.Fatalf("a create whose event was refused stored the request: %v", err)
	}
	moved := r.Clone()
	moved.State = drawbridge.StateApproved
	mustCode(t, s.UpdateRequest(ctx, moved, badEvent), drawbridge.EINVALID)
	if got, _ := s.GetRequest(ctx, r.ID); got.State != drawbridge.StatePendingApproval || got.Version != 1 {
		t.Fatalf("an update whose event was refused wrote %s v%d", got.State, got.Version)
	}

	// A rejected write records no audit event.
	if evs, err := s.RequestEvents(ctx, r.ID); err != nil || len(evs) != 1 {
		t.Fatalf("events of %s: %d, %v; want only its submit event", r.ID, len(evs), err)
	}
	if res := Verify(t, s); !res.OK || res.Events != 1 {
		t.Fatalf("chain: %+v", res)
	}
}

func testGetRequestNotFound(t *testing.T, s Stores) {
	id := drawbridge.NewRequestID()
	_, err := s.GetRequest(context.Background(), id)
	mustCode(t, err, drawbridge.ENOTFOUND)
	if msg := drawbridge.ErrorMessage(err); msg != "request "+id+" not found" {
		t.Fatalf("message = %q", msg)
	}
	r := NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	r.Version = 1
	mustCode(t, s.UpdateRequest(context.Background(), r), drawbridge.ENOTFOUND)
}

func testUpdateFromStaleVersionConflicts(t *testing.T, s Stores) {
	ctx := context.Background()
	r := Create(t, s, NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))

	a, _ := s.GetRequest(ctx, r.ID)
	b, _ := s.GetRequest(ctx, r.ID)
	a.State = drawbridge.StateApproved
	if err := s.UpdateRequest(ctx, a, drawbridge.AuditEvent{Actor: "carol@example.com", Action: "approve"}); err != nil {
		t.Fatal(err)
	}
	b.State = drawbridge.StateDenied
	err := s.UpdateRequest(ctx, b, drawbridge.AuditEvent{Actor: "dave@example.com", Action: "deny"})
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

	got, _ := s.GetRequest(ctx, r.ID)
	if got.State != drawbridge.StateApproved || got.Version != 2 {
		t.Fatalf("stored %s v%d, want APPROVED v2", got.State, got.Version)
	}
	evs, err := s.RequestEvents(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Action != "submit" || evs[1].Action != "approve" || evs[1].Actor != "carol@example.com" {
		t.Fatalf("events = %+v, want submit then the winner's approve only", evs)
	}
	if res := Verify(t, s); !res.OK || res.Events != 2 {
		t.Fatalf("chain: %+v", res)
	}
}

// Two approvers clicking at once, through one handle in even rounds and
// through two (two processes or replicas) in odd ones: exactly one update
// wins, the other is stale and records nothing.
func testRacingUpdatesExactlyOneWins(t *testing.T, s Stores) {
	ctx := context.Background()
	handles := []drawbridge.Store{s, s.Reopen(t)}
	const rounds = 20
	for i := range rounds {
		r := Create(t, s, NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for g := range 2 {
			h := handles[g*(i%2)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine, err := h.GetRequest(ctx, r.ID)
				if err != nil {
					errs[g] = err
					return
				}
				// Both start from version 1.
				mine.Version = 1
				mine.State = drawbridge.StateApproved
				errs[g] = h.UpdateRequest(ctx, mine, drawbridge.AuditEvent{Actor: "approver", Action: "approve", Details: map[string]string{"g": string(rune('0' + g))}})
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
		if evs, _ := s.RequestEvents(ctx, r.ID); len(evs) != 2 {
			t.Fatalf("round %d: %d events, want submit + one approve", i, len(evs))
		}
	}
	if res := Verify(t, s); !res.OK || res.Events != 2*rounds {
		t.Fatalf("chain: %+v", res)
	}
}

// Concurrent writers stay separate transactions: a writer that fails (a
// duplicate id; an event refused after its request was written) or whose
// caller gave up before it ran leaves no trace, and everyone else's writes
// and audit events land, with the chain intact.
func testConcurrentWritersAreIsolated(t *testing.T, s Stores) {
	ctx := context.Background()
	dup := Create(t, s, NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	gone, cancel := context.WithCancel(ctx)
	cancel()

	const n = 60
	var wg sync.WaitGroup
	errs := make([]error, n)
	reqs := make([]*drawbridge.Request, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := NewRequest("bob@example.com", "123456789012", "ReadOnlyAccess")
			c := ctx
			ev := drawbridge.AuditEvent{Actor: "bob@example.com", Action: "submit"}
			switch i % 6 {
			case 1:
				r.ID = dup.ID // duplicate: ECONFLICT
			case 2:
				c = gone // the caller gave up
			case 3:
				ev.Time = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) // EINVALID
			}
			reqs[i] = r
			errs[i] = s.CreateRequest(c, r, ev)
		}()
	}
	wg.Wait()
	want := 0
	for i, err := range errs {
		switch i % 6 {
		case 1:
			if drawbridge.ErrorCode(err) != drawbridge.ECONFLICT {
				t.Errorf("duplicate %d: %v, want ECONFLICT", i, err)
			}
		case 3:
			_, gerr := s.GetRequest(ctx, reqs[i].ID)
			if drawbridge.ErrorCode(err) != drawbridge.EINVALID || drawbridge.ErrorCode(gerr) != drawbridge.ENOTFOUND {
				t.Errorf("writer %d with a refused event: %v, and reading its request: %v; want EINVALID and nothing stored", i, err, gerr)
			}
		case 2:
			_, gerr := s.GetRequest(ctx, reqs[i].ID)
			switch {
			case err == nil && gerr != nil:
				t.Errorf("cancelled writer %d reported success but wrote nothing", i)
			case err != nil && gerr == nil:
				t.Errorf("cancelled writer %d reported %v but its request was written", i, err)
			case err == nil:
				want++
			}
		default:
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
				continue
			}
			want++
			if _, err := s.GetRequest(ctx, reqs[i].ID); err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}
	}
	all, err := s.ListRequests(ctx, drawbridge.RequestFilter{Requester: "bob@example.com", Limit: drawbridge.MaxListLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != want {
		t.Errorf("%d requests stored, want %d", len(all), want)
	}
	res := Verify(t, s)
	if !res.OK {
		t.Fatalf("audit chain: %+v", res)
	}
	if res.Events != int64(want+1) {
		t.Errorf("%d audit events, want %d (one per stored request)", res.Events, want+1)
	}
}

// Two handles stand for the server and a CLI (or two replicas): their
// writes serialise and the chain stays one chain, seen alike from both.
func testTwoHandlesShareTheChain(t *testing.T, s Stores) {
	ctx := context.Background()
	const perHandle = 50
	var wg sync.WaitGroup
	errs := make(chan error, 4*perHandle)
	handles := []drawbridge.Store{s, s.Reopen(t)}
	for _, h := range handles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perHandle {
				r := NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
				if err := h.CreateRequest(ctx, r, drawbridge.AuditEvent{Action: "submit"}); err != nil {
					errs <- err
				}
				// AppendAudit reads the chain head before it writes: the
				// case a transaction that does not exclude other writers
				// from the start gets wrong.
				if err := h.AppendAudit(ctx, drawbridge.AuditEvent{Action: "note"}); err != nil {
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
	for _, h := range handles {
		if res := Verify(t, h); !res.OK || res.Events != 4*perHandle {
			t.Fatalf("chain: %+v", res)
		}
	}
}
