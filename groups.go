package drawbridge

import (
	"context"
	"time"
)

// GroupMembership is one person's membership of a group computed outside
// the config: a managed group from their ID token's claims at sign-in
// (Source "oidc:<issuer>"), later a provider directory's groups. It counts
// only while it is fresh — ComputedAt plus the source's validity — so that
// removing someone from the group at the identity provider removes their
// rights here without waiting for them to sign in again.
type GroupMembership struct {
	Principal  string
	Group      string
	Source     string
	ComputedAt time.Time
}

// GroupMembershipStore keeps computed group memberships.
type GroupMembershipStore interface {
	// ReplaceGroupMemberships makes groups, computed at at, the whole of
	// principal's memberships from source: memberships from that source
	// not in groups are deleted, in one transaction. Other sources are
	// untouched.
	ReplaceGroupMemberships(ctx context.Context, principal, source string, groups []string, at time.Time) error
	// GroupMemberships returns principal's memberships from every source,
	// ordered by group then source.
	GroupMemberships(ctx context.Context, principal string) ([]GroupMembership, error)
}
