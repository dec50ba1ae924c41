package drawbridge

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// CanonicalPrincipalID is the form in which people are compared and
// recorded: the email trimmed, in Unicode NFC, with ASCII letters
// lower-cased. Only ASCII is case-folded: Unicode case folding makes
// different strings equal ("ſam" and "sam", the Kelvin sign and "k"), and
// an identity that two spellings reach is an alias someone can use to
// approve their own request. Configured emails are ASCII (CheckEmail), so
// a non-ASCII spelling matches nobody.
func CanonicalPrincipalID(s string) string {
	s = norm.NFC.String(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// CheckEmail reports why s cannot be a configured person's email. Emails
// must be ASCII: a non-ASCII letter is either a look-alike of an ASCII one
// (Cyrillic "а", the long "ſ", the Kelvin sign "K", an invisible U+200B)
// or an internationalised address whose case folding differs between
// systems; both would make two spellings of one person.
func CheckEmail(s string) error {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.TrimSpace(s) != s || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("email %q is not an email address (name@domain)", s)
	}
	for i, r := range s {
		if r >= utf8.RuneSelf || r < ' ' || r == 0x7f {
			return fmt.Errorf("email %q has the non-ASCII character %U at byte %d: emails must be ASCII, so that a look-alike cannot name someone else (write the domain in its xn-- form)", s, r, i)
		}
	}
	return nil
}

// LinkedIdentities returns the person's identities in other systems as
// "kind:id" ("slack:U…", "aws:<Identity Store user id>"). Each belongs to
// exactly one person: two directory entries sharing one are one person.
func (p *Principal) LinkedIdentities() []string {
	var out []string
	if p.SlackID != "" {
		out = append(out, "slack:"+p.SlackID)
	}
	if p.AWSUserID != "" {
		out = append(out, "aws:"+p.AWSUserID)
	}
	return out
}

// SamePerson reports whether p and o are one person: the same canonical
// id, or any linked identity in common. It returns what they share, for
// messages. Self-approval and quorum compare people with it, so a second
// directory entry for the same Slack or AWS user is no second person.
func (p *Principal) SamePerson(o *Principal) (string, bool) {
	if CanonicalPrincipalID(p.ID) == CanonicalPrincipalID(o.ID) {
		return CanonicalPrincipalID(p.ID), true
	}
	theirs := o.LinkedIdentities()
	for _, id := range p.LinkedIdentities() {
		for _, t := range theirs {
			if id == t {
				return id, true
			}
		}
	}
	return "", false
}

// UnknownPerson is the error for a name that resolves to nobody. It is a
// usage error (EINVALID: exit 2, HTTP 400), not a missing resource, and
// its message never lists who does exist: whoever mistypes a name must
// not learn the directory.
func UnknownPerson(who, where string) *Error {
	return &Error{Code: EINVALID, Message: fmt.Sprintf("unknown person %q: %s", who, where), unknownPerson: true}
}

// IsUnknownPerson reports whether err says a person named does not exist.
func IsUnknownPerson(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.unknownPerson
}
