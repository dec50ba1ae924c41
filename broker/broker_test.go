package broker_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

const (
	alice, bob, carol, dave = testenv.Alice, testenv.Bob, testenv.Carol, testenv.Dave
	staging, prod           = testenv.Staging, testenv.Prod
	readOnly, admin, power  = "ReadOnlyAccess", "AdministratorAccess", "PowerUserAccess"
)

var op = testenv.Operator

func wantState(t *testing.T, r *drawbridge.Request, s drawbridge.State) {
	t.Helper()
	if r.State != s {
		t.Fatalf("%s is %s, want %s (decision %q, last error %q, end reason %q)", r.ID, r.State, s, r.Decision.Reason, r.LastError, r.EndReason)
	}
}

func wantCode(t *testing.T, err error, code string, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if got := drawbridge.ErrorCode(err); got != code {
		t.Fatalf("error code %q, want %q: %v", got, code, err)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q does not mention %q", err, contains)
	}
}

func TestAllowProvisionsAtOnce(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	r := e.Submit(t, "U12345678", staging, readOnly, time.Hour, "")
	wantState(t, r, drawbridge.StateActive)
	if r.Requester != alice || r.Decision.Rule != "readonly-self-service" || r.Decision.PolicySHA != e.Broker.Policy().SHA256() {
		t.Errorf("requester %q rule %q sha %q", r.Requester, r.Decision.Rule, r.Decision.PolicySHA)
	}
	if !r.ExpiresAt.Equal(testenv.Start.Add(time.Hour)) || !r.ActivatedAt.Equal(testenv.Start) {
		t.Errorf("activated %v expires %v, want %v and +1h", r.ActivatedAt, r.ExpiresAt, testenv.Start)
	}
	if !e.HasAssignment(t, alice, staging, readOnly) {
		t.Error("assignment missing in Identity Center")
	}
	stored := e.Get(t, r.ID)
	wantState(t, stored, drawbridge.StateActive)
	if got, want := strings.Join(e.Actions(t, r.ID), ","), "submit,allow,provision,activate"; got != want {
		t.Errorf("audit actions %s, want %s", got, want)
	}
}

func TestDeniedRequestsAreRecorded(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	for _, tc := range []struct {
		name, who, account, role string
		d                        time.Duration
		ticket, rule, reason     string
	}{
		{"no matching rule", dave, staging, readOnly, time.Hour, "", "", "no matching rule"},
		{"deny rule", dave, prod, admin, time.Hour, "INC-1", "no-contractor-admin", ""},
		{"max_duration exceeded, not clamped", alice, prod, readOnly, 9 * time.Hour, "", "readonly-self-service", "max_duration"},
		{"ticket required", alice, prod, admin, time.Hour, "", "prod-admin", "requires a ticket"},
		{"malformed ticket", alice, prod, admin, time.Hour, "JIRA-1", "prod-admin", "does not match"},
		{"approval rule longer than max", carol, prod, admin, 3 * time.Hour, "INC-9", "prod-admin", "max_duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Submit(t, tc.who, tc.account, tc.role, tc.d, tc.ticket)
			wantState(t, r, drawbridge.StateDenied)
			stored := e.Get(t, r.ID)
			wantState(t, stored, drawbridge.StateDenied)
			if stored.Decision.Rule != tc.rule || !strings.Contains(stored.Decision.Reason, tc.reason) {
				t.Errorf("decision rule %q reason %q, want rule %q reason containing %q", stored.Decision.Rule, stored.Decision.Reason, tc.rule, tc.reason)
			}
			if stored.EndedAt.IsZero() || stored.Duration != tc.d {
				t.Errorf("ended_at %v duration %v", stored.EndedAt, stored.Duration)
			}
			if got := strings.Join(e.Actions(t, r.ID), ","); got != "submit,deny" {
				t.Errorf("audit actions %s, want submit,deny", got)
			}
		})
	}
	if n := e.Emu.Calls(emulator.OpCreateAccountAssignment); n != 0 {
		t.Errorf("%d CreateAccountAssignment calls for denied requests", n)
	}
}

func TestSubmitValidation(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	for _, tc := range []struct {
		name string
		in   broker.SubmitInput
		code string
		msg  string
	}{
		{"zero duration", broker.SubmitInput{Requester: alice, Entitlement: drawbridge.Entitlement{Resource: staging, Role: readOnly}}, drawbridge.EINVALID, "positive"},
		{"negative duration", broker.SubmitInput{Requester: alice, Entitlement: drawbridge.Entitlement{Resource: staging, Role: readOnly}, Duration: -time.Hour}, drawbridge.EINVALID, "positive"},
		{"malformed account", broker.SubmitInput{Requester: alice, Entitlement: drawbridge.Entitlement{Resource: "12345", Role: readOnly}, Duration: time.Hour}, drawbridge.EINVALID, "12 digits"},
		{"unknown account", broker.SubmitInput{Requester: alice, Entitlement: drawbridge.Entitlement{Resource: "999999999999", Role: readOnly}, Duration: time.Hour}, drawbridge.EINVALID, "123456789012 (staging)"},
		{"unknown permission set", broker.SubmitInput{Requester: alice, Entitlement: drawbridge.Entitlement{Resource: staging, Role: "readonlyaccess"}, Duration: time.Hour}, drawbridge.EINVALID, "ReadOnlyAccess"},
		{"unknown person", broker.SubmitInput{Requester: "mallory@example.com", Entitlement: drawbridge.Entitlement{Resource: staging, Role: readOnly}, Duration: time.Hour}, drawbridge.EINVALID, `unknown person "mallory@example.com"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Broker.Submit(e.Ctx, tc.in, op)
			wantCode(t, err, tc.code, tc.msg)
		})
	}
	rs, err := e.Store.ListRequests(e.Ctx, drawbridge.RequestFilter{Limit: 10})
	if err != nil || len(rs) != 0 {
		t.Errorf("invalid submissions were written: %d requests, %v", len(rs), err)
	}
	// A non-admin actor cannot submit for someone else.
	_, err = e.Broker.Submit(e.Ctx, broker.SubmitInput{Requester: alice,
		Entitlement: drawbridge.Entitlement{Resource: staging, Role: readOnly}, Duration: time.Hour},
		drawbridge.Caller{Principal: bob, Channel: drawbridge.ChannelAPI})
	wantCode(t, err, drawbridge.EFORBIDDEN, "on behalf of")
	// A throwaway request so the cleanup's audit check has a chain to verify.
	e.Submit(t, alice, staging, readOnly, time.Hour, "")
}

func pendingAdmin(t *testing.T, e *testenv.Env, who string) *drawbridge.Request {
	t.Helper()
	r := e.Submit(t, who, prod, admin, time.Hour, "INC-12345")
	wantState(t, r, drawbridge.StatePendingApproval)
	return r
}

func TestRequireApprovalIsPending(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	r := pendingAdmin(t, e, alice)
	if r.Decision.Rule != "prod-admin" || r.Decision.ApprovalsRequired != 1 {
		t.Errorf("rule %q approvals required %d", r.Decision.Rule, r.Decision.ApprovalsRequired)
	}
	if want := testenv.Start.Add(4 * time.Hour); !r.ApprovalDeadline.Equal(want) {
		t.Errorf("approval deadline %v, want %v", r.ApprovalDeadline, want)
	}
	if e.HasAssignment(t, alice, prod, admin) || e.Emu.Calls(emulator.OpCreateAccountAssignment) != 0 {
		t.Error("a pending request was provisioned")
	}
}

func TestSelfApprovalRefused(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	// Bob is an SRE lead, so only the self-approval rule stops him.
	r := e.Submit(t, bob, prod, power, 30*time.Minute, "CHG-7")
	wantState(t, r, drawbridge.StatePendingApproval)
	for _, as := range []string{bob, "BOB@Example.com", "U23456789", "slack:U23456789"} {
		_, err := e.Broker.Approve(e.Ctx, r.ID, as, "", op)
		wantCode(t, err, drawbridge.EFORBIDDEN, "own request")
		_, err = e.Broker.Approve(e.Ctx, r.ID, as, "", drawbridge.Caller{Principal: bob, Channel: drawbridge.ChannelAPI})
		wantCode(t, err, drawbridge.EFORBIDDEN, "own request")
	}
	wantState(t, e.Get(t, r.ID), drawbridge.StatePendingApproval)
	if n := len(e.Get(t, r.ID).Approvals); n != 0 {
		t.Errorf("%d approvals recorded", n)
	}
}

func TestNonApproverRefused(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	r := pendingAdmin(t, e, alice)
	_, err := e.Broker.Approve(e.Ctx, r.ID, dave, "", op)
	wantCode(t, err, drawbridge.EFORBIDDEN, "not an approver")
	// Nor may one person approve in another's name without being admin.
	_, err = e.Broker.Approve(e.Ctx, r.ID, carol, "", drawbridge.Caller{Principal: dave, Channel: drawbridge.ChannelAPI})
	wantCode(t, err, drawbridge.EFORBIDDEN, "on behalf of")
	_, err = e.Broker.Approve(e.Ctx, r.ID, "nobody@example.com", "", op)
	wantCode(t, err, drawbridge.EINVALID, "unknown person")
	wantState(t, e.Get(t, r.ID), drawbridge.StatePendingApproval)
}

const twoApproverPolicy = `version: 1
rules:
  - name: prod-admin-two
    match:
      provider: aws
      accounts: ["111122223333"]
      permission_sets: [AdministratorAccess]
      requesters: ["*"]
    approval: {approvers: ["group:sre-leads"], count: 2, timeout: 1h}
    max_duration: 2h
    decision: require_approval
`

func TestQuorumCountsDistinctPeople(t *testing.T) {
	e := testenv.New(t, testenv.Options{Policy: twoApproverPolicy})
	r := e.Submit(t, alice, prod, admin, time.Hour, "")
	wantState(t, r, drawbridge.StatePendingApproval)
	if r.Decision.ApprovalsRequired != 2 {
		t.Fatalf("approvals required %d, want 2", r.Decision.ApprovalsRequired)
	}
	r, err := e.Broker.Approve(e.Ctx, r.ID, bob, "first", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, drawbridge.StatePendingApproval)
	for _, again := range []string{bob, "Bob@Example.COM", "U23456789"} {
		_, err = e.Broker.Approve(e.Ctx, r.ID, again, "again", op)
		wantCode(t, err, drawbridge.ECONFLICT, "distinct")
	}
	wantState(t, e.Get(t, r.ID), drawbridge.StatePendingApproval)
	r, err = e.Broker.Approve(e.Ctx, r.ID, carol, "second", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, drawbridge.StateActive)
	if !e.HasAssignment(t, alice, prod, admin) {
		t.Error("assignment missing after quorum")
	}
	acts := e.Actions(t, r.ID)
	if got := strings.Join(acts, ","); got != "submit,require_approval,approval_recorded,approval_recorded,approve,provision,activate" {
		t.Errorf("audit actions %s", got)
	}
}

func TestOneDenyEnds(t *testing.T) {
	e := testenv.New(t, testenv.Options{Policy: twoApproverPolicy})
	r := e.Submit(t, alice, prod, admin, time.Hour, "")
	if _, err := e.Broker.Approve(e.Ctx, r.ID, bob, "", op); err != nil {
		t.Fatal(err)
	}
	r, err := e.Broker.Deny(e.Ctx, r.ID, carol, "use the pipeline", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, drawbridge.StateDenied)
	if !strings.Contains(r.EndReason, carol) || !strings.Contains(r.EndReason, "use the pipeline") {
		t.Errorf("end reason %q", r.EndReason)
	}
	_, err = e.Broker.Approve(e.Ctx, r.ID, bob, "", op)
	wantCode(t, err, drawbridge.ECONFLICT, "DENIED")
	if e.Emu.Calls(emulator.OpCreateAccountAssignment) != 0 {
		t.Error("denied request provisioned")
	}
}

func TestCancelByRequesterOnly(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	r := pendingAdmin(t, e, alice)
	_, err := e.Broker.Cancel(e.Ctx, r.ID, drawbridge.Caller{Principal: carol, Channel: drawbridge.ChannelAPI})
	wantCode(t, err, drawbridge.EFORBIDDEN, "only the requester")
	wantState(t, e.Get(t, r.ID), drawbridge.StatePendingApproval)
	r, err = e.Broker.Cancel(e.Ctx, r.ID, drawbridge.Caller{Principal: alice, Channel: drawbridge.ChannelAPI})
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, drawbridge.StateCancelled)
	if r.EndedAt.IsZero() || !strings.Contains(r.EndReason, alice) {
		t.Errorf("ended %v reason %q", r.EndedAt, r.EndReason)
	}
	// An ACTIVE grant is revoked, not cancelled.
	active := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	_, err = e.Broker.Cancel(e.Ctx, active.ID, drawbridge.Caller{Principal: alice})
	wantCode(t, err, drawbridge.ECONFLICT, "use revoke")
	_, err = e.Broker.Cancel(e.Ctx, "req_nope", op)
	wantCode(t, err, drawbridge.ENOTFOUND, "req_nope")
	_, err = e.Broker.Cancel(e.Ctx, drawbridge.NewRequestID(), op)
	wantCode(t, err, drawbridge.ENOTFOUND, "")
}

// Two approvers racing on one request with a quorum of one: the optimistic
// version check lets exactly one approval through, so the assignment is
// created once and ACTIVE is written once.
func TestRacingApprovalsProvisionOnce(t *testing.T) {
	e := testenv.New(t, testenv.Options{EmulatorDelay: 5 * time.Millisecond})
	const rounds = 3
	for i := 1; i <= rounds; i++ {
		who := alice
		if i%2 == 0 {
			who = dave // not an approver, not a contractor-denied role: PowerUser in prod
		}
		r := e.Submit(t, who, prod, power, time.Hour, "CHG-1")
		wantState(t, r, drawbridge.StatePendingApproval)
		start := make(chan struct{})
		var wg sync.WaitGroup
		results := make([]*drawbridge.Request, 2)
		errs := make([]error, 2)
		for j, approver := range []string{bob, carol} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[j], errs[j] = e.Broker.Approve(e.Ctx, r.ID, approver, "", op)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for j := range errs {
			if errs[j] == nil {
				won++
				wantState(t, results[j], drawbridge.StateActive)
				continue
			}
			if code := drawbridge.ErrorCode(errs[j]); code != drawbridge.ECONFLICT {
				t.Errorf("loser's error code %q, want conflict: %v", code, errs[j])
			}
			if msg := errs[j].Error(); !strings.Contains(msg, r.ID) || !strings.Contains(msg, "only PENDING_APPROVAL") {
				t.Errorf("loser's error is not clear: %q", msg)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d approvals succeeded, want exactly 1 (errors %v)", i, won, errs)
		}
		if n := e.Emu.Calls(emulator.OpCreateAccountAssignment); n != i {
			t.Fatalf("round %d: CreateAccountAssignment called %d times in total, want %d", i, n, i)
		}
		acts := e.Actions(t, r.ID)
		if testenv.Count(acts, "activate") != 1 || testenv.Count(acts, "approve") != 1 || testenv.Count(acts, "approval_recorded") != 1 {
			t.Errorf("round %d: audit actions %v", i, acts)
		}
		stored := e.Get(t, r.ID)
		wantState(t, stored, drawbridge.StateActive)
		if len(stored.Approvals) != 1 {
			t.Errorf("round %d: %d approvals stored", i, len(stored.Approvals))
		}
	}
}

func TestRevoke(t *testing.T) {
	e := testenv.New(t, testenv.Options{EmulatorDelay: 5 * time.Millisecond})
	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	wantState(t, r, drawbridge.StateActive)
	_, err := e.Broker.Revoke(e.Ctx, r.ID, "", drawbridge.Caller{Principal: carol})
	wantCode(t, err, drawbridge.EFORBIDDEN, "only the requester")
	e.Clock.Advance(10 * time.Minute)
	r, err = e.Broker.Revoke(e.Ctx, r.ID, "incident resolved", drawbridge.Caller{Principal: "operator:tester", Roles: []drawbridge.Role{drawbridge.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, drawbridge.StateRevoked)
	if r.EndReason != "incident resolved" || r.RevokedBy != "operator:tester" || !r.EndedAt.Equal(testenv.Start.Add(10*time.Minute)) {
		t.Errorf("end reason %q revoked by %q ended %v", r.EndReason, r.RevokedBy, r.EndedAt)
	}
	if e.HasAssignment(t, alice, staging, readOnly) {
		t.Error("assignment still present after REVOKED")
	}
	if got := strings.Join(e.Actions(t, r.ID), ","); !strings.HasSuffix(got, "activate,revoke,confirm_revoked") {
		t.Errorf("audit actions %s", got)
	}
	_, err = e.Broker.Revoke(e.Ctx, r.ID, "", op)
	wantCode(t, err, drawbridge.ECONFLICT, "REVOKED")
	// Expiry afterwards changes nothing.
	e.Clock.Advance(2 * time.Hour)
	e.HandleDue(t)
	wantState(t, e.Get(t, r.ID), drawbridge.StateRevoked)
}

func TestProviderPermanentFailureFails(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Emu.Fail(emulator.OpCreateAccountAssignment, emulator.Fault{AsyncFailed: true, FailureReason: "permission set not provisioned to account"})
	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	wantState(t, r, drawbridge.StateFailed)
	stored := e.Get(t, r.ID)
	wantState(t, stored, drawbridge.StateFailed)
	if !strings.Contains(stored.LastError, "permission set not provisioned to account") || stored.EndReason != "provisioning failed" || stored.EndedAt.IsZero() {
		t.Errorf("last error %q end reason %q ended %v", stored.LastError, stored.EndReason, stored.EndedAt)
	}
	if e.HasAssignment(t, alice, staging, readOnly) {
		t.Error("assignment present after FAILED")
	}
	if got := strings.Join(e.Actions(t, r.ID), ","); got != "submit,allow,provision,fail" {
		t.Errorf("audit actions %s", got)
	}
	if e.Emu.Calls(emulator.OpCreateAccountAssignment) != 1 {
		t.Errorf("a permanent failure was retried: %d creates", e.Emu.Calls(emulator.OpCreateAccountAssignment))
	}
}

func TestRetryableRevokeFailureStaysRevoking(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	wantState(t, r, drawbridge.StateActive)
	e.Emu.Fail(emulator.OpDeleteAccountAssignment, emulator.Fault{Code: "ThrottlingException", Message: "Rate exceeded", Times: 3})

	e.Clock.Advance(time.Hour)
	for attempt := 1; attempt <= 3; attempt++ {
		e.HandleDue(t)
		got := e.Get(t, r.ID)
		wantState(t, got, drawbridge.StateRevoking)
		if got.RevokeAttempts != attempt || !strings.Contains(got.LastError, "ThrottlingException") {
			t.Fatalf("attempt %d: revoke_attempts %d last_error %q", attempt, got.RevokeAttempts, got.LastError)
		}
		if !e.HasAssignment(t, alice, staging, readOnly) {
			t.Fatal("assignment gone although every delete failed")
		}
		// Not retried before its backoff is up...
		if !got.NextAttemptAt.After(e.Clock.Now()) {
			t.Fatalf("next attempt %v is not after now %v", got.NextAttemptAt, e.Clock.Now())
		}
		e.HandleDue(t)
		if n := e.Emu.Calls(emulator.OpDeleteAccountAssignment); n != attempt {
			t.Fatalf("retried before the backoff: %d deletes after attempt %d", n, attempt)
		}
		// ...and retried once it is (RetryCap is 4s in testenv).
		e.Clock.Advance(5 * time.Second)
	}
	e.HandleDue(t)
	got := e.Get(t, r.ID)
	wantState(t, got, drawbridge.StateExpired)
	if e.HasAssignment(t, alice, staging, readOnly) {
		t.Error("assignment still present after EXPIRED")
	}
	if got.LastError != "" || got.EndReason != "expired" {
		t.Errorf("last error %q end reason %q", got.LastError, got.EndReason)
	}
	if n := e.Emu.Calls(emulator.OpDeleteAccountAssignment); n != 4 {
		t.Errorf("%d deletes, want 4", n)
	}
	acts := e.Actions(t, r.ID)
	if testenv.Count(acts, drawbridge.ActionRevokeAttemptFailed) != 3 || acts[len(acts)-1] != "confirm_expired" {
		t.Errorf("audit actions %v", acts)
	}
	evs, err := e.Store.RequestEvents(e.Ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := evs[len(evs)-1].Details; d["attempts"] != "4" {
		t.Errorf("confirm_expired details %v, want attempts 4", d)
	}
}

func TestStandingAccessSurvivesExpiry(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	aliceAWS := e.AWSUserID(t, alice)
	if err := e.Emu.AddAssignment(staging, readOnly, aliceAWS); err != nil {
		t.Fatal(err)
	}
	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	wantState(t, r, drawbridge.StateActive)
	if !r.PreexistingAccess {
		t.Error("preexisting access not detected")
	}
	e.Clock.Advance(time.Hour)
	e.HandleDue(t)
	wantState(t, e.Get(t, r.ID), drawbridge.StateExpired)
	if !e.Emu.HasAssignment(staging, readOnly, aliceAWS) {
		t.Error("standing assignment was deleted at expiry")
	}
	if n := e.Emu.Calls(emulator.OpDeleteAccountAssignment); n != 0 {
		t.Errorf("%d deletes of standing access", n)
	}
}

func TestOverlappingGrantsShareTheAssignment(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	first := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	e.Clock.Advance(10 * time.Minute)
	second := e.Submit(t, "U12345678", staging, readOnly, 2*time.Hour, "")
	wantState(t, first, drawbridge.StateActive)
	wantState(t, second, drawbridge.StateActive)
	if second.PreexistingAccess {
		t.Error("a Drawbridge grant was taken for standing access")
	}

	e.Clock.Advance(50 * time.Minute) // first expires
	e.HandleDue(t)
	wantState(t, e.Get(t, first.ID), drawbridge.StateExpired)
	wantState(t, e.Get(t, second.ID), drawbridge.StateActive)
	if !e.HasAssignment(t, alice, staging, readOnly) {
		t.Fatal("assignment removed while another grant still needs it")
	}
	if n := e.Emu.Calls(emulator.OpDeleteAccountAssignment); n != 0 {
		t.Fatalf("%d deletes while shared", n)
	}

	e.Clock.Advance(80 * time.Minute) // second expires at +130m
	e.HandleDue(t)
	wantState(t, e.Get(t, second.ID), drawbridge.StateExpired)
	if e.HasAssignment(t, alice, staging, readOnly) {
		t.Error("assignment still present after the last grant ended")
	}
}

func TestExtensionSharesAssignmentAndEndsLater(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	orig := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	e.Clock.Advance(30 * time.Minute)
	ext, err := e.Broker.Extend(e.Ctx, orig.ID, time.Hour, "", "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, ext, drawbridge.StateActive)
	if ext.Extends != orig.ID || ext.Reason != orig.Reason {
		t.Errorf("extends %q reason %q", ext.Extends, ext.Reason)
	}
	if !ext.ExpiresAt.After(orig.ExpiresAt) || !ext.ExpiresAt.Equal(orig.ExpiresAt.Add(time.Hour)) {
		t.Errorf("extension expires %v, want original expiry %v + 1h", ext.ExpiresAt, orig.ExpiresAt)
	}

	e.Clock.Advance(30 * time.Minute) // the original expires
	e.HandleDue(t)
	wantState(t, e.Get(t, orig.ID), drawbridge.StateExpired)
	wantState(t, e.Get(t, ext.ID), drawbridge.StateActive)
	if !e.HasAssignment(t, alice, staging, readOnly) {
		t.Fatal("extension lost access when the original expired")
	}
	e.Clock.Advance(time.Hour)
	e.HandleDue(t)
	wantState(t, e.Get(t, ext.ID), drawbridge.StateExpired)
	if e.HasAssignment(t, alice, staging, readOnly) {
		t.Error("assignment still present after the extension expired")
	}

	// Only an ACTIVE grant can be extended.
	_, err = e.Broker.Extend(e.Ctx, orig.ID, time.Hour, "", "", op)
	wantCode(t, err, drawbridge.ECONFLICT, "only an ACTIVE grant")
}

func TestApprovalTimeoutCancels(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	r := pendingAdmin(t, e, alice)
	e.Clock.Advance(4*time.Hour - time.Second)
	e.HandleDue(t)
	wantState(t, e.Get(t, r.ID), drawbridge.StatePendingApproval)
	e.Clock.Advance(time.Second)
	e.HandleDue(t)
	got := e.Get(t, r.ID)
	wantState(t, got, drawbridge.StateCancelled)
	if !strings.Contains(got.EndReason, "approval window") {
		t.Errorf("end reason %q", got.EndReason)
	}
	evs, err := e.Store.RequestEvents(e.Ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.Action != "cancel" || last.Actor != broker.System.Principal {
		t.Errorf("last event %s by %s", last.Action, last.Actor)
	}
	_, err = e.Broker.Approve(e.Ctx, r.ID, carol, "", op)
	wantCode(t, err, drawbridge.ECONFLICT, "CANCELLED")
}

// The approval window is a deadline, not a hint: when the expiry engine
// has not yet cancelled a request whose window elapsed (a cron janitor runs
// every few minutes), a late approval must not grant access.
func TestApprovalAfterWindowRefused(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	r := pendingAdmin(t, e, alice)
	e.Clock.Advance(4*time.Hour + time.Second)
	_, err := e.Broker.Approve(e.Ctx, r.ID, carol, "late", op)
	wantCode(t, err, drawbridge.ECONFLICT, "approval window")
	wantState(t, e.Get(t, r.ID), drawbridge.StatePendingApproval)
	if e.HasAssignment(t, alice, prod, admin) || e.Emu.Calls(emulator.OpCreateAccountAssignment) != 0 {
		t.Fatal("a late approval provisioned access")
	}
	e.HandleDue(t)
	wantState(t, e.Get(t, r.ID), drawbridge.StateCancelled)
}
