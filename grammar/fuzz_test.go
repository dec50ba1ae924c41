package grammar_test

import (
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/grammar"
)

// FuzzParse: the parser never panics; what it accepts is well formed (every
// identifier and text passes the broker's rules, the duration is positive)
// and written back by String it parses to the same request.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"123456789012 ReadOnlyAccess 0.5", "request 111122223333 AdministratorAccess 0.5 INC-12345",
		"111122223333 AdministratorAccess 0.5 ticket INC-12345", "hooks:payroll-db reader 0.02",
		`staging ReadOnlyAccess 1 --reason "a b"`, "x y 1 --reason=“z”", "request request request 1",
		`a:b c 1 ticket ' '`, "12345 a 1", "a b 0.000001", "a b 1 --reason ‘x”’",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, err := grammar.ParseText(text)
		if err != nil {
			return
		}
		for field, v := range map[string]string{"resource": r.Resource, "role": r.Role} {
			if v == "" || drawbridge.CheckID(field, v) != nil || strings.Contains(v, " ") {
				t.Fatalf("%q: accepted %s %q", text, field, v)
			}
		}
		if r.Provider != "" && (strings.Contains(r.Provider, ":") || drawbridge.CheckID("provider", r.Provider) != nil) {
			t.Fatalf("%q: accepted provider %q", text, r.Provider)
		}
		if r.Duration <= 0 || drawbridge.CheckText("ticket", r.Ticket, drawbridge.MaxTicketLen) != nil ||
			drawbridge.CheckText("reason", r.Reason, drawbridge.MaxReasonLen) != nil {
			t.Fatalf("%q: accepted %+v", text, r)
		}
		if strings.Contains(r.Reason, `"`) && strings.Contains(r.Reason, "'") && strings.Contains(r.Reason, "”") && strings.Contains(r.Reason, "’") {
			return // no quote can hold it as one word
		}
		again, err := grammar.ParseText(r.String())
		if err != nil || again != r {
			t.Fatalf("%q: %+v written as %q reads back as %+v, %v", text, r, r.String(), again, err)
		}
	})
}
