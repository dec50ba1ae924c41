package expiry_test

import (
	"database/sql"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/examples"
	"github.com/drawbridge-jit/drawbridge/expiry"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// forge edits the store's SQLite file directly, as an attacker with write
// access to the database would, and checks that the statement hit the row.
func forge(t *testing.T, e *testenv.Env, query string, args ...any) {
	t.Helper()
	raw, err := sql.Open("sqlite", e.StorePath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	res, err := raw.Exec(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s changed %d rows, want 1", query, n)
	}
}

// mismatches records what the broker reports through OnRowMismatch.
type mismatches struct {
	mu     sync.Mutex
	fields map[string][]string
}

func watchMismatches(e *testenv.Env) *mismatches {
	m := &mismatches{fields: map[string][]string{}}
	e.Broker.OnRowMismatch = func(id string, fields []string) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.fields[id] = fields
	}
	return m
}

func (m *mismatches) of(id string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fields[id]
}

// Setting preexisting_access on an ACTIVE grant's row would make the grant
// permanent: its end keeps standing access. The chain recorded no standing
// access, so the grant is still removed at its end, and the mismatch is
// reported.
func TestForgedStandingAccessIsStillRevoked(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	seen := watchMismatches(e)
	r := e.Submit(t, alice, staging, readOnly, grant72s, "")
	if r.State != drawbridge.StateActive || r.PreexistingAccess {
		t.Fatalf("grant is %s, preexisting %v", r.State, r.PreexistingAccess)
	}
	forge(t, e, `UPDATE requests SET preexisting_access = 1 WHERE id = ?`, r.ID)

	eng := expiry.New(e.Broker, 10*time.Minute, 2)
	runEngine(t, eng)
	waitAsleep(t, e, 1)
	e.Clock.Advance(grant72s)
	got := waitState(t, e, r.ID, drawbridge.StateExpired)
	if e.HasAssignment(t, alice, staging, readOnly) {
		t.Fatal("the assignment is still present after EXPIRED: the forged preexisting_access kept it")
	}
	if got.PreexistingAccess {
		t.Error("the ended grant still claims standing access")
	}
	if f := seen.of(r.ID); !slices.Contains(f, "preexisting_access") {
		t.Errorf("mismatch reported %v, want preexisting_access", f)
	}
}

// Moving an ACTIVE grant's end later in its row (expires_at and the due
// time the engine sleeps on) does not keep the grant: it ends at the end
// the chain recorded.
func TestForgedLaterExpiryEndsAtRecordedEnd(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	seen := watchMismatches(e)
	r := e.Submit(t, alice, staging, readOnly, grant72s, "")
	if r.State != drawbridge.StateActive {
		t.Fatalf("grant is %s", r.State)
	}
	later := r.ExpiresAt.Add(8 * time.Hour).UnixNano()
	forge(t, e, `UPDATE requests SET expires_at = ?, due_at = ?, notice_at = NULL WHERE id = ?`, later, later, r.ID)

	eng := expiry.New(e.Broker, 10*time.Minute, 2)
	runEngine(t, eng)
	waitAsleep(t, e, 1)
	e.Clock.Advance(grant72s - time.Second)
	time.Sleep(20 * time.Millisecond) // give a wrongly early engine the chance to act
	if got := e.Get(t, r.ID); got.State != drawbridge.StateActive {
		t.Fatalf("%s is %s one second before its recorded end", r.ID, got.State)
	}
	e.Clock.Advance(time.Second)
	got := waitState(t, e, r.ID, drawbridge.StateExpired)
	if e.HasAssignment(t, alice, staging, readOnly) {
		t.Fatal("the assignment is still present after EXPIRED")
	}
	if want := testenv.Start.Add(grant72s); !got.ExpiresAt.Equal(want) || !got.EndedAt.Equal(want) {
		t.Errorf("expires %v, ended %v: want both at the recorded end %v", got.ExpiresAt, got.EndedAt, want)
	}
	if f := seen.of(r.ID); !slices.Contains(f, "expires_at") {
		t.Errorf("mismatch reported %v, want expires_at", f)
	}
}

// A row moved out of ACTIVE by SQL (so nothing would ever revoke it) is
// revoked at its recorded end all the same.
func TestForgedEndedStateIsStillRevoked(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	r := e.Submit(t, alice, staging, readOnly, grant72s, "")
	forge(t, e, `UPDATE requests SET state = 'EXPIRED', due_at = NULL, notice_at = NULL, ended_at = ? WHERE id = ?`,
		testenv.Start.UnixNano(), r.ID)

	eng := expiry.New(e.Broker, 10*time.Minute, 2)
	runEngine(t, eng)
	waitAsleep(t, e, 1)
	e.Clock.Advance(grant72s)
	waitFor(t, "the assignment to be removed", func() bool { return !e.HasAssignment(t, alice, staging, readOnly) })
	got := waitState(t, e, r.ID, drawbridge.StateExpired)
	if acts := e.Actions(t, r.ID); !slices.Contains(acts, string(drawbridge.EventConfirmExpired)) {
		t.Errorf("actions %v: the removal was not recorded", acts)
	}
	if !got.EndedAt.Equal(testenv.Start.Add(grant72s)) {
		t.Errorf("ended %v, want the recorded end", got.EndedAt)
	}
}

// Revoking a grant whose row claims standing access the chain does not
// record deletes the assignment.
func TestRevokeIgnoresUnrecordedStandingAccess(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	forge(t, e, `UPDATE requests SET preexisting_access = 1 WHERE id = ?`, r.ID)
	got, err := e.Broker.Revoke(e.Ctx, r.ID, "done", drawbridge.Caller{Principal: alice})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != drawbridge.StateRevoked || e.HasAssignment(t, alice, staging, readOnly) {
		t.Fatalf("revoke left %s with the assignment present %v", got.State, e.HasAssignment(t, alice, staging, readOnly))
	}
}

// An approval written into a pending request's row by SQL does not count
// toward the quorum: the approval that follows is checked against the
// approvals the chain recorded.
func TestForgedApprovalDoesNotCount(t *testing.T) {
	pol, err := examples.FS.ReadFile("access_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	two := strings.Replace(string(pol), `approvers: ["group:sre-leads"], count: 1`, `approvers: ["group:sre-leads"], count: 2`, 1)
	if two == string(pol) {
		t.Fatal("the example policy's prod-admin approval changed: update this test")
	}
	e := testenv.New(t, testenv.Options{Policy: two})
	r := e.Submit(t, alice, prod, "AdministratorAccess", time.Hour, "INC-1")
	if r.State != drawbridge.StatePendingApproval || r.Decision.ApprovalsRequired != 2 {
		t.Fatalf("request is %s needing %d approvals", r.State, r.Decision.ApprovalsRequired)
	}
	forge(t, e, `UPDATE requests SET approvals = ? WHERE id = ?`,
		`[{"approver":"bob@example.com","approved":true,"at":"`+testenv.Start.Format(time.RFC3339Nano)+`"}]`, r.ID)
	if got := e.Get(t, r.ID); got.DistinctApprovers() != 1 {
		t.Fatalf("the forged approval did not land: %d approvers", got.DistinctApprovers())
	}
	got, err := e.Broker.Approve(e.Ctx, r.ID, testenv.Carol, "ok", drawbridge.Caller{Principal: testenv.Carol})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != drawbridge.StatePendingApproval || e.HasAssignment(t, alice, prod, "AdministratorAccess") {
		t.Fatalf("one real approval and one forged one made the request %s", got.State)
	}
	if n := got.DistinctApprovers(); n != 1 {
		t.Errorf("%d approvers counted, want carol alone", n)
	}
}
