package aws

import (
	"errors"
	"strconv"
	"time"

	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/drawbridge-jit/drawbridge"
)

// permanentCodes are the AWS error codes that retrying cannot fix.
// ServiceQuotaExceededException is among them: for account assignments it
// means a hard limit (assignments per account or permission set) was reached,
// which no amount of waiting lifts; an operator has to act. Every other code,
// including ones not known here, is treated as retryable, because for a
// revocation giving up is the worse mistake.
var permanentCodes = map[string]bool{
	"AccessDeniedException":         true,
	"AccessDenied":                  true,
	"ValidationException":           true,
	"ResourceNotFoundException":     true,
	"ServiceQuotaExceededException": true,
	"UnknownOperationException":     true,
	"UnrecognizedClientException":   true,
	// Organizations
	"AWSOrganizationsNotInUseException": true,
	"AccountNotFoundException":          true,
	"ChildNotFoundException":            true,
	"ParentNotFoundException":           true,
	"TargetNotFoundException":           true,
	"InvalidInputException":             true,
}

// opError is a failed AWS call or asynchronous operation, named by the
// operation and what it was about (an assignment, a user, an account):
//
//	aws: DeleteAccountAssignment 123456789012/ReadOnlyAccess for 9067…: ThrottlingException: Rate exceeded
type opError struct {
	op      string
	subject string
	msg     string
	err     error
}

func (e *opError) Error() string { return "aws: " + e.op + " " + e.subject + ": " + e.msg }
func (e *opError) Unwrap() error { return e.err }

// classify wraps an SDK error about an assignment as an opError, marked
// permanent when its AWS error code says retrying cannot help. Throttling,
// conflicts, 5xx, timeouts and network errors stay plain, so the caller
// retries them.
func classify(op string, a drawbridge.Assignment, err error) error {
	return classifyAbout(op, describe(a), err)
}

// classifyAbout is classify for a call about subject; nil stays nil. A
// retryable error that says how long to wait (retryAfter) carries that
// hint for the broker's backoff (drawbridge.RetryAfter).
func classifyAbout(op, subject string, err error) error {
	c := classifyCode(op, subject, err)
	if d, ok := retryAfter(err); ok && c != nil && !drawbridge.IsPermanent(c) {
		return drawbridge.RetryAfter(c, d)
	}
	return c
}

// retryAfter returns how long AWS asked the caller to wait: the
// RetryAfterSeconds member of an Identity Store ThrottlingException, or the
// X-Amz-Retry-After response header (milliseconds) any AWS service may send
// and the SDK's own retryer reads.
func retryAfter(err error) (time.Duration, bool) {
	var te *istypes.ThrottlingException
	if errors.As(err, &te) && te.RetryAfterSeconds > 0 {
		return time.Duration(te.RetryAfterSeconds) * time.Second, true
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Response != nil {
		if ms, perr := strconv.ParseInt(re.Response.Header.Get("X-Amz-Retry-After"), 10, 64); perr == nil && ms >= 0 {
			return time.Duration(ms) * time.Millisecond, true
		}
	}
	return 0, false
}

func classifyCode(op, subject string, err error) error {
	if err == nil {
		return nil
	}
	e := &opError{op: op, subject: subject, err: err, msg: err.Error()}
	var oe *smithy.OperationError
	if errors.As(err, &oe) && oe.Err != nil {
		e.msg = oe.Err.Error()
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		e.msg = apiErr.ErrorCode() + ": " + apiErr.ErrorMessage()
		if permanentCodes[apiErr.ErrorCode()] && !serverError(err) {
			return drawbridge.Permanent(e)
		}
	}
	return e
}

// serverError reports whether err carries a 5xx response: whatever its code
// says, the server failed, and that is worth retrying.
func serverError(err error) bool {
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() >= 500
}

// clientError reports whether err carries a 4xx response: AWS read the
// request and refused it, so it changed nothing.
func clientError(err error) bool {
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500
}
