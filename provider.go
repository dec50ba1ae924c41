package drawbridge

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Assignment is an entitlement held by one provider-side person: the unit a
// provider creates and deletes, and the key overlapping grants share.
type Assignment struct {
	Entitlement
	// PrincipalRef is the provider's id for the person (for AWS the
	// Identity Store user id; for a webhook the canonical principal id).
	// The JSON key predates the name: reconcile --output json shows it.
	PrincipalRef string `json:"Principal"`
}

// Provider provisions and removes access in a real system: the contract
// every provider (AWS, a webhook, Entra, Boundary, Okta) implements. The
// core needs only these four methods; what else a provider can do it says
// by implementing the optional capabilities below (ExistenceChecker,
// AssignmentLister, AssignmentDater, SessionEnder, Extender), which the
// core finds by type assertion. A decorator must forward a capability only
// when the provider it wraps has it.
//
// Grant and Revoke return once the provider has confirmed the change, or
// with an error that says what the core should do next:
//   - wrapped with Permanent: retrying cannot help; the grant ends FAILED
//     (a revocation is still retried: giving up on removal is worse);
//   - wrapped with Pending: the provider accepted the change and is working
//     on it (Entra PIM takes minutes); the core calls again with the same
//     spec at the time given. It is not a failed attempt: it consumes no
//     attempt and never makes the core give up;
//   - wrapped with RetryAfter: a retryable failure with the provider's own
//     hint (HTTP 429 Retry-After, rate-limit reset headers); the next
//     attempt is no earlier than the hint, within the backoff's cap;
//   - wrapped with Rejected (Grant only): the provider refused before
//     changing anything, so this attempt cannot have given access;
//   - anything else is retryable, and leaves open whether access began.
//
// Both calls are idempotent, keyed by the spec's RequestID: repeating one
// (after a timeout, a crash, a pending answer) must not create a second
// grant or fail because the first one worked.
//
// Extensions and native expiry. Some providers end access themselves at the
// time they were given (Entra PIM schedules, webhook receivers honouring
// expires_at). When a linked extension (GrantSpec.Extends) becomes ACTIVE
// on an assignment that already exists, the core tells the provider the new
// end before it records ACTIVE: through Extender when the provider has it,
// otherwise through Grant with the extension's spec, whose Until is the
// later end — so a provider must treat a Grant for an assignment it already
// holds as "make sure it lasts until Until", never as an error and never by
// shortening it. A provider's native expiry therefore never cuts an
// extended grant short. The core still revokes every grant at its end
// itself; native expiry is a safety net, not the mechanism.
type Provider interface {
	// Name is the configured provider name used in entitlements ("aws",
	// "hooks"): the instance, not the kind.
	Name() string
	// PrincipalRef maps a person to the provider's id for them.
	PrincipalRef(ctx context.Context, p *Principal) (string, error)
	// Grant creates the assignment of spec (or confirms it exists).
	Grant(ctx context.Context, spec GrantSpec) (GrantResult, error)
	// Revoke removes the assignment; an assignment already gone is success.
	Revoke(ctx context.Context, spec RevokeSpec) (RevokeResult, error)
}

// GrantSpec is everything a provider is told about one grant.
type GrantSpec struct {
	// RequestID is the grant's request: the idempotency key.
	RequestID  string
	Assignment Assignment
	// Principal is the person, with their linked identities.
	Principal *Principal
	// Until is when access ends, computed before the call (the request's
	// expires_at). Providers with native expiry use it; the core revokes at
	// Until whether they do or not.
	Until  time.Time
	Reason string
	Ticket string
	// Extends is the request this grant extends ("" for a fresh grant);
	// ExtendsRef is that grant's GrantRef. An extension's Until is later
	// than its parent's.
	Extends    string
	ExtendsRef string
}

// GrantResult is what a provider reports about a grant it made.
type GrantResult struct {
	// GrantRef is the provider's id for the grant (an AWS creation request
	// id, a PIM schedule id, a webhook receipt), stored on the request and
	// given back in RevokeSpec.
	GrantRef string
	// Details go into the activation's audit event, each key prefixed
	// with "provider_".
	Details map[string]string
}

// RevokeSpec is everything a provider is told about a removal.
type RevokeSpec struct {
	RequestID  string
	Assignment Assignment
	// GrantRef is what Grant returned for this request ("" when unknown:
	// an abandoned provisioning, a leftover found by reconciliation).
	GrantRef string
	// Requester is the person's canonical id. The person is not resolved
	// again for a removal: revocation must not depend on the directory.
	Requester string
	// Until is the grant's expires_at (zero when it never became ACTIVE).
	Until time.Time
	// Reason says why access ends ("expired", the revoker's reason, …).
	Reason string
	Ticket string
}

// RevokeResult is what a provider reports about a removal.
type RevokeResult struct {
	// Details go into the confirmation's audit event, each key prefixed
	// with "provider_" (for example sessions ended).
	Details map[string]string
}

// ExistenceChecker is implemented by providers that can tell whether an
// assignment exists. The core asks at each grant's own provisioning, to
// recognise standing access (access someone had before Drawbridge granted
// it, never deleted by Drawbridge). A provider without it (a webhook) is
// never credited with standing access: its assignments are taken for the
// grant's own, and the end of the last live grant of an assignment removes
// it. Such a provider must keep access it holds for other reasons when it
// is told to revoke a Drawbridge grant.
type ExistenceChecker interface {
	Exists(ctx context.Context, a Assignment) (bool, error)
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

// SessionEnder is implemented by providers that can end the live sessions
// a removed assignment had issued (sessions otherwise outlive the grant).
// The core calls it after Revoke confirmed the removal, and only then; a
// failure is retried with the revocation, which stays REVOKING.
type SessionEnder interface {
	EndSessions(ctx context.Context, spec RevokeSpec) (RevokeResult, error)
}

// Extender is implemented by providers that can move the end of a grant
// they hold (see Provider: extensions). Without it the core calls Grant
// with the extension's spec.
type Extender interface {
	Extend(ctx context.Context, spec GrantSpec) (GrantResult, error)
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

// RetryAfterError is a retryable failure with the provider's hint of when
// to try again.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err with the provider's hint that the next attempt
// should wait at least d. It composes with Rejected.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryAfterError{Err: err, After: max(d, 0)}
}

// RetryAfterHint returns the hint in err's chain, if any.
func RetryAfterHint(err error) (time.Duration, bool) {
	var r *RetryAfterError
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}

// PendingError is the provider's answer "accepted, not done yet: look
// again at At". It is not a failure.
type PendingError struct {
	// Status says what the provider is doing, for the audit trail.
	Status string
	At     time.Time
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("pending: %s (look again at %s)", e.Status, e.At.UTC().Format(time.RFC3339))
}

// Pending returns the answer "status; look again at at".
func Pending(status string, at time.Time) error { return &PendingError{Status: status, At: at} }

// AsPending returns the *PendingError in err's chain, or nil.
func AsPending(err error) *PendingError {
	var p *PendingError
	if errors.As(err, &p) {
		return p
	}
	return nil
}

// Catalog knows what can be requested from each configured provider
// instance: every provider has its own catalog (ProviderCatalog), and the
// Catalog finds which one a request names.
type Catalog interface {
	// Resolve returns the entitlement e names, in canonical form: the
	// provider filled in when e leaves it out (a 12-digit AWS account id
	// names the provider of kind aws; any other resource is looked up by
	// name and alias in every provider, and must name exactly one), and
	// the resource's own name in place of an alias. It returns an EINVALID
	// error naming the valid choices when e names nothing requestable, and
	// the candidates when an alias is ambiguous.
	Resolve(e Entitlement) (Entitlement, error)
	// ResolveResource names e's provider and resource as Resolve does, but
	// checks neither the role nor that the resource is still requestable
	// (with the provider given, a resource its catalog does not know is
	// kept as written): for selecting grants that exist, such as the
	// scope of an emergency revocation.
	ResolveResource(e Entitlement) (Entitlement, error)
	// ResourceAttrs returns the resource's OU path (outermost first) and
	// tags, which policy's ou: and tag: selectors match.
	ResourceAttrs(e Entitlement) (ous []string, tags map[string]string)
	// Resources lists the requestable resources of one provider instance
	// (those reconciliation looks at); nil when its catalog has no list.
	Resources(provider string) []string
}

// ProviderCatalog is the catalog of one provider instance: its requestable
// resources, the roles on each, and their aliases.
type ProviderCatalog interface {
	// Lookup returns the name of the resource ref stands for (ref itself
	// when it is a resource's name, or the resource it is an alias of),
	// and false when ref names none of this provider's resources.
	Lookup(ref string) (name string, ok bool)
	// Check returns an EINVALID error naming the valid choices when role
	// on resource (a name, not an alias) is not requestable.
	Check(resource, role string) error
	// ResourceAttrs returns the resource's OU path (outermost first) and
	// tags; providers without OUs return none.
	ResourceAttrs(resource string) (ous []string, tags map[string]string)
	// Resources lists the requestable resources; nil when there is no list.
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
