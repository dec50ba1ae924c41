package aws_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

// steppingClock returns a clock that moves on by step at every reading, so
// that a window measured on it passes after a known number of polls.
func steppingClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(step)
		return t
	}
}

// Right after a create or delete, AWS's status call may not know the
// request id yet: ResourceNotFoundException then is propagation, polled
// through, not the operation's answer.
func TestStatusNotFoundRightAfterTheCallIsPropagation(t *testing.T) {
	em, p := setup(t, 5*time.Millisecond)
	a := assignment("ReadOnlyAccess", "u-propagation")
	em.Script(emulator.OpDescribeAccountAssignmentCreationStatus, emulator.Fault{Code: "ResourceNotFoundException", Times: 3})
	if err := grant(context.Background(), p, a); err != nil {
		t.Fatalf("grant whose status was not found three times at first: %v", err)
	}
	if !em.HasAssignment(account, "ReadOnlyAccess", uid("u-propagation")) || em.Calls(emulator.OpCreateAccountAssignment) != 1 {
		t.Fatalf("assignment %v after %d creates, want it made by one", em.HasAssignment(account, "ReadOnlyAccess", uid("u-propagation")), em.Calls(emulator.OpCreateAccountAssignment))
	}
	em.Script(emulator.OpDescribeAccountAssignmentDeletionStatus, emulator.Fault{Code: "ResourceNotFoundException", Times: 3})
	if err := revoke(context.Background(), p, a); err != nil {
		t.Fatalf("revoke whose status was not found three times at first: %v", err)
	}
	if em.HasAssignment(account, "ReadOnlyAccess", uid("u-propagation")) {
		t.Fatal("assignment left after the revoke")
	}
}

// A create AWS accepted whose outcome Grant cannot see — the status is
// never found, or the status call is refused — may still make the
// assignment, so the grant must not end permanently (FAILED, and nothing
// would ever remove the access): the error is retryable, says the
// assignment may exist, and the next attempt confirms it.
func TestGrantWithAnUnknownOutcomeStaysRetryable(t *testing.T) {
	for _, code := range []string{"ResourceNotFoundException", "AccessDeniedException"} {
		t.Run(code, func(t *testing.T) {
			// A delay, so that the create answers IN_PROGRESS and the
			// outcome rests on the status call (an inline SUCCEEDED is known).
			em, p := setupWith(t, emulator.Options{Delay: time.Millisecond}, aws.Config{MaxTPS: -1, Now: steppingClock(20 * time.Second)})
			a := assignment("ReadOnlyAccess", "u-unknown")
			em.Fail(emulator.OpDescribeAccountAssignmentCreationStatus, emulator.Fault{Code: code})
			err := grant(context.Background(), p, a)
			if err == nil || drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "outcome is unknown") || !strings.Contains(err.Error(), code) {
				t.Fatalf("grant whose status call answers %s: %v; want a retryable error saying the outcome is unknown", code, err)
			}
			if !em.HasAssignment(account, "ReadOnlyAccess", uid("u-unknown")) {
				t.Fatal("the emulator did not create the assignment: the test shows nothing")
			}
			// Bounded: a minute of "not found" on a clock that moves 20 s
			// per reading is a handful of polls, not an endless loop.
			if n := em.Calls(emulator.OpDescribeAccountAssignmentCreationStatus); n > 10 {
				t.Errorf("%d status calls", n)
			}
			em.ClearFaults()
			if err := grant(context.Background(), p, a); err != nil {
				t.Fatalf("the retried grant: %v", err)
			}
		})
	}
}

// A deletion AWS answers with ResourceNotFoundException, or ends FAILED
// because the user is gone from the directory, has removed the access when
// the listing agrees; while the listing still shows the assignment, the
// revocation is not confirmed.
func TestRevokeOfAnAssignmentAWSCannotFind(t *testing.T) {
	const user = "u-deleted"
	notFound := emulator.Fault{Code: "ResourceNotFoundException", Message: "Principal " + user + " does not exist", Times: 1}
	notInDirectory := emulator.Fault{AsyncFailed: true, FailureReason: "Received a 404 status error: Principal " + user + " was not found in directory.", Times: 1}
	for name, fault := range map[string]emulator.Fault{"synchronous": notFound, "FAILED": notInDirectory} {
		t.Run(name, func(t *testing.T) {
			em, p := setup(t, 5*time.Millisecond)
			a := assignment("ReadOnlyAccess", user)
			em.Fail(emulator.OpDeleteAccountAssignment, fault)
			if err := revoke(context.Background(), p, a); err != nil {
				t.Fatalf("revoke of an assignment that is not there: %v", err)
			}
			if err := em.AddAssignment(account, "ReadOnlyAccess", uid(user)); err != nil {
				t.Fatal(err)
			}
			em.Fail(emulator.OpDeleteAccountAssignment, fault)
			if err := revoke(context.Background(), p, a); err == nil {
				t.Fatal("revoke succeeded while the listing still shows the assignment")
			}
		})
	}
}

// A principal id AWS would reject is refused before any call, with an
// error that says what is wrong and where to fix it.
func TestMalformedUserIDIsRefusedBeforeCallingAWS(t *testing.T) {
	em, p := setup(t, 0)
	a := drawbridge.Assignment{Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: account, Role: "ReadOnlyAccess"}, PrincipalRef: "alice"}
	err := grant(context.Background(), p, a)
	if !drawbridge.IsPermanent(err) || drawbridge.ErrorCode(err) != drawbridge.EINVALID || !strings.Contains(err.Error(), "not an Identity Store user id") {
		t.Fatalf("grant to principal %q: %v; want a permanent EINVALID error", a.PrincipalRef, err)
	}
	if n := em.Calls(emulator.OpCreateAccountAssignment); n != 0 {
		t.Errorf("%d creates sent for a malformed principal id", n)
	}
	_, err = p.PrincipalRef(context.Background(), &drawbridge.Principal{ID: "alice@example.com", Identities: map[string]string{"aws": "9067e8a1b2-1111-4a1a-8a1a-000000000001"}})
	if drawbridge.ErrorCode(err) != drawbridge.EINVALID || !strings.Contains(err.Error(), "alice@example.com") || !strings.Contains(err.Error(), "directory.users[].aws_user_id") {
		t.Fatalf("PrincipalRef with a malformed configured id: %v", err)
	}
}
