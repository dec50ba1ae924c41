// Package catalog is the offline list of what can be requested: the AWS
// accounts from drawbridge.yaml (with their OU path and tags, which the
// policy's ou: and tag: selectors match) and each provider's roles
// (permission sets). Requests for anything else are refused before policy
// runs, with the valid choices in the message.
package catalog

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/drawbridge-jit/drawbridge"
)

// Account is one requestable account.
type Account struct {
	ID, Name string
	OUs      []string // outermost first
	Tags     map[string]string
}

// Static is a Catalog over configured accounts and roles.
type Static struct {
	accounts map[string]Account
	order    []string
	roles    map[string][]string // provider -> sorted role names
}

// NewStatic builds a catalog. roles maps provider name to its role names.
func NewStatic(accounts []Account, roles map[string][]string) *Static {
	s := &Static{accounts: map[string]Account{}, roles: map[string][]string{}}
	for _, a := range accounts {
		s.accounts[a.ID] = a
		s.order = append(s.order, a.ID)
	}
	for p, rs := range roles {
		rs = append([]string(nil), rs...)
		sort.Strings(rs)
		s.roles[p] = rs
	}
	return s
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// ValidAccountID reports whether s is a 12-digit AWS account id.
func ValidAccountID(s string) bool { return accountID.MatchString(s) }

// Check returns an EINVALID error naming the valid choices when e is not
// requestable.
func (s *Static) Check(e drawbridge.Entitlement) error {
	roles, ok := s.roles[e.Provider]
	if !ok {
		return drawbridge.Errorf(drawbridge.EINVALID, "unknown provider %q (configured: %s)", e.Provider, strings.Join(s.providers(), ", "))
	}
	if e.Provider == "aws" && !ValidAccountID(e.Resource) {
		return drawbridge.Errorf(drawbridge.EINVALID, "account id %q is malformed: it must be 12 digits, e.g. 123456789012", e.Resource)
	}
	if len(s.accounts) > 0 {
		if _, ok := s.accounts[e.Resource]; !ok {
			return drawbridge.Errorf(drawbridge.EINVALID, "unknown account %s (configured: %s)", e.Resource, s.describeAccounts())
		}
	}
	for _, r := range roles {
		if r == e.Role {
			return nil
		}
	}
	return drawbridge.Errorf(drawbridge.EINVALID, "unknown permission set %q (configured: %s; names are case-sensitive)", e.Role, strings.Join(roles, ", "))
}

// ResourceAttrs returns the account's OU path and tags.
func (s *Static) ResourceAttrs(e drawbridge.Entitlement) ([]string, map[string]string) {
	a := s.accounts[e.Resource]
	return a.OUs, a.Tags
}

func (s *Static) providers() []string {
	var ps []string
	for p := range s.roles {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	if len(ps) == 0 {
		return []string{"none: configure providers in drawbridge.yaml"}
	}
	return ps
}

func (s *Static) describeAccounts() string {
	parts := make([]string, 0, len(s.order))
	for _, id := range s.order {
		if n := s.accounts[id].Name; n != "" {
			parts = append(parts, fmt.Sprintf("%s (%s)", id, n))
		} else {
			parts = append(parts, id)
		}
	}
	return strings.Join(parts, ", ")
}

// Resources lists the configured account ids in config order.
func (s *Static) Resources() []string { return append([]string(nil), s.order...) }
