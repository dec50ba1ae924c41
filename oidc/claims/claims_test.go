package claims

import "testing"

// TestFilterSyntax is the table of Boundary's filter syntax as managed
// groups evaluate it, over an ID token and a userinfo answer. A claim the
// token does not carry, or one of a type the operator cannot compare,
// never matches — whatever the operator, and under not, and, or.
func TestFilterSyntax(t *testing.T) {
	token := map[string]any{
		"groups":         []any{"c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a", "7e1a0c55-0000-4000-8000-000000000001"},
		"email":          "alice@example.com",
		"email_verified": true,
		"tid":            "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"acct":           float64(0),
		"department":     "SRE",
		"roles":          []any{},
		"nested":         map[string]any{"team": "payments"},
	}
	userinfo := map[string]any{"locale": "en-GB", "groups": []any{"ui-group"}}
	cases := []struct {
		filter string
		want   bool
	}{
		// The reference text's filter, exactly as written there.
		{`"c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a" in "/token/groups"`, true},
		{`"00000000-0000-0000-0000-000000000000" in "/token/groups"`, false},
		{`"c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a" not in "/token/groups"`, false},
		{`"00000000-0000-0000-0000-000000000000" not in "/token/groups"`, true},
		{`"/token/groups" contains "7e1a0c55-0000-4000-8000-000000000001"`, true},
		{`"/token/groups" not contains "7e1a0c55-0000-4000-8000-000000000001"`, false},
		{`"/token/department" == "SRE"`, true},
		{`"/token/department" != "SRE"`, false},
		{`"/token/department" != "Payroll"`, true},
		{`"/token/email" matches ".*@example\\.com$"`, true},
		{`"/token/email" not matches ".*@example\\.com$"`, false},
		{`"/token/email_verified" == true`, true},
		{`"/token/acct" == 0`, true},
		{`"/token/roles" is empty`, true},
		{`"/token/groups" is empty`, false},
		{`"/token/groups" is not empty`, true},
		{`"/token/nested/team" == "payments"`, true},
		// and / or / not, and precedence with parentheses.
		{`"c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a" in "/token/groups" and "/token/department" == "SRE"`, true},
		{`"c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a" in "/token/groups" and "/token/department" == "HR"`, false},
		{`"x" in "/token/groups" or "/token/department" == "SRE"`, true},
		{`not "/token/department" == "HR"`, true},
		{`not ("x" in "/token/groups" or "/token/tid" == "other")`, true},
		// /userinfo selectors.
		{`"ui-group" in "/userinfo/groups"`, true},
		{`"/userinfo/locale" == "en-GB"`, true},
		{`"c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a" in "/userinfo/groups"`, false},
		// Missing claims: no operator matches by accident.
		{`"/token/missing" != "x"`, false},
		{`"x" not in "/token/missing"`, false},
		{`"/token/missing" not contains "x"`, false},
		{`"/token/missing" is empty`, false},
		{`"/token/missing" is not empty`, false},
		{`"/token/missing" not matches "x"`, false},
		{`"/token/missing" is nil`, false},
		{`"/token/missing" is not nil`, false},
		{`not "x" in "/token/missing"`, false},
		{`not "/token/missing" == "x"`, false},
		{`"/userinfo/department" != "HR"`, false},
		{`"/token/nested/missing" != "x"`, false},
		{`"/token/missing/deeper" != "x"`, false},
		{`"/token/department" == "SRE" and "/token/missing" != "x"`, false},
		{`"/token/missing" != "x" or "/token/department" == "HR"`, false},
		// The whole filter fails on the missing claim, even where another
		// branch of an or would match: write one managed group per
		// alternative when a claim may be absent.
		{`"/token/missing" == "x" or "c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a" in "/token/groups"`, false},
		// Claims of the wrong type: an error, so no match.
		{`"/token/groups" == "c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a"`, false},
		{`"/token/groups" != "c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a"`, false},
		{`"x" in "/token/email_verified"`, false},
		{`"x" not in "/token/acct"`, false},
		{`"/token/nested" matches ".*"`, false},
		{`"/token/acct" is empty`, false},
	}
	for _, tc := range cases {
		f, err := CompileFilter(tc.filter)
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		if got := f.Match(token, userinfo); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.filter, got, tc.want)
		}
	}
}

func TestFilterParseErrors(t *testing.T) {
	for _, bad := range []string{`"x" in`, `/token/groups contains`, `"x" inn "/token/groups"`, ``} {
		if _, err := CompileFilter(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
}
