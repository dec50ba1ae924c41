package aws

import (
	"context"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/drawbridge-jit/drawbridge"
)

// Grant creates the user assignment and returns once AWS reports it
// SUCCEEDED. Creating an assignment that already exists succeeds.
func (p *Provider) Grant(ctx context.Context, a drawbridge.Assignment) error {
	const op = "CreateAccountAssignment"
	psARN, err := p.check(op, a)
	if err != nil {
		return err
	}
	release, err := p.acquire(ctx, op, a)
	if err != nil {
		return err
	}
	defer release()
	out, err := p.client.CreateAccountAssignment(ctx, &ssoadmin.CreateAccountAssignmentInput{
		InstanceArn:      &p.instanceARN,
		TargetId:         &a.Resource,
		TargetType:       types.TargetTypeAwsAccount,
		PermissionSetArn: &psARN,
		PrincipalType:    types.PrincipalTypeUser,
		PrincipalId:      &a.Principal,
	})
	if err != nil {
		return classify(op, a, err)
	}
	return p.await(ctx, op, a, out.AccountAssignmentCreationStatus, "DescribeAccountAssignmentCreationStatus",
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
}

// Revoke deletes the user assignment and returns once AWS reports it
// SUCCEEDED. An assignment already gone is success: when the deletion ends
// FAILED but the assignment no longer exists, Revoke returns nil.
func (p *Provider) Revoke(ctx context.Context, a drawbridge.Assignment) error {
	const op = "DeleteAccountAssignment"
	psARN, err := p.check(op, a)
	if err != nil {
		return err
	}
	accepted, err := p.deleteAssignment(ctx, op, psARN, a)
	if err != nil && accepted && drawbridge.IsPermanent(err) {
		// A deletion of an assignment that is not there may be reported
		// FAILED; what Revoke promises is that the access is gone.
		if exists, xerr := p.Exists(ctx, a); xerr == nil && !exists {
			return nil
		}
	}
	return err
}

// deleteAssignment deletes and awaits the deletion, holding an in-flight
// slot until its status is terminal. accepted reports whether AWS accepted
// the deletion (so that an error is about its outcome).
func (p *Provider) deleteAssignment(ctx context.Context, op, psARN string, a drawbridge.Assignment) (accepted bool, err error) {
	release, err := p.acquire(ctx, op, a)
	if err != nil {
		return false, err
	}
	defer release()
	out, err := p.client.DeleteAccountAssignment(ctx, &ssoadmin.DeleteAccountAssignmentInput{
		InstanceArn:      &p.instanceARN,
		TargetId:         &a.Resource,
		TargetType:       types.TargetTypeAwsAccount,
		PermissionSetArn: &psARN,
		PrincipalType:    types.PrincipalTypeUser,
		PrincipalId:      &a.Principal,
	})
	if err != nil {
		return false, classify(op, a, err)
	}
	return true, p.await(ctx, op, a, out.AccountAssignmentDeletionStatus, "DescribeAccountAssignmentDeletionStatus",
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

// await polls an asynchronous assignment operation until it reaches a
// terminal status or ctx ends. FAILED is permanent: AWS looked at the request
// and refused it, and repeating it gets the same answer.
func (p *Provider) await(ctx context.Context, op string, a drawbridge.Assignment, st *types.AccountAssignmentOperationStatus, describeOp string,
	describeStatus func(context.Context, *string) (*types.AccountAssignmentOperationStatus, error)) error {
	if st == nil {
		return &opError{op: op, subject: describe(a), msg: "response has no status"}
	}
	requestID := st.RequestId
	var pollErrors int
	// confirmed: the status came from the Describe…Status call. A SUCCEEDED
	// in the create/delete answer itself is confirmed with one status call
	// before it counts, so EXPIRED/REVOKED always rests on the provider's
	// status call, whatever the endpoint answers inline.
	confirmed := false
	for {
		switch st.Status {
		case types.StatusValuesSucceeded:
			if confirmed {
				return nil
			}
		case types.StatusValuesFailed:
			return drawbridge.Permanent(&opError{op: op, subject: describe(a),
				msg: fmt.Sprintf("FAILED: %s (request %s)", awssdk.ToString(st.FailureReason), awssdk.ToString(requestID))})
		}
		stillRunning := func(err error) error {
			return &opError{op: describeOp, subject: describe(a), err: err,
				msg: fmt.Sprintf("request %s still %s: %v", awssdk.ToString(requestID), st.Status, err)}
		}
		if st.Status != types.StatusValuesSucceeded {
			if err := sleep(ctx, p.pollInterval); err != nil {
				return stillRunning(err)
			}
		}
		next, err := describeStatus(ctx, requestID)
		if err != nil {
			if ctx.Err() != nil {
				return stillRunning(ctx.Err())
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
		confirmed = true
		st = next
	}
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
