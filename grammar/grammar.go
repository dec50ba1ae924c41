// Package grammar is the one request grammar every channel shares — the
// CLI, Slack's slash command and the web form — so that a request typed
// anywhere means the same thing:
//
//	[request] <resource> <role> <hours> [[ticket] <ticket-id>] [--reason …]
//
// (in chat text, a quoted last word is the reason too). <resource> is a 12-digit AWS account id, <provider>:<resource>
// (hooks:payroll-db, aws:123456789012), or a catalog alias (staging) that
// the broker's catalog resolves, refusing one that several providers share.
// <hours> is a plain decimal (0.5, 2, 0.02 ≈ 72 s), read by package duration.
// The forms of the Slack-first broker Drawbridge replaces keep their meaning:
//
//	/boundary 123456789012 ReadOnlyAccess 0.5
//	/boundary request 111122223333 AdministratorAccess 0.5 INC-12345
//	/boundary 111122223333 AdministratorAccess 0.5 ticket INC-12345
//
// Where the channel knows who is asking (Slack, the remote CLI, the web),
// no requester is written; the operator's local CLI names one first
// (ParseWithRequester). The package is pure: it knows no catalog, so it
// says what was written and the broker decides what it names.
package grammar

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
)

// Usage is the grammar as people are shown it.
const Usage = "[request] <resource> <role> <hours> [[ticket] <ticket-id>] [--reason …]"

// UsageWithRequester is the operator's form, with the requester first.
const UsageWithRequester = "<requester> <resource> <role> <hours> [[ticket] <ticket-id>] [--reason …]"

// Request is what one request says.
type Request struct {
	// Requester is set only by ParseWithRequester.
	Requester string
	// Provider is the configured provider instance when the resource was
	// written as <provider>:<resource>, "" when it was written alone (an
	// account id or an alias: the catalog finds the provider).
	Provider string
	Resource string
	Role     string
	// Hours is the hours as written; Duration what they mean.
	Hours    string
	Duration time.Duration
	Ticket   string
	Reason   string
}

// Entitlement is the entitlement as written, for the broker's catalog to
// resolve.
func (r Request) Entitlement() drawbridge.Entitlement {
	return drawbridge.Entitlement{Provider: r.Provider, Resource: r.Resource, Role: r.Role}
}

// String writes r in the grammar, so that Parse(Split(r.String())) is r.
func (r Request) String() string {
	words := []string{"request"}
	if r.Requester != "" {
		words = []string{r.Requester}
	}
	res := r.Resource
	if r.Provider != "" {
		res = r.Provider + ":" + r.Resource
	}
	words = append(words, word(res), word(r.Role), r.Hours)
	if r.Ticket != "" {
		words = append(words, "ticket", word(r.Ticket))
	}
	if r.Reason != "" {
		words = append(words, "--reason", quote(r.Reason))
	}
	return strings.Join(words, " ")
}

// word writes s as it is when Split reads it back as one word, else quoted.
func word(s string) string {
	if strings.ContainsFunc(s, func(c rune) bool { return isSpace(c) || quotes[c] != 0 || c == '”' || c == '’' }) {
		return quote(s)
	}
	return s
}

func isSpace(c rune) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\u00a0' }

// quote writes s as one word Split reads back: in the first pair of
// quotes whose closing quote s does not contain (a reason holding all four
// closing quotes cannot be written as one word).
func quote(s string) string {
	for _, q := range [][2]string{{`"`, `"`}, {"'", "'"}, {"“", "”"}, {"‘", "’"}} {
		if !strings.Contains(s, q[1]) {
			return q[0] + s + q[1]
		}
	}
	return `"` + s + `"`
}

// Error is a request that does not follow the grammar; its message names
// what was wrong and shows the form.
type Error struct {
	Msg   string
	Usage string
}

func (e *Error) Error() string { return e.Msg + "; the form is " + e.Usage }

// Unwrap makes a grammar error an EINVALID *drawbridge.Error, which every
// channel maps to a usage error (exit 2, HTTP 400).
func (e *Error) Unwrap() error {
	return &drawbridge.Error{Code: drawbridge.EINVALID, Message: e.Error()}
}

// Parse reads the words of a request in the caller's form:
//
//	[request] <resource> <role> <hours> [[ticket] <ticket-id>] [--reason …]
//
// A leading word "request" is the keyword, never a resource (name such a
// resource as <provider>:request). --reason takes the rest of the words,
// or one quoted word (Split), or --reason=….
func Parse(words []string) (Request, error) {
	if len(words) > 0 && words[0] == "request" {
		words = words[1:]
	}
	return parse(words, false)
}

// ParseWithRequester reads the operator's form, which names who asks first:
//
//	<requester> <resource> <role> <hours> [[ticket] <ticket-id>] [--reason …]
func ParseWithRequester(words []string) (Request, error) {
	return parse(words, true)
}

// ParseText splits a line (a slash command's text) into words and parses
// them in the caller's form.
//
// In chat a quoted last word is the reason, as people write it
// (`prod AdministratorAccess 1 CHG-7 "db is down"`), unless --reason is
// given or the word follows the keyword ticket (a quoted ticket id).
func ParseText(text string) (Request, error) {
	words, quoted, err := split(text)
	if err != nil {
		return Request{}, err
	}
	if last := len(words) - 1; last >= 3 && quoted[last] && words[last-1] != "ticket" &&
		!slices.ContainsFunc(words, func(w string) bool { return w == "--reason" || strings.HasPrefix(w, "--reason=") }) {
		words = append(words[:last:last], "--reason", words[last])
	}
	return Parse(words)
}

func parse(words []string, withRequester bool) (Request, error) {
	usage := Usage
	if withRequester {
		usage = UsageWithRequester
	}
	fail := func(format string, args ...any) (Request, error) {
		return Request{}, &Error{Msg: fmt.Sprintf(format, args...), Usage: usage}
	}
	var r Request
	words, reason, hasReason, err := cutReason(words)
	if err != nil {
		return fail("%v", err)
	}
	if hasReason {
		if reason == "" {
			return fail("--reason needs the reason after it")
		}
		if err := drawbridge.CheckText("reason", reason, drawbridge.MaxReasonLen); err != nil {
			return fail("%s", drawbridge.ErrorMessage(err))
		}
		r.Reason = reason
	}
	for _, w := range words {
		if strings.HasPrefix(w, "--") {
			return fail("unknown option %q: the only option a request takes here is --reason", w)
		}
	}
	if withRequester {
		if len(words) == 0 {
			return fail("missing requester, resource, role and hours")
		}
		if err := drawbridge.CheckID("requester", words[0]); err != nil || words[0] == "" {
			return fail("requester %q: give an email or a Slack user id", words[0])
		}
		r.Requester, words = words[0], words[1:]
	}
	switch len(words) {
	case 0:
		return fail("missing resource, role and hours")
	case 1:
		return fail("missing role and hours after %s", words[0])
	case 2:
		return fail("missing hours after %s %s", words[0], words[1])
	case 3, 4, 5:
	default:
		return fail("too many words: %q is one more than a request has", words[5])
	}
	if r.Provider, r.Resource, err = ParseResource(words[0]); err != nil {
		return fail("%v", err)
	}
	r.Role = words[1]
	if err := drawbridge.CheckID("role", r.Role); err != nil {
		return fail("%s", drawbridge.ErrorMessage(err))
	}
	r.Hours = words[2]
	if r.Duration, err = duration.ParseHours(r.Hours); err != nil {
		return fail("%v", err)
	}
	switch rest := words[3:]; {
	case len(rest) == 2 && rest[0] != "ticket":
		return fail("unexpected %q: the optional ticket is written as [ticket] <ticket-id>", rest[0])
	case len(rest) == 2:
		r.Ticket = rest[1]
	case len(rest) == 1 && rest[0] == "ticket":
		return fail("ticket needs its id after it, e.g. ticket INC-12345")
	case len(rest) == 1:
		r.Ticket = rest[0]
	}
	if r.Ticket != "" {
		if err := drawbridge.CheckText("ticket", r.Ticket, drawbridge.MaxTicketLen); err != nil {
			return fail("%s", drawbridge.ErrorMessage(err))
		}
	}
	return r, nil
}

// cutReason takes --reason and what follows it off the end of words.
func cutReason(words []string) (rest []string, reason string, has bool, err error) {
	for i, w := range words {
		switch {
		case w == "--reason":
			return words[:i], strings.Join(words[i+1:], " "), true, nil
		case strings.HasPrefix(w, "--reason="):
			if i != len(words)-1 {
				return nil, "", false, errors.New("--reason=… must come last (or quote the reason)")
			}
			return words[:i], strings.TrimPrefix(w, "--reason="), true, nil
		}
	}
	return words, "", false, nil
}

var (
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
	allDigits = regexp.MustCompile(`^[0-9]+$`)
	// providerName is what a configured provider instance may be called
	// (config refuses any other name).
	providerName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
)

// ParseResource reads a <resource>: <provider>:<resource>, a 12-digit AWS
// account id, or an alias, returning the provider ("" unless written) and
// the resource.
func ParseResource(s string) (provider, resource string, err error) {
	if err := drawbridge.CheckID("resource", s); err != nil {
		return "", "", errors.New(drawbridge.ErrorMessage(err))
	}
	if p, res, ok := strings.Cut(s, ":"); ok {
		switch {
		case !providerName.MatchString(p):
			return "", "", fmt.Errorf("%q: before the colon comes a configured provider name (lower-case letters, digits, - and _), as in hooks:payroll-db", s)
		case res == "":
			return "", "", fmt.Errorf("%q: the resource is missing after the colon, as in %s:payroll-db", s, p)
		}
		return p, res, nil
	}
	switch {
	case s == "":
		return "", "", errors.New("the resource is empty")
	case allDigits.MatchString(s) && !accountID.MatchString(s):
		return "", "", fmt.Errorf("account id %q is malformed: it must be 12 digits, e.g. 123456789012", s)
	}
	return "", s, nil
}

// LooksLikePerson reports whether s is written as a person is (an email or
// a Slack user id), which no resource or alias is: the remote CLI uses it
// to accept scripts that still name the requester first.
func LooksLikePerson(s string) bool {
	return strings.Contains(s, "@") || slackUserID.MatchString(s)
}

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// Split cuts a line into words at spaces; a word in double or single
// quotes (straight, or the curly ones chat clients type) may hold spaces.
func Split(text string) ([]string, error) {
	words, _, err := split(text)
	return words, err
}

// split is Split that also reports which words were quoted (in whole or
// in part).
func split(text string) (words []string, quoted []bool, err error) {
	if !utf8.ValidString(text) {
		return nil, nil, &Error{Msg: "the text is not valid UTF-8", Usage: Usage}
	}
	var cur strings.Builder
	inWord, wasQuoted := false, false
	var closing rune
	for _, c := range text {
		switch {
		case closing != 0:
			if c == closing {
				closing = 0
				continue
			}
			cur.WriteRune(c)
		case isSpace(c):
			if inWord {
				words, quoted = append(words, cur.String()), append(quoted, wasQuoted)
				cur.Reset()
				inWord, wasQuoted = false, false
			}
		case quotes[c] != 0:
			closing, inWord, wasQuoted = quotes[c], true, true
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if closing != 0 {
		return nil, nil, &Error{Msg: fmt.Sprintf("a quote is not closed: end the quoted text with %c", closing), Usage: Usage}
	}
	if inWord {
		words, quoted = append(words, cur.String()), append(quoted, wasQuoted)
	}
	return words, quoted, nil
}

// quotes maps each opening quote to its closing one.
var quotes = map[rune]rune{'"': '"', '\'': '\'', '“': '”', '‘': '’'}
