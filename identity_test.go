package drawbridge_test

import (
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
)

func TestCanonicalPrincipalIDFoldsASCIIOnly(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{" Alice@Example.COM ", "alice@example.com"},
		// The long s folds to "s" under Unicode case folding (and in the
		// AWS Identity Store's case-insensitive match): it must stay apart.
		{"ſam@example.com", "ſam@example.com"},
		{"SAM@EXAMPLE.COM", "sam@example.com"},
		// Only ASCII letters change case; other letters keep theirs.
		{"ÉVE@example.com", "Éve@example.com"},
		// NFC: a decomposed é and a precomposed é are one id.
		{"e\u0301ve@example.com", "\u00e9ve@example.com"},
	} {
		if got := drawbridge.CanonicalPrincipalID(tc.in); got != tc.want {
			t.Errorf("CanonicalPrincipalID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if drawbridge.CanonicalPrincipalID("ſam@example.com") == drawbridge.CanonicalPrincipalID("sam@example.com") {
		t.Error("ſam and sam are one canonical id")
	}
}

func TestCheckEmail(t *testing.T) {
	for _, ok := range []string{"alice@example.com", "Alice.Alt+jit@Example.co.uk"} {
		if err := drawbridge.CheckEmail(ok); err != nil {
			t.Errorf("CheckEmail(%q) = %v", ok, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"alice", "not an email address"},
		{"ſam@example.com", "U+017F"},
		{"\u0430lice@example.com", "U+0430"}, // Cyrillic a
		{"\u212Aate@example.com", "U+212A"},  // Kelvin sign, NFC makes it K
		{"alice@exa\u200bmple.com", "U+200B"},
	} {
		err := drawbridge.CheckEmail(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "ASCII") && tc.want != "not an email address" {
			t.Errorf("CheckEmail(%q) = %v, want an error naming %s", tc.in, err, tc.want)
		}
	}
}

func TestSamePersonComparesEveryLinkedIdentity(t *testing.T) {
	alice := &drawbridge.Principal{ID: "alice@example.com", Identities: map[string]string{"slack": "U1", "aws": "a-1", "oidc": "https://idp#1"}}
	for _, tc := range []struct {
		name  string
		other drawbridge.Principal
		want  string
	}{
		{"same id", drawbridge.Principal{ID: "alice@example.com"}, "alice@example.com"},
		{"shared AWS user", drawbridge.Principal{ID: "alice.alt@example.com", Identities: map[string]string{"aws": "a-1"}}, "aws:a-1"},
		{"shared Slack user", drawbridge.Principal{ID: "alice.alt@example.com", Identities: map[string]string{"slack": "U1", "aws": "a-2"}}, "slack:U1"},
		{"different", drawbridge.Principal{ID: "bob@example.com", Identities: map[string]string{"slack": "U2", "aws": "a-2"}}, ""},
		{"empty ids are not shared", drawbridge.Principal{ID: "carol@example.com"}, ""},
		{"shared OIDC subject", drawbridge.Principal{ID: "alice.sso@example.com", Identities: map[string]string{"oidc": "https://idp#1"}}, "oidc:https://idp#1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, same := alice.SamePerson(&tc.other)
			if got != tc.want || same != (tc.want != "") {
				t.Errorf("SamePerson = %q, %v; want %q", got, same, tc.want)
			}
			if back, _ := tc.other.SamePerson(alice); back != got {
				t.Errorf("not symmetric: %q vs %q", back, got)
			}
		})
	}
	if _, same := (&drawbridge.Principal{ID: "x@example.com"}).SamePerson(&drawbridge.Principal{ID: "y@example.com"}); same {
		t.Error("two people without linked identities are the same person")
	}
}
