// Package directory resolves people from the static list in drawbridge.yaml
// (directory.users): by email, by Slack user id ("U12345678" or
// "slack:U12345678"), canonicalised to the lower-cased email.
package directory

import (
	"context"
	"strings"

	"github.com/drawbridge-jit/drawbridge"
)

// User is one configured person.
type User struct {
	Email, Name, SlackID, AWSUserID string
	Groups                          []string
}

// Static is a Directory over a fixed list of users.
type Static struct {
	byKey map[string]*drawbridge.Principal
}

// NewStatic indexes users by email and Slack id. The list is expected to
// have passed config validation (one entry per person, no shared linked
// identity).
func NewStatic(users []User) *Static {
	s := &Static{byKey: map[string]*drawbridge.Principal{}}
	for _, u := range users {
		p := &drawbridge.Principal{
			ID: drawbridge.CanonicalPrincipalID(u.Email), Name: u.Name, SlackID: u.SlackID,
			AWSUserID: u.AWSUserID, Groups: append([]string(nil), u.Groups...),
		}
		s.byKey[p.ID] = p
		if u.SlackID != "" {
			s.byKey["slack:"+u.SlackID] = p
		}
	}
	return s
}

// Resolve returns the person named by who, or an unknown-person error
// that says where people are configured (and never who is).
func (s *Static) Resolve(_ context.Context, who string) (*drawbridge.Principal, error) {
	key := strings.TrimSpace(who)
	if strings.HasPrefix(key, "slack:") {
		// keep as is
	} else if strings.Contains(key, "@") {
		key = drawbridge.CanonicalPrincipalID(key)
	} else if looksLikeSlackID(key) {
		key = "slack:" + key
	}
	if p, ok := s.byKey[key]; ok {
		c := *p
		c.Groups = append([]string(nil), p.Groups...)
		return &c, nil
	}
	if who == "" {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "no person named: give an email or a Slack user id")
	}
	return nil, drawbridge.UnknownPerson(who, "not in directory.users of the config by email or slack_id (emails are ASCII; check the spelling)")
}

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
