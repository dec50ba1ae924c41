package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
)

// base is a minimal valid policy; the table below breaks it one way at a
// time. Positions used in the expectations:
//
//	line 3: "  - name: r"            name value at col 11, rule at col 5
//	line 4: "    match:"             the match mapping starts at 5:7
//	line 5..8: match keys at col 7
//	line 9: "    max_duration: 1h"   value at col 19
//	line 10: "    decision: allow"   value at col 15
const base = `version: 1
rules:
  - name: r
    match:
      provider: aws
      accounts: ["*"]
      permission_sets: [ReadOnlyAccess]
      requesters: ["*"]
    max_duration: 1h
    decision: allow
`

func edit(old, new string) string {
	if !strings.Contains(base, old) {
		panic("base has no " + old)
	}
	return strings.Replace(base, old, new, 1)
}

func TestParseErrors(t *testing.T) {
	const approvalRule = `    approval: {approvers: ["user:carol@example.com"], count: 2}` + "\n"
	tests := []struct {
		name string
		src  string
		// want holds "line:col: message fragment" in file order; every
		// problem must be listed.
		want []string
	}{
		{"typo in a match key", edit("permission_sets:", "permision_sets:"), []string{
			`5:7: rule "r" match has no permission_sets (or roles); list them, or write permission_sets: ["*"] for all (an omitted list never means all)`,
			`7:7: unknown key "permision_sets" in rule "r" match (did you mean "permission_sets"? valid: provider, resources, accounts, roles, permission_sets, requesters, condition)`,
		}},
		{"typo in a rule key", edit("decision:", "decison:"), []string{
			`3:5: rule "r" has no decision`,
			`10:5: unknown key "decison" in rule "r" (did you mean "decision"?`,
		}},
		{"unknown top-level key", base + "rule: []\n", []string{
			`11:1: unknown key "rule" in the policy file (did you mean "rules"? valid: version, rules)`,
		}},
		{"unknown key far from any valid one", edit("decision:", "frobnicate:"), []string{
			`3:5: rule "r" has no decision`,
			`10:5: unknown key "frobnicate" in rule "r" (valid: name, description, match, require, approval, max_duration, max_continuous, decision)`,
		}},
		{"version 2", edit("version: 1", "version: 2"), []string{`1:10: unsupported version 2; this Drawbridge reads version: 1`}},
		{"version not a number", edit("version: 1", "version: one"), []string{`1:10: version must be a whole number, not string "one"`}},
		{"missing version", strings.TrimPrefix(base, "version: 1\n"), []string{"1:1: missing version; add `version: 1` at the top of the file"}},
		{"missing rules", "version: 1\n", []string{"1:1: missing rules"}},
		{"empty rules", "version: 1\nrules: []\n", []string{"2:8: rules is empty"}},
		{"rules not a list", "version: 1\nrules: {}\n", []string{"2:8: rules must be a list of rules"}},
		{"empty file", "", []string{"1:1: empty file; it must start with `version: 1`"}},
		{"only a comment", "# nothing\n", []string{"1:1: empty file"}},
		{"not a mapping", "- a\n", []string{"1:1: the file must be a mapping that starts with `version: 1`, not a list"}},
		{"YAML syntax", "version: 1\nrules: [\n", []string{"2:1: invalid YAML: did not find expected node content"}},
		{"tab indentation", "version: 1\nrules:\n  - name: a\n\tmatch: x\n", []string{"3:1: invalid YAML: found a tab character"}},
		{"two documents", base + "---\nversion: 1\n", []string{"11:1: the file holds more than one YAML document"}},
		{"anchors", edit(`accounts: ["*"]`, `accounts: &all ["*"]`), []string{"6:17: YAML anchors and aliases are not supported"}},
		{"duplicate key", base + "    decision: deny\n", []string{`11:5: duplicate key "decision" in rule "r" (first at line 10); keep one`}},
		{"missing name", edit("  - name: r\n    match:", "  - match:"), []string{"3:5: rule #1 has no name; add `name: <unique-name>`"}},
		{"bad name", edit("name: r", "name: 'my rule'"), []string{`3:11: rule name "my rule" may use only letters, digits`}},
		{"name not a string", edit("name: r", "name: true"), []string{`3:11: name must be a string, not a bool (quote it if you mean the text "true")`}},
		{"duplicate rule names", base + strings.TrimPrefix(base, "version: 1\nrules:\n"), []string{`11:5: duplicate rule name "r" (first at line 3)`}},
		{"unknown decision", edit("decision: allow", "decision: allw"), []string{`10:15: unknown decision "allw" (valid: allow, require_approval, deny)`}},
		{"requesters not a list", edit(`requesters: ["*"]`, `requesters: "*"`), []string{`8:19: requesters must be a list, e.g. ["group:engineers", "user:alice@example.com"] or ["*"]`}},
		{"empty accounts", edit(`accounts: ["*"]`, `accounts: []`), []string{`6:17: accounts is an empty list, which would match nothing`}},
		{"match not a mapping", edit("    match:\n      provider: aws\n      accounts: [\"*\"]\n      permission_sets: [ReadOnlyAccess]\n      requesters: [\"*\"]\n", "    match: aws\n"), []string{
			`4:12: rule "r" match must be a mapping of provider, resources`,
		}},
		{"require.reason not a bool", edit("    max_duration", "    require: {reason: yes}\n    max_duration"), []string{
			`9:23: require.reason must be true or false, not a string`,
		}},
		{"bad ticket regex", edit("    max_duration", "    require: {ticket: '(['}\n    max_duration"), []string{
			`9:23: require.ticket "([" is not a valid regular expression: missing closing ]`,
		}},
		{"empty ticket regex", edit("    max_duration", "    require: {ticket: ''}\n    max_duration"), []string{`9:23: require.ticket is empty`}},
		{"unknown require key", edit("    max_duration", "    require: {tickets: x}\n    max_duration"), []string{
			`9:15: unknown key "tickets" in rule "r" require (did you mean "ticket"? valid: ticket, reason)`,
		}},
		{"CEL syntax error", edit(`      requesters: ["*"]`, `      requesters: ["*"]`+"\n      condition: 'request.duration <= '"), []string{
			`9:39: condition: Syntax error: mismatched input '<EOF>'`,
		}},
		{"CEL undeclared variable", edit(`      requesters: ["*"]`, `      requesters: ["*"]`+"\n      condition: 'foo == 1'"), []string{
			`9:19: condition: undeclared reference to 'foo'`,
		}},
		{"CEL not a bool", edit(`      requesters: ["*"]`, `      requesters: ["*"]`+"\n      condition: 'request.reason'"), []string{
			`9:18: condition: condition must be a bool expression, but it is string`,
		}},
		{"CEL empty", edit(`      requesters: ["*"]`, `      requesters: ["*"]`+"\n      condition: ' '"), []string{`9:18: condition is empty`}},
		{"bad selectors", edit(`accounts: ["*"]`, `accounts: ["ou:", "tag:novalue", "12345", "tag:=x", 1234567890123]`), []string{
			`6:18: OU selector "ou:" needs an OU id without spaces, e.g. "ou:ou-prod-1234"`,
			`6:25: tag selector "tag:novalue" needs key=value, e.g. "tag:env=staging"`,
			`6:40: account id "12345" must be 12 digits (quote it to keep leading zeros), or "*", "ou:<ou-id>" or "tag:<key>=<value>"`,
			`6:49: tag selector "tag:=x" needs key=value`,
			`6:59: account id "1234567890123" must be 12 digits`,
		}},
		{"bad requesters", edit(`requesters: ["*"]`, `requesters: ["team:sre", "alice@example.com", "group:", "user:bob", "sre"]`), []string{
			`8:20: unknown requesters entry "team:sre" (valid forms: "group:<name>", "user:<email>", "*")`,
			`8:32: unknown requesters entry "alice@example.com" (did you mean "user:alice@example.com"? valid forms`,
			`8:53: requesters entry "group:" needs a group name, e.g. "group:engineers"`,
			`8:63: requesters entry "user:bob" needs an email, e.g. "user:alice@example.com"`,
			`8:75: unknown requesters entry "sre" (did you mean "group:sre"?`,
		}},
		{"bad provider", edit("provider: aws", "provider: AWS"), []string{`5:17: provider "AWS" must be a lower-case provider name`}},
		{"role with a space", edit("[ReadOnlyAccess]", `["Read Only"]`), []string{`7:25: permission_sets entry "Read Only" must be a name without spaces`}},
		{"missing provider", edit("      provider: aws\n", ""), []string{"5:7: rule \"r\" match has no provider; add e.g. `provider: aws`"}},
		{"missing accounts", edit("      accounts: [\"*\"]\n", ""), []string{`5:7: rule "r" match has no accounts (or resources); list them, or write accounts: ["*"] for every account (an omitted list never means all)`}},
		{"missing requesters", edit("      requesters: [\"*\"]\n", ""), []string{`5:7: rule "r" match has no requesters; list who may ask, e.g. requesters: ["group:engineers"], or ["*"] for everyone (an omitted list never means everyone)`}},
		{"missing match", edit("    match:\n      provider: aws\n      accounts: [\"*\"]\n      permission_sets: [ReadOnlyAccess]\n      requesters: [\"*\"]\n", ""), []string{
			`3:5: rule "r" has no match`,
		}},
		{"accounts and resources", edit(`      accounts: ["*"]`, `      accounts: ["*"]`+"\n"+`      resources: ["*"]`), []string{
			`7:7: accounts and resources are the same list (accounts is the AWS name for resources); keep one`,
		}},
		{"permission_sets and roles", edit(`      requesters: ["*"]`, `      requesters: ["*"]`+"\n      roles: [A]"), []string{
			`9:7: permission_sets and roles are the same list (permission_sets is the AWS name for roles); keep one`,
		}},
		{"allow without max_duration", edit("    max_duration: 1h\n", ""), []string{`3:5: rule "r" has no max_duration; add e.g. ` + "`max_duration: 2h`"}},
		{"require_approval without approval", edit("decision: allow", "decision: require_approval"), []string{
			`10:15: rule "r" requires approval but has no approval block`,
		}},
		{"approval on allow", edit("    max_duration", approvalRule+"    max_duration"), []string{
			`9:5: rule "r" allows without approval, so approval has no effect`,
			`9:62: approval.count is 2 but only 1 approver(s) are listed, so no request could ever be approved`,
		}},
		{"approval count 0 and no approvers", edit("    max_duration: 1h\n    decision: allow", "    approval: {count: 0, timeout: 1h}\n    max_duration: 1h\n    decision: require_approval"), []string{
			`9:15: rule "r" approval has no approvers`,
			`9:23: approval.count must be at least 1, not 0`,
		}},
		{"approval count not a number", edit("    max_duration: 1h\n    decision: allow", "    approval: {approvers: [\"*\"], count: two}\n    max_duration: 1h\n    decision: require_approval"), []string{
			`9:41: approval.count must be a whole number, not string "two"`,
		}},
		{"deny with extras", edit("decision: allow", "decision: deny"), []string{`9:5: rule "r" denies, so max_duration has no effect; remove it`}},
		{"bad duration", edit("max_duration: 1h", "max_duration: 2 hours"), []string{`9:19: max_duration: invalid duration "2 hours"`}},
		{"duration without unit", edit("max_duration: 1h", "max_duration: 3600"), []string{`9:19: max_duration must be a duration with a unit such as 2h, 90m or 7d, not number "3600"`}},
		{"zero duration", edit("max_duration: 1h", "max_duration: 0s"), []string{`9:19: max_duration: duration "0s" must be positive`}},
		{"every problem at once", text{edit("version: 1", "version: 3")}.Replace("permission_sets:", "permision_sets:").Replace("decision: allow", "decision: maybe").s, []string{
			`1:10: unsupported version 3`,
			`5:7: rule "r" match has no permission_sets`,
			`7:7: unknown key "permision_sets"`,
			`10:15: unknown decision "maybe"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("access_rules.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("parsed:\n%s", tt.src)
			}
			if p != nil {
				t.Fatal("returned a policy along with an error")
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("%T is not a *ValidationError", err)
			}
			if drawbridge.ErrorCode(err) != drawbridge.EINVALID {
				t.Fatalf("error code %q, want %q", drawbridge.ErrorCode(err), drawbridge.EINVALID)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], "access_rules.yaml:"+w) {
					t.Errorf("problem %d:\n got %s\nwant access_rules.yaml:%s…", i, got[i], w)
				}
			}
		})
	}
}

// text lets a table entry apply several edits to base in one expression.
type text struct{ s string }

func (t text) Replace(old, new string) text {
	if !strings.Contains(t.s, old) {
		panic("no " + old)
	}
	return text{strings.Replace(t.s, old, new, 1)}
}
