// Package directory resolves people from the static list in drawbridge.yaml
// (directory.users): by email, by a linked identity written "kind:id"
// ("slack:U12345678", "oidc:https://idp.example.com#248289761001"), or by
// a bare Slack user id ("U12345678"), canonicalised to the lower-cased
// email.
package directory

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/drawbridge-jit/drawbridge"
)

// User is one configured person. Identities are their linked identities
// by kind (drawbridge.IdentityKinds).
type User struct {
	Email, Name string
	Identities  map[string]string
	Groups      []string
}

// Static is a Directory over a fixed list of users.
type Static struct {
	byKey  map[string]*drawbridge.Principal
	groups map[string]bool
}

var _ drawbridge.GroupSource = (*Static)(nil)

// NewStatic indexes users by email and by every linked identity. The list
// is expected to have passed config validation (one entry per person, no
// shared linked identity).
func NewStatic(users []User) *Static {
	s := &Static{byKey: map[string]*drawbridge.Principal{}, groups: map[string]bool{}}
	for _, u := range users {
		p := &drawbridge.Principal{
			ID: drawbridge.CanonicalPrincipalID(u.Email), Name: u.Name,
			Groups: slices.Clone(u.Groups),
		}
		for kind, id := range u.Identities {
			if id != "" {
				p.Link(kind, id)
			}
		}
		s.byKey[p.ID] = p
		for _, key := range p.LinkedIdentities() {
			s.byKey[key] = p
		}
		for _, g := range u.Groups {
			s.groups[g] = true
		}
	}
	return s
}

// Resolve returns the person named by who, or an unknown-person error
// that says where people are configured (and never who is).
func (s *Static) Resolve(_ context.Context, who string) (*drawbridge.Principal, error) {
	key := strings.TrimSpace(who)
	if kind, _, ok := strings.Cut(key, ":"); ok && slices.Contains(drawbridge.IdentityKinds, kind) {
		// a linked identity, looked up as written
	} else if strings.Contains(key, "@") {
		key = drawbridge.CanonicalPrincipalID(key)
	} else if looksLikeSlackID(key) {
		key = drawbridge.IdentitySlack + ":" + key
	}
	if p, ok := s.byKey[key]; ok {
		c := *p
		c.Groups = slices.Clone(p.Groups)
		c.Identities = maps.Clone(p.Identities)
		return &c, nil
	}
	if who == "" {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "no person named: give an email or a Slack user id")
	}
	return nil, drawbridge.UnknownPerson(who, "not in directory.users of the config by email, slack_id or identities (emails are ASCII; check the spelling)")
}

// DefinesGroup reports whether some configured user is in group g: the
// config defines that group, so no other source may add members to it.
func (s *Static) DefinesGroup(g string) bool { return s.groups[g] }

// looksLikeSlackID matches Slack user ids (U… or W…, upper-case alphanumerics).
func looksLikeSlackID(s string) bool {
	if len(s) < 3 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
