package drawbridge

import (
	"context"
	"errors"
	"time"
)

// Assignment is an entitlement held by one provider-side principal (for AWS,
// the Identity Store user id): the unit a provider creates and deletes.
type Assignment struct {
	Entitlement
	Principal string
}

// Provider provisions and removes access in a real system. Grant and Revoke
// return only once the provider has confirmed the change; an error wrapped
// with Permanent is not worth retrying, any other error is. An error from
// Grant wrapped with Rejected says the provider refused the call before
// changing anything; any other error leaves open whether access began.
type Provider interface {
	// Name is the provider key used in entitlements ("aws").
	Name() string
	// PrincipalRef maps a person to the provider's id for them.
	PrincipalRef(ctx context.Context, p *Principal) (string, error)
	// Exists reports whether the assignment already exists.
	Exists(ctx context.Context, a Assignment) (bool, error)
	Grant(ctx context.Context, a Assignment) error
	// Revoke removes the assignment; an assignment already gone is success.
	Revoke(ctx context.Context, a Assignment) error
}

// PermanentError marks a provider failure that retrying cannot fix
// (access denied, validation, unknown resource).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err is marked permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RejectedError marks a provider failure where the provider answered and
// refused the change before making it (throttled, conflicting operation in
// progress, invalid): the attempt cannot have given access. A timeout, a
// lost connection or a failure after the provider accepted the change is
// not a rejection, because the change may have happened.
type RejectedError struct{ Err error }

func (e *RejectedError) Error() string { return e.Err.Error() }
func (e *RejectedError) Unwrap() error { return e.Err }

// Rejected wraps err as a RejectedError.
func Rejected(err error) error {
	if err == nil {
		return nil
	}
	return &RejectedError{Err: err}
}

// IsRejected reports whether err is marked rejected.
func IsRejected(err error) bool {
	var r *RejectedError
	return errors.As(err, &r)
}

// Catalog knows which entitlements exist (configured accounts and permission
// sets) and their attributes for policy selectors.
type Catalog interface {
	// Check returns an EINVALID error listing the valid choices when e is
	// not a known entitlement.
	Check(e Entitlement) error
	// ResourceAttrs returns the resource's OU path (innermost last) and tags.
	ResourceAttrs(e Entitlement) (ous []string, tags map[string]string)
}

// AssignmentLister is implemented by providers that can list the
// assignments of the roles Drawbridge manages, for drift reconciliation.
type AssignmentLister interface {
	ListAssignments(ctx context.Context, resources []string) ([]Assignment, error)
}

// AssignmentDater is implemented by providers that can tell when an
// assignment was created (AWS cannot: ListAccountAssignments carries no
// creation time). Only with it can reconciliation prove that an assignment
// is the one an ended grant created, and not one granted again by hand
// since; without it, `reconcile --fix` reports leftovers and deletes none.
type AssignmentDater interface {
	// AssignmentCreatedAt returns the creation time of the assignment as
	// it exists now; known is false when the provider cannot say.
	AssignmentCreatedAt(ctx context.Context, a Assignment) (created time.Time, known bool, err error)
}

// ResourceLister is implemented by catalogs that know every requestable
// resource (the accounts reconciliation looks at).
type ResourceLister interface {
	Resources() []string
}

// LeaseMargin is how much longer a work lease is than the provider call it
// protects, at least: time to write the call's outcome before another
// process may take the work over. Configuration is checked against it, and
// every provider call made under a lease is given a deadline that ends this
// long before the lease does.
const LeaseMargin = 5 * time.Second

// Defaults of the provider timeout (one provider call, status polling
// included) and of how much longer than it the work lease is: the lease
// defaults to their sum.
const (
	DefaultProviderTimeout = 2 * time.Minute
	DefaultLeaseSlack      = 30 * time.Second
)
