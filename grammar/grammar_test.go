package grammar_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/grammar"
)

// Every accepted form of the reference README
// (../shared/reference/aws-jit-broker-readme.txt) parses as it did there.
func TestReferenceForms(t *testing.T) {
	for _, tc := range []struct {
		text string
		want grammar.Request
	}{
		{"123456789012 ReadOnlyAccess 0.5", grammar.Request{Resource: "123456789012", Role: "ReadOnlyAccess", Hours: "0.5", Duration: 30 * time.Minute}},
		{"123456789012 ReadOnlyAccess 0.02", grammar.Request{Resource: "123456789012", Role: "ReadOnlyAccess", Hours: "0.02", Duration: 72 * time.Second}},
		{"request 111122223333 AdministratorAccess 0.5 INC-12345", grammar.Request{Resource: "111122223333", Role: "AdministratorAccess", Hours: "0.5", Duration: 30 * time.Minute, Ticket: "INC-12345"}},
		{"111122223333 AdministratorAccess 0.5 ticket INC-12345", grammar.Request{Resource: "111122223333", Role: "AdministratorAccess", Hours: "0.5", Duration: 30 * time.Minute, Ticket: "INC-12345"}},
		// The general form: <AccountID> <PermissionSet> <Hours> [TicketID].
		{"123456789012 PowerUserAccess 2 CHG-7", grammar.Request{Resource: "123456789012", Role: "PowerUserAccess", Hours: "2", Duration: 2 * time.Hour, Ticket: "CHG-7"}},
		// And what Drawbridge adds: provider:resource, aliases, --reason.
		{"hooks:payroll-db reader 0.5", grammar.Request{Provider: "hooks", Resource: "payroll-db", Role: "reader", Hours: "0.5", Duration: 30 * time.Minute}},
		{"request aws:123456789012 ReadOnlyAccess 1", grammar.Request{Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess", Hours: "1", Duration: time.Hour}},
		{"staging ReadOnlyAccess 1 --reason look at the logs", grammar.Request{Resource: "staging", Role: "ReadOnlyAccess", Hours: "1", Duration: time.Hour, Reason: "look at the logs"}},
		{`prod AdministratorAccess 1 ticket INC-9 --reason "db is down"`, grammar.Request{Resource: "prod", Role: "AdministratorAccess", Hours: "1", Duration: time.Hour, Ticket: "INC-9", Reason: "db is down"}},
		{"prod AdministratorAccess 1 INC-9 --reason=“db down”", grammar.Request{Resource: "prod", Role: "AdministratorAccess", Hours: "1", Duration: time.Hour, Ticket: "INC-9", Reason: "db down"}},
		{"  123456789012\tReadOnlyAccess   0.5  ", grammar.Request{Resource: "123456789012", Role: "ReadOnlyAccess", Hours: "0.5", Duration: 30 * time.Minute}},
	} {
		got, err := grammar.ParseText(tc.text)
		if err != nil {
			t.Errorf("%q: %v", tc.text, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.text, got, tc.want)
		}
	}
}

// The reference CLI names the requester first (local operator mode).
func TestWithRequester(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  grammar.Request
	}{
		{[]string{"U12345678", "123456789012", "ReadOnlyAccess", "0.5"}, grammar.Request{Requester: "U12345678", Resource: "123456789012", Role: "ReadOnlyAccess", Hours: "0.5", Duration: 30 * time.Minute}},
		{[]string{"alice@example.com", "111122223333", "AdministratorAccess", "1", "INC-12345"}, grammar.Request{Requester: "alice@example.com", Resource: "111122223333", Role: "AdministratorAccess", Hours: "1", Duration: time.Hour, Ticket: "INC-12345"}},
		{[]string{"alice@example.com", "111122223333", "AdministratorAccess", "1", "ticket", "INC-12345"}, grammar.Request{Requester: "alice@example.com", Resource: "111122223333", Role: "AdministratorAccess", Hours: "1", Duration: time.Hour, Ticket: "INC-12345"}},
		{[]string{"alice@example.com", "hooks:payroll-db", "reader", "0.5"}, grammar.Request{Requester: "alice@example.com", Provider: "hooks", Resource: "payroll-db", Role: "reader", Hours: "0.5", Duration: 30 * time.Minute}},
	} {
		got, err := grammar.ParseWithRequester(tc.words)
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.words, got, err, tc.want)
		}
	}
	for _, s := range []string{"U12345678", "W0AB12", "alice@example.com"} {
		if !grammar.LooksLikePerson(s) {
			t.Errorf("LooksLikePerson(%q) = false", s)
		}
	}
	for _, s := range []string{"123456789012", "hooks:payroll-db", "staging", "u123", "U1"} {
		if grammar.LooksLikePerson(s) {
			t.Errorf("LooksLikePerson(%q) = true", s)
		}
	}
}

// What is not the grammar is refused, saying what is wrong and showing the
// form; every such error is EINVALID (a usage error on every channel).
func TestErrors(t *testing.T) {
	for text, want := range map[string]string{
		"":                                                  "missing resource, role and hours",
		"request":                                           "missing resource, role and hours",
		"123456789012":                                      "missing role and hours after 123456789012",
		"123456789012 ReadOnlyAccess":                       "missing hours after 123456789012 ReadOnlyAccess",
		"123456789012 ReadOnlyAccess soon":                  `hours "soon" is not a number`,
		"123456789012 ReadOnlyAccess 0":                     "hours must be positive",
		"123456789012 ReadOnlyAccess -1":                    "hours must be positive",
		"123456789012 ReadOnlyAccess 1e2":                   "plain decimal",
		"123456789012 ReadOnlyAccess 200":                   "168",
		"12345 ReadOnlyAccess 1":                            `account id "12345" is malformed: it must be 12 digits`,
		"1234567890123 ReadOnlyAccess 1":                    "must be 12 digits",
		"Hooks:x reader 1":                                  "configured provider name",
		"hooks: reader 1":                                   "the resource is missing after the colon",
		"123456789012 ReadOnlyAccess 1 tik INC-1":           `unexpected "tik"`,
		"123456789012 ReadOnlyAccess 1 ticket":              "ticket needs its id",
		"123456789012 ReadOnlyAccess 1 ticket INC-1 extra":  `too many words: "extra"`,
		"123456789012 ReadOnlyAccess 1 --duration 2h":       `unknown option "--duration"`,
		"123456789012 ReadOnlyAccess 1 --reason":            "--reason needs the reason",
		"123456789012 ReadOnlyAccess 1 --reason=x INC-1":    "--reason=… must come last",
		`123456789012 ReadOnlyAccess 1 --reason "open`:      "a quote is not closed",
		"123456789012 Read\u202eOnly 1":                     "U+202E",
		"123456789012 ReadOnlyAccess 1 INC\u00001":          "U+0000",
		"123456789012 ReadOnlyAccess 1 --reason a\u001b[2J": "U+001B",
	} {
		_, err := grammar.ParseText(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want an error naming %q", text, err, want)
			continue
		}
		if !strings.Contains(err.Error(), grammar.Usage) {
			t.Errorf("%q: %v does not show the form", text, err)
		}
		var de *drawbridge.Error
		if !errors.As(err, &de) || de.Code != drawbridge.EINVALID {
			t.Errorf("%q: %v is not EINVALID", text, err)
		}
	}
	_, err := grammar.ParseWithRequester([]string{"alice@example.com", "123456789012"})
	if err == nil || !strings.Contains(err.Error(), grammar.UsageWithRequester) {
		t.Errorf("operator form error %v does not show the operator form", err)
	}
}

// String writes a request back in the grammar.
func TestString(t *testing.T) {
	r := grammar.Request{Provider: "hooks", Resource: "payroll-db", Role: "reader", Hours: "0.5", Ticket: "INC-1", Reason: `say "hi"`}
	if got := r.String(); got != `request hooks:payroll-db reader 0.5 ticket INC-1 --reason 'say "hi"'` {
		t.Errorf("String() = %s", got)
	}
}
