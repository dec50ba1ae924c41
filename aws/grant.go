package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/smithy-go"

	"github.com/drawbridge-jit/drawbridge"
)

// Grant creates the user assignment and returns once AWS reports it
// SUCCEEDED. Creating an assignment that already exists succeeds.
//
// Errors from before AWS accepted the create — no in-flight slot, or AWS
// answering the create itself with a 4xx error — are marked
// drawbridge.Rejected: the attempt cannot have given access.
//
// Once AWS has accepted the create, Grant returns a permanent error only
// when AWS reported the creation FAILED (nothing was created). Any other way
// of not seeing it end — the status never found, status calls failing, ctx
// ending — leaves the outcome unknown: the assignment may exist or appear
// later. That error is retryable, so the request stays PROVISIONING and
// visible, and the next attempt repeats the create, which is idempotent,
// and confirms it; a grant is never ended FAILED by Drawbridge while AWS
// may still be creating its access.
//
// The grant reference is the creation request id. AWS assignments have no
// end of their own, so spec.Until is not sent: the broker revokes at the
// end, and an extension's Grant repeats the (idempotent) create.
func (p *Provider) Grant(ctx context.Context, spec drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	ref, err := p.grant(ctx, spec.Assignment)
	if err != nil {
		return drawbridge.GrantResult{}, err
	}
	return drawbridge.GrantResult{GrantRef: ref, Details: map[string]string{
		"operation": opCreate, "request_id": ref, "status": "SUCCEEDED"}}, nil
}

// grant creates a and awaits the creation; it returns the creation's
// request id.
func (p *Provider) grant(ctx context.Context, a drawbridge.Assignment) (string, error) {
	const op = opCreate
	psARN, err := p.check(op, a)
	if err != nil {
		return "", err
	}
	if !userIDPattern.MatchString(a.PrincipalRef) {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
			"aws: %s %s: %q is not an Identity Store user id (a UUID, optionally after ten hex digits and a dash), so AWS would refuse it", op, describe(a), a.PrincipalRef))
	}
	release, err := p.acquire(ctx, op, a)
	if err != nil {
		return "", drawbridge.Rejected(err)
	}
	defer release()
	out, err := p.client.CreateAccountAssignment(ctx, &ssoadmin.CreateAccountAssignmentInput{
		InstanceArn:      &p.instanceARN,
		TargetId:         &a.Resource,
		TargetType:       types.TargetTypeAwsAccount,
		PermissionSetArn: &psARN,
		PrincipalType:    types.PrincipalTypeUser,
		PrincipalId:      &a.PrincipalRef,
	})
	if err != nil {
		if clientError(err) {
			return "", drawbridge.Rejected(classify(op, a, err))
		}
		return "", classify(op, a, err)
	}
	var requestID string
	if st := out.AccountAssignmentCreationStatus; st != nil {
		requestID = awssdk.ToString(st.RequestId)
	}
	// A SUCCEEDED in the create answer is AWS saying the assignment exists:
	// taken as it is (confirming it would cost a call per grant and could
	// only find less access than recorded, which reconciliation repairs).
	err = p.await(ctx, op, a, out.AccountAssignmentCreationStatus, false, "DescribeAccountAssignmentCreationStatus",
		func(ctx context.Context, id *string) (*types.AccountAssignmentOperationStatus, error) {
			out, err := p.client.DescribeAccountAssignmentCreationStatus(ctx, &ssoadmin.DescribeAccountAssignmentCreationStatusInput{
				InstanceArn:                        &p.instanceARN,
				AccountAssignmentCreationRequestId: id,
			})
			if err != nil {
				return nil, err
			}
			return out.AccountAssignmentCreationStatus, nil
		})
	var failed *statusFailed
	if err == nil || errors.As(err, &failed) {
		return requestID, err
	}
	msg := strings.TrimPrefix(err.Error(), "aws: ")
	var pe *drawbridge.PermanentError
	if errors.As(err, &pe) {
		err = pe.Err // the create's outcome is unknown, so this is not final
	}
	return "", &opError{op: op, subject: describe(a), err: err,
		msg: fmt.Sprintf("AWS accepted the creation (request %s) but its outcome is unknown, so the assignment may exist: %s", requestID, msg)}
}

// Revoke deletes the user assignment and returns once AWS reports it
// SUCCEEDED. What Revoke promises is that the access is gone, so an
// assignment already gone is success: when AWS says it cannot find what is
// to be deleted — ResourceNotFoundException from the delete, or a deletion
// FAILED with a reason such as "… was not found in directory" (the user was
// deleted from the Identity Store) — Revoke lists the assignments and
// returns nil when this one is not among them. Two answers from AWS agree
// then. A listing alone is never taken as proof: ListAccountAssignments may
// lag behind recent changes, so a deletion FAILED for any other reason
// stays an error (retried) whatever the listing shows.
func (p *Provider) Revoke(ctx context.Context, spec drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	const op = "DeleteAccountAssignment"
	a := spec.Assignment
	psARN, err := p.check(op, a)
	if err != nil {
		return drawbridge.RevokeResult{}, err
	}
	requestID, accepted, err := p.deleteAssignment(ctx, op, psARN, a)
	if err == nil {
		return drawbridge.RevokeResult{Details: map[string]string{"operation": op, "request_id": requestID, "status": "SUCCEEDED"}}, nil
	}
	var failed *statusFailed
	notFound := !accepted && hasCode(err, "ResourceNotFoundException") ||
		accepted && errors.As(err, &failed) && reportsNotFound(failed.reason)
	if notFound {
		if exists, xerr := p.Exists(ctx, a); xerr == nil && !exists {
			return drawbridge.RevokeResult{Details: map[string]string{"operation": op,
				"status": "already gone: AWS could not find the assignment and the listing agrees"}}, nil
		}
	}
	return drawbridge.RevokeResult{}, err
}

// opCreate names the creation, which acquire keeps out of the removal reserve.
const opCreate = "CreateAccountAssignment"

// deleteAssignment deletes and awaits the deletion, holding an in-flight
// slot until its status is terminal. accepted reports whether AWS accepted
// the deletion (so that an error is about its outcome); requestID is the
// deletion's request id once it was.
func (p *Provider) deleteAssignment(ctx context.Context, op, psARN string, a drawbridge.Assignment) (requestID string, accepted bool, err error) {
	release, err := p.acquire(ctx, op, a)
	if err != nil {
		return "", false, err
	}
	defer release()
	out, err := p.client.DeleteAccountAssignment(ctx, &ssoadmin.DeleteAccountAssignmentInput{
		InstanceArn:      &p.instanceARN,
		TargetId:         &a.Resource,
		TargetType:       types.TargetTypeAwsAccount,
		PermissionSetArn: &psARN,
		PrincipalType:    types.PrincipalTypeUser,
		PrincipalId:      &a.PrincipalRef,
	})
	if err != nil {
		return "", false, classify(op, a, err)
	}
	if st := out.AccountAssignmentDeletionStatus; st != nil {
		requestID = awssdk.ToString(st.RequestId)
	}
	return requestID, true, p.await(ctx, op, a, out.AccountAssignmentDeletionStatus, true, "DescribeAccountAssignmentDeletionStatus",
		func(ctx context.Context, id *string) (*types.AccountAssignmentOperationStatus, error) {
			out, err := p.client.DescribeAccountAssignmentDeletionStatus(ctx, &ssoadmin.DescribeAccountAssignmentDeletionStatusInput{
				InstanceArn:                        &p.instanceARN,
				AccountAssignmentDeletionRequestId: id,
			})
			if err != nil {
				return nil, err
			}
			return out.AccountAssignmentDeletionStatus, nil
		})
}

// statusPropagation is how long a status call may answer
// ResourceNotFoundException for a request AWS has just accepted: the
// request id takes a moment to reach the status API, so "not found" right
// after the create or delete is propagation, not an answer.
const statusPropagation = time.Minute

// statusFailed is an operation whose status AWS reported FAILED: AWS looked
// at the request and refused it, and repeating it gets the same answer.
type statusFailed struct {
	opError
	reason string // AWS's FailureReason
}

// reportsNotFound reports whether a FailureReason says that what the
// operation was about does not exist ("Principal … was not found in
// directory", "… does not exist").
func reportsNotFound(reason string) bool {
	r := strings.ToLower(reason)
	return strings.Contains(r, "not found") || strings.Contains(r, "does not exist")
}

// await polls an asynchronous assignment operation until it reaches a
// terminal status or ctx ends. FAILED is permanent (a *statusFailed).
// confirmInline makes a SUCCEEDED in the operation's own answer count only
// once one status call repeats it (deletions: EXPIRED and REVOKED rest on
// the status API, whatever an endpoint answers inline).
// ResourceNotFoundException from the status call is polled through for
// statusPropagation (by the provider's clock), then returned retryable.
func (p *Provider) await(ctx context.Context, op string, a drawbridge.Assignment, st *types.AccountAssignmentOperationStatus, confirmInline bool, describeOp string,
	describeStatus func(context.Context, *string) (*types.AccountAssignmentOperationStatus, error)) error {
	if st == nil {
		return &opError{op: op, subject: describe(a), msg: "response has no status"}
	}
	requestID := st.RequestId
	var pollErrors int
	var notFoundSince time.Time
	// confirmed: the status came from the Describe…Status call, or need not.
	confirmed := !confirmInline
	wait := st.Status != types.StatusValuesSucceeded
	for {
		switch st.Status {
		case types.StatusValuesSucceeded:
			if confirmed {
				return nil
			}
		case types.StatusValuesFailed:
			return drawbridge.Permanent(&statusFailed{opError: opError{op: op, subject: describe(a),
				msg: fmt.Sprintf("FAILED: %s (request %s)", awssdk.ToString(st.FailureReason), awssdk.ToString(requestID))},
				reason: awssdk.ToString(st.FailureReason)})
		}
		stillRunning := func(err error) error {
			return &opError{op: describeOp, subject: describe(a), err: err,
				msg: fmt.Sprintf("request %s still %s: %v", awssdk.ToString(requestID), st.Status, err)}
		}
		if wait {
			if err := p.sleep(ctx, p.pollInterval); err != nil {
				return stillRunning(err)
			}
		}
		wait = true
		next, err := describeStatus(ctx, requestID)
		if err != nil {
			if ctx.Err() != nil {
				return stillRunning(ctx.Err())
			}
			if hasCode(err, "ResourceNotFoundException") && !serverError(err) {
				now := p.now()
				if notFoundSince.IsZero() {
					notFoundSince = now
				}
				if now.Sub(notFoundSince) < statusPropagation {
					continue
				}
				return &opError{op: describeOp, subject: describe(a), err: err,
					msg: fmt.Sprintf("request %s still not found %s after AWS accepted it: %v", awssdk.ToString(requestID), statusPropagation, err)}
			}
			cerr := classify(describeOp, a, err)
			pollErrors++
			if drawbridge.IsPermanent(cerr) || pollErrors >= maxPollErrors {
				return cerr
			}
			continue
		}
		if next == nil {
			return &opError{op: describeOp, subject: describe(a), msg: "response has no status"}
		}
		pollErrors = 0
		notFoundSince = time.Time{}
		confirmed = true
		st = next
	}
}

// hasCode reports whether err carries the AWS error code.
func hasCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
