package drawbridge

import (
	"errors"
	"fmt"
	"slices"
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

// Kinds of linked identity: the systems in which a person has an
// identity of their own that Drawbridge must know (to grant there, or to
// recognise the person when they arrive through that system).
const (
	IdentitySlack    = "slack"    // Slack user id, U… or W…
	IdentityAWS      = "aws"      // IAM Identity Center (Identity Store) user id
	IdentityOIDC     = "oidc"     // "<issuer>#<subject>" of an OIDC login
	IdentityEntra    = "entra"    // Entra ID user object id
	IdentityOkta     = "okta"     // Okta user id
	IdentityBoundary = "boundary" // HashiCorp Boundary user id
)

// IdentityKinds lists every kind of linked identity, in the order messages
// name them. A kind outside it is refused, so that a typo ("slak") is an
// error rather than an identity that never matches.
var IdentityKinds = []string{IdentitySlack, IdentityAWS, IdentityOIDC, IdentityEntra, IdentityOkta, IdentityBoundary}

// CheckIdentity reports why id cannot be a linked identity of kind: an
// unknown kind, an empty id, or one that breaks the identifier rule
// (CheckID: no whitespace, control or format characters, which no system
// issues and which would make look-alike keys). An OIDC
// identity is the issuer and the subject, "<issuer>#<subject>", because a
// subject is unique only within its issuer.
func CheckIdentity(kind, id string) error {
	if !slices.Contains(IdentityKinds, kind) {
		return fmt.Errorf("unknown kind of linked identity %q (known: %s)", kind, strings.Join(IdentityKinds, ", "))
	}
	if id == "" {
		return fmt.Errorf("the %s identity is empty", kind)
	}
	if err := CheckID("the "+kind+" identity", id); err != nil {
		return errors.New(ErrorMessage(err))
	}
	if kind == IdentityOIDC {
		if iss, sub, ok := strings.Cut(id, "#"); !ok || iss == "" || sub == "" {
			return fmt.Errorf("the oidc identity %q must be <issuer>#<subject>, e.g. https://login.example.com#248289761001", id)
		}
	}
	return nil
}

// Identity returns p's linked identity of kind, "" when it has none.
func (p *Principal) Identity(kind string) string { return p.Identities[kind] }

// Link records id as p's linked identity of kind.
func (p *Principal) Link(kind, id string) {
	if p.Identities == nil {
		p.Identities = map[string]string{}
	}
	p.Identities[kind] = id
}

// LinkedIdentities returns the person's identities in other systems as
// "kind:id" ("slack:U…", "aws:<Identity Store user id>"), sorted. Each
// belongs to exactly one person: two directory entries sharing one are
// one person.
func (p *Principal) LinkedIdentities() []string {
	var out []string
	for kind, id := range p.Identities {
		if id != "" {
			out = append(out, kind+":"+id)
		}
	}
	slices.Sort(out)
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

// GroupSource is implemented by a directory that defines groups of its
// own (the static directory of the config). Group names are one namespace
// across sources, and a directory that adds groups from another source
// (the Identity Store, later OIDC claims) must not add a member to a group
// the config defines: whoever can create a group in that other system
// could otherwise make themselves an approver named in the policy.
type GroupSource interface {
	// DefinesGroup reports whether the source defines group name.
	DefinesGroup(name string) bool
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
