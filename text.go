package drawbridge

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length caps, in characters (Unicode code points), for what people type.
// A reason is a sentence or two for an approver and an auditor; a ticket is
// a reference or a URL to one; identifiers are emails, Slack ids, account
// ids, role names and request ids, all far shorter than the cap.
const (
	MaxReasonLen = 1000 // reason, review comment, revoke reason
	MaxTicketLen = 128
	MaxIDLen     = 256 // people, provider, resource, role, request ids
)

// CheckText is the one rule for free text a person types (reason, ticket,
// review comment), applied by the broker so that every channel — the CLI
// in local mode, the HTTP API, Slack — enforces it. The text is printed on
// approvers' terminals, in Slack and in audit exports, so it must not be
// able to forge a line ("state: ACTIVE"), move the cursor or clear the
// screen, or reorder what the reader sees. Refused:
//   - invalid UTF-8;
//   - control characters: C0 (U+0000–U+001F, newline and tab included:
//     the text is one line), DEL (U+007F) and C1 (U+0080–U+009F);
//   - line and paragraph separators (U+2028, U+2029);
//   - format characters (Unicode category Cf): the bidirectional controls
//     (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), zero-width
//     space U+200B, word joiner U+2060, byte order mark U+FEFF, soft hyphen,
//     the invisible tag characters U+E0000–U+E007F and the rest;
//     except the zero-width joiner and non-joiner (U+200D, U+200C), which
//     emoji sequences and scripts such as Persian and the Indic ones need
//     and which cannot reorder or break a line;
//   - more than max characters.
func CheckText(field, s string, max int) error {
	return check(field, s, max, false)
}

// CheckID is the rule for identifiers a person types (requester, approver,
// provider, resource, role, request id): CheckText's, with no whitespace
// and no format character at all, so that two identifiers that look the
// same are the same, and at most MaxIDLen characters.
func CheckID(field, s string) error {
	return check(field, s, MaxIDLen, true)
}

func check(field, s string, max int, id bool) error {
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "%s is not valid UTF-8", field)
	}
	n := 0
	for _, r := range s {
		n++
		if refused(r) || id && (r == '\u200c' || r == '\u200d' || unicode.IsSpace(r)) {
			return Errorf(EINVALID, "%s: character %d is %U (%s), which %s may not contain: remove it",
				field, n, r, kind(r), field)
		}
	}
	if n > max {
		return Errorf(EINVALID, "%s is %d characters; the limit is %d", field, n, max)
	}
	return nil
}

// refused reports whether CheckText refuses r anywhere.
func refused(r rune) bool {
	switch {
	case unicode.Is(unicode.Cc, r), r == '\u2028', r == '\u2029':
		return true
	case r == '\u200c', r == '\u200d':
		return false
	}
	return unicode.Is(unicode.Cf, r)
}

func kind(r rune) string {
	switch {
	case unicode.Is(unicode.Cc, r):
		return "a control character"
	case unicode.Is(unicode.Bidi_Control, r):
		return "a bidirectional text control"
	case r == '\u2028', r == '\u2029':
		return "a line separator"
	case unicode.IsSpace(r):
		return "whitespace"
	}
	return "an invisible formatting character"
}

// Clip cuts s to at most n bytes at a rune boundary, marking the cut with
// "…": how a message another system sent us (a receiver's body, Graph's or
// Okta's error text) is bounded before it is stored or shown.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Printable renders s for a terminal or any other human-facing output:
// every character CheckText refuses, and every byte of invalid UTF-8, is
// shown as a Go-style escape (\n, \x1b, \u202e), so text stored before
// the rule existed, or arriving from a store or server we do not control,
// is shown rather than obeyed. Other text, including backslashes, is left
// as it is.
func Printable(s string) string {
	if isPrintable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && refused(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xffff && refused(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		case refused(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isPrintable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if refused(r) {
			return false
		}
	}
	return true
}
