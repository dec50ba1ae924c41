package drawbridge

import (
	"slices"
	"strings"
)

// Role is what a caller may do. Roles add up: a caller may hold several.
type Role string

const (
	// RoleRequester creates requests and acts on its own ones (list, get,
	// cancel, revoke, extend).
	RoleRequester Role = "requester"
	// RoleApprover is a requester that also sees pending requests and
	// approves or denies them (policy still decides who is an eligible
	// approver for which rule).
	RoleApprover Role = "approver"
	// RoleAuditor reads everything in its scope, changes nothing: GET /v1
	// and the read-only /api.
	RoleAuditor Role = "auditor"
	// RoleAdmin may do everything, on behalf of others too.
	RoleAdmin Role = "admin"
)

// Roles lists every role.
var Roles = []Role{RoleRequester, RoleApprover, RoleAuditor, RoleAdmin}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == strings.ToLower(strings.TrimSpace(s)) {
			return r, nil
		}
	}
	return "", Errorf(EINVALID, "unknown role %q (valid: requester, approver, auditor, admin)", s)
}

// hasRole is the one rule for what a set of roles holds: an admin holds
// every role, and an approver is also a requester.
func hasRole(roles []Role, r Role) bool {
	if slices.Contains(roles, RoleAdmin) {
		return true
	}
	if r == RoleRequester && slices.Contains(roles, RoleApprover) {
		return true
	}
	return slices.Contains(roles, r)
}

// Permission is one kind of action a caller may take. Every channel asks
// the caller (Caller.Can) rather than checking roles itself, so the API,
// Slack and the dashboard grant the same actions to the same roles.
type Permission string

const (
	PermSubmit Permission = "submit" // create a request (for oneself)
	PermRead   Permission = "read"   // list and get requests the caller may see
	PermReview Permission = "review" // approve or deny
	PermCancel Permission = "cancel" // withdraw a pending request
	PermRevoke Permission = "revoke" // end an active grant early
	PermExtend Permission = "extend" // ask for more time on an active grant
	PermAudit  Permission = "audit"  // the read-only audit API: lists, events, exports, figures
)

// permissions maps each permission to the roles that grant it (any one
// suffices; see hasRole for what an admin and an approver also hold).
var permissions = map[Permission][]Role{
	PermSubmit: {RoleRequester},
	PermRead:   {RoleRequester, RoleAuditor},
	PermReview: {RoleApprover},
	PermCancel: {RoleRequester},
	PermRevoke: {RoleRequester},
	PermExtend: {RoleRequester},
	PermAudit:  {RoleAuditor},
}

// Scope is an attribute scope (ABAC): the entitlements whose requests a
// caller may see and act on. A nil list leaves that attribute
// unrestricted; an entitlement is in scope when every list that is set
// contains its value.
//
// Providers are configured instance names ("aws", "hooks"), so two
// instances of one kind are scoped apart. Resources and roles are the
// provider's own names; for AWS they are account ids and permission set
// names, which is why the token JSON and flags keep "accounts" and
// "permission_sets" as their aliases.
type Scope struct {
	Providers []string `json:"providers"`
	Resources []string `json:"resources"`
	Roles     []string `json:"roles"`
}

// Caller is who is acting right now, whatever the channel: a bearer
// token, a verified Slack user, an OIDC web session or the operator at
// the CLI each produce one. Visibility, scope and permission are methods
// of the caller, so that every channel applies the same rules.
type Caller struct {
	// Principal is the acting person's canonical id. It is empty only in
	// operator mode (see Operator), where the positional name says who
	// acts; "system:…" names the expiry engine.
	Principal string
	Roles     []Role
	// Scope restricts what a caller that is not an admin sees.
	Scope   Scope
	Channel Channel
	// Auth says how the caller was authenticated, for the audit event:
	// "token:tok_…", "slack:U…", "oidc:<subject>". Empty for the operator
	// and the engine (the OS user is recorded instead).
	Auth string
	// OSUser is the operating-system user in operator mode.
	OSUser string
}

// Operator is the caller of local (operator) mode: whoever can write the
// store is trusted as an admin, the positional name on the command line
// says who acts, and osUser is recorded beside it in every event.
func Operator(osUser string) Caller {
	return Caller{Roles: []Role{RoleAdmin}, Channel: ChannelCLI, OSUser: osUser}
}

// Has reports whether c holds role r (an admin holds every role, an
// approver is also a requester).
func (c Caller) Has(r Role) bool { return hasRole(c.Roles, r) }

// Admin reports whether c is an admin.
func (c Caller) Admin() bool { return slices.Contains(c.Roles, RoleAdmin) }

// Can reports whether c's roles allow actions of kind p. Which requests
// the action may touch is CanSee's answer, and whether c may act for
// someone else is ActAs's.
func (c Caller) Can(p Permission) bool {
	return slices.ContainsFunc(permissions[p], c.Has)
}

// InScope reports whether e is within c's attribute scope.
func (c Caller) InScope(e Entitlement) bool {
	if c.Admin() {
		return true
	}
	return (c.Scope.Providers == nil || slices.Contains(c.Scope.Providers, e.Provider)) &&
		(c.Scope.Resources == nil || slices.Contains(c.Scope.Resources, e.Resource)) &&
		(c.Scope.Roles == nil || slices.Contains(c.Scope.Roles, e.Role))
}

// CanSee reports whether c may see r: within its scope, and for
// requesters their own requests, for approvers also what awaits review or
// what they reviewed; auditors see everything in scope, admins everything.
func (c Caller) CanSee(r *Request) bool {
	if c.Admin() {
		return true
	}
	if !c.InScope(r.Entitlement) {
		return false
	}
	if c.Has(RoleAuditor) || (c.Principal != "" && r.Requester == c.Principal) {
		return true
	}
	if c.Has(RoleApprover) && c.Principal != "" {
		if r.State == StatePendingApproval {
			return true
		}
		for _, a := range r.Approvals {
			if CanonicalPrincipalID(a.Approver) == c.Principal {
				return true
			}
		}
	}
	return false
}

// Narrow restricts a listing to what c may see, inside the query: the
// store only returns requests in c's scope, so pages, counts and cursors
// never reveal anything outside it. Auditors and admins list everything
// in scope, approvers also the queue of pending requests, everyone else
// only their own requests; asking for someone else's is refused.
func (c Caller) Narrow(f *RequestFilter) error {
	f.Providers, f.Resources, f.Roles = nil, nil, nil
	if !c.Admin() {
		f.Providers = slices.Clone(c.Scope.Providers)
		f.Resources, f.Roles = slices.Clone(c.Scope.Resources), slices.Clone(c.Scope.Roles)
	}
	switch {
	case c.Admin() || c.Has(RoleAuditor):
	case c.Has(RoleApprover) && len(f.States) == 1 && f.States[0] == StatePendingApproval:
	default:
		if c.Principal == "" {
			return Errorf(EFORBIDDEN, "a caller with no identity lists nothing")
		}
		if f.Requester != "" && f.Requester != c.Principal {
			return Errorf(EFORBIDDEN, "a %s caller lists only its own requests (approvers also status=PENDING_APPROVAL)", JoinRoles(c.Roles))
		}
		f.Requester = c.Principal
	}
	return nil
}

// ActAs returns the caller that acts when c does verb as person (a
// canonical id). Acting for someone else needs the admin role; so does a
// caller with no principal of its own, which is operator mode only when it
// is an admin (then person is who acts, and the OS user is recorded
// beside it). Whoever acts for someone else stays the recorded actor, so
// the audit event shows it as on behalf of person (OnBehalfOf).
func (c Caller) ActAs(person, verb string) (Caller, error) {
	switch {
	case c.Principal == person:
		return c, nil
	case !c.Admin():
		who := c.Principal
		if who == "" {
			who = "a caller with no identity of its own"
		}
		return c, Errorf(EFORBIDDEN, "%s may not %s on behalf of %s: only the admin role may act for someone else", who, verb, person)
	case c.Principal == "":
		c.Principal = person
	}
	return c, nil
}

// OnBehalfOf reports whether c, as returned by ActAs, acts for person
// rather than as themself.
func (c Caller) OnBehalfOf(person string) bool { return c.Principal != person }

// JoinRoles renders roles for messages ("requester, approver").
func JoinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}
