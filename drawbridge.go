// Package drawbridge holds the domain of the Drawbridge just-in-time access
// broker: requests and their lifecycle, entitlements, principals, audit
// events, the one error vocabulary, and the interfaces that adapters
// (stores, providers, directories) implement. It imports nothing of ours, so
// every other package can depend on it and it depends on none of them.
package drawbridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Error codes: one small vocabulary, mapped once to HTTP status codes and
// CLI exit codes by the channels.
const (
	ECONFLICT     = "conflict"     // optimistic concurrency lost, or an illegal transition
	EINTERNAL     = "internal"     // a bug or an infrastructure failure
	EINVALID      = "invalid"      // the caller sent something malformed
	ENOTFOUND     = "not_found"    // the thing named does not exist
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EFORBIDDEN    = "forbidden"    // authenticated, but not allowed to do this
	EUNAVAILABLE  = "unavailable"  // a dependency (provider, store) failed in a way worth retrying
)

// Error is an application error with a code from the vocabulary above and a
// message meant for the person who caused it.
type Error struct {
	Code          string
	Message       string
	stale         bool
	unknownPerson bool
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain,
// or err's text.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// ID prefixes make a wrong kind of id a validation error instead of a lookup
// that silently finds nothing.
const (
	RequestIDPrefix = "req_"
	TokenIDPrefix   = "tok_"
)

// NewRequestID returns a new, time-sortable request id (UUIDv7 in hex).
func NewRequestID() string { return newID(RequestIDPrefix) }

// NewTokenID returns a new, time-sortable token id.
func NewTokenID() string { return newID(TokenIDPrefix) }

func newID(prefix string) string {
	u := uuid.Must(uuid.NewV7())
	return prefix + strings.ReplaceAll(u.String(), "-", "")
}

// ValidRequestID reports whether s looks like a request id.
func ValidRequestID(s string) bool {
	if !strings.HasPrefix(s, RequestIDPrefix) || len(s) != len(RequestIDPrefix)+32 {
		return false
	}
	for _, c := range s[len(RequestIDPrefix):] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Channel is how a request reached Drawbridge.
type Channel string

const (
	ChannelCLI   Channel = "cli"
	ChannelAPI   Channel = "api"
	ChannelSlack Channel = "slack"
	ChannelWeb   Channel = "web"
)

// Entitlement is one thing a person can be granted: for AWS, resource is the
// 12-digit account id and role the permission set name.
type Entitlement struct {
	Provider string `json:"provider"`
	Resource string `json:"resource"`
	Role     string `json:"role"`
}

func (e Entitlement) String() string { return e.Provider + ":" + e.Resource + "/" + e.Role }

// Principal is a person. ID is the canonical id (CanonicalPrincipalID of
// the email); Identities are the person's linked identities in other
// systems, by kind (see IdentityKinds): no two people share one.
type Principal struct {
	ID         string            `json:"id"`
	Name       string            `json:"name,omitempty"`
	Identities map[string]string `json:"identities,omitempty"`
	Groups     []string          `json:"groups,omitempty"`
}

// InGroup reports whether p belongs to group g.
func (p *Principal) InGroup(g string) bool {
	for _, x := range p.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// Directory resolves the people Drawbridge knows, by email or linked id
// (a Slack user id such as U12345678).
type Directory interface {
	Resolve(ctx context.Context, who string) (*Principal, error)
}

// Decision is what policy said about a request.
type Decision struct {
	Effect    Effect `json:"effect"`
	Rule      string `json:"rule,omitempty"`
	PolicySHA string `json:"policy_sha256,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Approval quorum and deadline, copied from the rule so that the request
	// carries what it needs even if the policy changes later.
	ApprovalsRequired int           `json:"approvals_required,omitempty"`
	ApprovalTimeout   time.Duration `json:"approval_timeout,omitempty"`
}

// Effect is a policy outcome.
type Effect string

const (
	EffectAllow           Effect = "allow"
	EffectDeny            Effect = "deny"
	EffectRequireApproval Effect = "require_approval"
)

// Approval is one approver's verdict on a pending request.
type Approval struct {
	Approver string    `json:"approver"`
	Approved bool      `json:"approved"`
	Comment  string    `json:"comment,omitempty"`
	At       time.Time `json:"at"`
	// OnBehalfOf is set when an admin recorded the verdict for Approver.
	By string `json:"by,omitempty"`
}

// Request is one ask for one entitlement for a bounded time, and the grant
// that results from it.
type Request struct {
	ID          string        `json:"id"`
	Requester   string        `json:"requester"`
	Entitlement               // provider, resource, role
	Duration    time.Duration `json:"-"`
	Reason      string        `json:"reason"`
	Ticket      string        `json:"ticket"`
	Channel     Channel       `json:"channel"`
	State       State         `json:"state"`
	Decision    Decision      `json:"decision"`
	Approvals   []Approval    `json:"approvals"`
	// Extends names the ACTIVE request this one extends, if any.
	Extends string `json:"extends,omitempty"`

	CreatedAt        time.Time `json:"created_at"`
	DecidedAt        time.Time `json:"decided_at,omitzero"`
	ApprovalDeadline time.Time `json:"approval_deadline,omitzero"`
	ActivatedAt      time.Time `json:"activated_at,omitzero"`
	ExpiresAt        time.Time `json:"expires_at,omitzero"`
	EndedAt          time.Time `json:"ended_at,omitzero"`
	NextAttemptAt    time.Time `json:"next_attempt_at,omitzero"`
	// PrincipalRef is the provider's id for the requester, resolved when
	// provisioning began: with the entitlement it names the assignment.
	PrincipalRef string `json:"principal_ref,omitempty"`
	// GrantRef is the provider's id for this grant (GrantResult.GrantRef).
	GrantRef string `json:"grant_ref,omitempty"`
	// NoticeAt is when an ACTIVE grant's pre-expiry notice (grant.expiring)
	// is due; zero once it was recorded, or when there is none to give.
	// It is the engine's business only, so it is not part of the JSON
	// contract.
	NoticeAt time.Time `json:"-"`
	// ProvisionStartedAt is when access could first have begun: the start
	// of the earliest provider attempt that was not definitely rejected. It
	// is written before the provider is called, and expiry counts from it.
	ProvisionStartedAt time.Time `json:"provision_started_at,omitzero"`
	// AssignmentFound records what the provider said when this grant's
	// provisioning began: the assignment was already there.
	AssignmentFound bool `json:"assignment_found,omitempty"`
	// PreexistingAccess is standing access: the provider reported the
	// assignment present at this grant's own provisioning and no Drawbridge
	// grant explains it. It is never copied from another grant, and a grant
	// whose own create made the assignment never has it. Standing access is
	// not deleted when the grant ends.
	PreexistingAccess bool `json:"preexisting_access,omitempty"`
	// DeletesAssignment is set by the revocation that decided no other
	// grant needs the assignment. While the request is REVOKING it is a
	// claim on the assignment that provisioning honours (no grant of the
	// same assignment starts until the deletion is confirmed); afterwards
	// it records that Drawbridge deleted the assignment at EndedAt.
	DeletesAssignment bool `json:"deletes_assignment,omitempty"`
	RevokeAttempts    int  `json:"revoke_attempts"`
	// ProvisionAttempts counts failed provisioning attempts.
	ProvisionAttempts int    `json:"provision_attempts"`
	LastError         string `json:"last_error,omitempty"`
	// EndReason says why an ACTIVE grant is being taken away: "expired" or
	// the revoker's reason; it decides whether REVOKING ends EXPIRED or REVOKED.
	EndReason string `json:"end_reason,omitempty"`
	RevokedBy string `json:"revoked_by,omitempty"`
	Version   int    `json:"version"`
}

// ApprovedAt is when a request that needed approval got its last
// approval, zero if it never was approved (the approval latency of the
// audit figures and the dashboard).
func (r *Request) ApprovedAt() time.Time {
	if r.Decision.Effect != EffectRequireApproval || r.State == StatePendingApproval ||
		r.State == StateDenied || r.State == StateCancelled {
		return time.Time{}
	}
	var at time.Time
	for _, a := range r.Approvals {
		if a.Approved && a.At.After(at) {
			at = a.At
		}
	}
	return at
}

// DurationSeconds is the requested duration in whole seconds, as the JSON
// contract shows it.
func (r *Request) DurationSeconds() int64 { return int64(r.Duration / time.Second) }

// DistinctApprovers counts the distinct principals who approved.
func (r *Request) DistinctApprovers() int {
	seen := map[string]bool{}
	for _, a := range r.Approvals {
		if a.Approved {
			seen[CanonicalPrincipalID(a.Approver)] = true
		}
	}
	return len(seen)
}

// Clone returns a deep copy, so a caller can mutate a request and still hand
// the store the version it read.
func (r *Request) Clone() *Request {
	c := *r
	c.Approvals = append([]Approval(nil), r.Approvals...)
	return &c
}

// StaleError is what a store returns when an optimistic update lost a race:
// the request changed since it was read. Callers reload and retry.
func StaleError(id string, version int) error {
	return &Error{Code: ECONFLICT, Message: fmt.Sprintf("request %s was changed by someone else (version %d is stale); reload and retry", id, version), stale: true}
}

// IsStale reports whether err is a lost optimistic-concurrency race, as
// opposed to an illegal transition (also ECONFLICT, but final).
func IsStale(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.stale
}

// HTTPStatus maps the error vocabulary to HTTP status codes, once, for
// every channel that answers over HTTP (the API, its client, the dashboard).
func HTTPStatus(code string) int {
	switch code {
	case EINVALID:
		return http.StatusBadRequest
	case EUNAUTHORIZED:
		return http.StatusUnauthorized
	case EFORBIDDEN:
		return http.StatusForbidden
	case ENOTFOUND:
		return http.StatusNotFound
	case ECONFLICT:
		return http.StatusConflict
	case EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
