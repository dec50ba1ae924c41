package drawbridge_test

import (
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
)

// TestCheckText is the text rule every channel applies to reasons,
// tickets and comments: a requester must not be able to forge lines, move
// the cursor, clear the screen or reorder what an approver reads.
func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // substring of the error; "" = accepted
	}{
		{"plain", "read the logs for INC-12345", ""},
		{"accents and CJK", "Überprüfung der Protokolle, 日志检查", ""},
		{"emoji with zero-width joiner", "on call 👩\u200d💻", ""},
		{"Persian zero-width non-joiner", "می\u200cخواهم", ""},
		{"newline forging a state line", "debug\nstate:        ACTIVE", "U+000A"},
		{"carriage return", "debug\rstate: ACTIVE", "U+000D"},
		{"tab", "a\tb", "U+0009"},
		{"escape sequence clearing the screen", "x\x1b[2J", "U+001B"},
		{"NUL", "a\x00b", "U+0000"},
		{"DEL", "a\x7fb", "U+007F"},
		{"C1 CSI", "a\u009b2Jb", "U+009B"},
		{"right-to-left override", "ok \u202egnp.exe", "U+202E"},
		{"left-to-right embedding", "\u202aabc", "U+202A"},
		{"first strong isolate", "a\u2068b", "U+2068"},
		{"pop directional isolate", "a\u2069b", "U+2069"},
		{"right-to-left mark", "a\u200fb", "U+200F"},
		{"zero-width space", "adm\u200bin", "U+200B"},
		{"word joiner", "a\u2060b", "U+2060"},
		{"byte order mark", "\ufeffreason", "U+FEFF"},
		{"line separator", "a\u2028b", "U+2028"},
		{"paragraph separator", "a\u2029b", "U+2029"},
		{"invisible tag characters", "a\U000E0041b", "U+E0041"},
		{"invalid UTF-8", "a\xffb", "not valid UTF-8"},
		{"at the cap", strings.Repeat("é", drawbridge.MaxReasonLen), ""},
		{"over the cap", strings.Repeat("é", drawbridge.MaxReasonLen+1), "1001 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := drawbridge.CheckText("reason", tc.in, drawbridge.MaxReasonLen)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %q", tc.in)
			}
			if drawbridge.ErrorCode(err) != drawbridge.EINVALID || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "reason") {
				t.Fatalf("error %q (code %s): want invalid, naming reason and %q", err, drawbridge.ErrorCode(err), tc.want)
			}
		})
	}
}

// TestCheckID: identifiers (people, accounts, roles, request ids) take no
// whitespace and no invisible characters at all, so two ids that look the
// same are the same.
func TestCheckID(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string
	}{
		{"email", "alice@example.com", ""},
		{"slack id", "U12345678", ""},
		{"request id", "req_01a229de65d47e1dabbd280d74d907b9", ""},
		{"space", "alice @example.com", "U+0020"},
		{"zero-width joiner", "ali\u200dce@example.com", "U+200D"},
		{"newline", "alice@example.com\nstate: ACTIVE", "U+000A"},
		{"no-break space", "alice\u00a0x", "U+00A0"},
		{"over the cap", strings.Repeat("a", drawbridge.MaxIDLen+1), "characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := drawbridge.CheckID("requester", tc.in)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || drawbridge.ErrorCode(err) != drawbridge.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v: want invalid naming %q", err, tc.want)
			}
		})
	}
}

// TestPrintable renders what CheckText refuses visibly, for output of
// data stored before the rule existed or arriving from elsewhere.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, ünïcode":   "plain text, ünïcode",
		"debug\nstate: ACTIVE":  `debug\nstate: ACTIVE`,
		"x\x1b[2J":              `x\x1b[2J`,
		"a\tb\rc\x00":           `a\tb\rc\x00`,
		"ok \u202egnp.exe":      `ok \u202egnp.exe`,
		"a\u009bb\u200bc\ufeff": `a\u009bb\u200bc\ufeff`,
		"bad \xff byte":         `bad \xff byte`,
		"emoji 👩\u200d💻 stays":  "emoji 👩\u200d💻 stays",
		"tag \U000E0041":        `tag \U000e0041`,
	} {
		if got := drawbridge.Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
