package drawbridge

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Wildcard in a token scope means "every provider", "every resource" or
// "every role". It is refused unless the operator allows wildcard scopes.
const Wildcard = "*"

// TokenSecretPrefix starts every token secret, so that a leaked secret is
// recognisable by secret scanners and in logs.
const TokenSecretPrefix = "dbt_"

// Token is an API bearer token: a principal, its roles, and an attribute
// scope (ABAC) restricting which providers, resources and roles it can see
// and act on. Only the SHA-256 of the secret is stored; the secret is
// shown once, when the token is created.
type Token struct {
	ID        string `json:"id"`
	Principal string `json:"principal"`
	Roles     []Role `json:"roles"`
	// Scope limits the token. An empty list leaves that attribute
	// unscoped (see Validate for who may have that); ["*"] means every
	// value and needs api.allow_wildcard_scopes.
	Scope       Scope     `json:"scope"`
	Description string    `json:"description,omitempty"`
	Hash        string    `json:"-"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
}

// MarshalJSON adds the AWS names of the resource and role scopes,
// "accounts" and "permission_sets", which scripts read since before
// scopes named providers.
func (t *Token) MarshalJSON() ([]byte, error) {
	type plain Token
	return json.Marshal(struct {
		*plain
		Accounts       []string `json:"accounts"`
		PermissionSets []string `json:"permission_sets"`
	}{(*plain)(t), t.Scope.Resources, t.Scope.Roles})
}

// Has reports whether t holds role r (an admin holds every role, an
// approver is also a requester).
func (t *Token) Has(r Role) bool { return hasRole(t.Roles, r) }

// Admin reports whether t is an admin token.
func (t *Token) Admin() bool { return slices.Contains(t.Roles, RoleAdmin) }

// Active reports whether t may be used at now: not revoked, not expired.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// Wildcard reports whether any scope of t is the wildcard.
func (t *Token) Wildcard() bool {
	return slices.Contains(t.Scope.Providers, Wildcard) || slices.Contains(t.Scope.Resources, Wildcard) ||
		slices.Contains(t.Scope.Roles, Wildcard)
}

// Caller is the caller a request authenticated by t acts as: its principal
// and roles, and its scope with the wildcard read as "unrestricted" (an
// admin's scope is ignored: admins see everything).
func (t *Token) Caller() Caller {
	return Caller{Principal: t.Principal, Roles: slices.Clone(t.Roles), Channel: ChannelAPI, Auth: "token:" + t.ID,
		Scope: Scope{Providers: scopeList(t.Scope.Providers), Resources: scopeList(t.Scope.Resources), Roles: scopeList(t.Scope.Roles)}}
}

// scopeList is one attribute of a token's scope as a Caller holds it: nil
// (unrestricted) when empty or the wildcard.
func scopeList(vals []string) []string {
	if len(vals) == 0 || slices.Contains(vals, Wildcard) {
		return nil
	}
	return slices.Clone(vals)
}

// Validate checks a token before it is stored. Auditors and approvers see
// other people's requests, so they must carry an explicit scope: the
// providers they may see, or both the resources and the roles (the
// wildcard counts, when allowWildcard); admins see everything and take no
// scope.
func (t *Token) Validate(allowWildcard bool) error {
	if !strings.Contains(t.Principal, "@") {
		return Errorf(EINVALID, "principal %q is not an email address", t.Principal)
	}
	if len(t.Roles) == 0 {
		return Errorf(EINVALID, "a token needs at least one role (requester, approver, auditor, admin)")
	}
	if t.Wildcard() && !allowWildcard {
		return Errorf(EINVALID, "wildcard scope %q is refused: list the providers, resources (accounts) and roles (permission sets), or set api.allow_wildcard_scopes: true", Wildcard)
	}
	sc := t.Scope
	if t.Admin() && (len(sc.Providers) > 0 || len(sc.Resources) > 0 || len(sc.Roles) > 0) {
		return Errorf(EINVALID, "an admin token sees everything: it takes no --providers, --resources (--accounts) or --entitlement-roles (--permission-sets)")
	}
	if !t.Admin() && (t.Has(RoleAuditor) || t.Has(RoleApprover)) && len(sc.Providers) == 0 && (len(sc.Resources) == 0 || len(sc.Roles) == 0) {
		return Errorf(EINVALID, "auditor and approver tokens see other people's requests: give --providers, or --resources and --entitlement-roles (for AWS --accounts and --permission-sets); %q means all, with api.allow_wildcard_scopes: true", Wildcard)
	}
	return nil
}

// NewTokenSecret returns a new random secret: the prefix and 32 random
// bytes in lower-case base32.
func NewTokenSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	return TokenSecretPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// HashTokenSecret is the stored form of a secret (hex SHA-256). Secrets are
// 256-bit random values, so a plain hash cannot be brute-forced and lets
// the store look a token up by an index.
func HashTokenSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// TokenStore persists API tokens (hashes only).
type TokenStore interface {
	// CreateToken inserts t (ECONFLICT if its id or hash exists).
	CreateToken(ctx context.Context, t *Token) error
	// TokenByHash returns the token with that secret hash, or ENOTFOUND.
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	// ListTokens returns every token, newest first.
	ListTokens(ctx context.Context) ([]*Token, error)
	// RevokeToken marks the token revoked at at (ENOTFOUND if unknown).
	RevokeToken(ctx context.Context, id string, at time.Time) error
}

// RequestCount is the number of requests in one state through one channel;
// Failing counts those with failed revocation attempts.
type RequestCount struct {
	State   State
	Channel Channel
	N       int
	Failing int
}
