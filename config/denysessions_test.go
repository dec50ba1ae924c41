package config_test

import (
	"slices"
	"strings"
	"testing"
)

// end_sessions on kind aws takes the built-in mode deny_old_sessions, alone
// or beside Boundary providers; another kind naming it, a typo and a
// repeat are refused with what to write instead.
func TestAWSEndSessionsDenyOldSessions(t *testing.T) {
	withES := func(list string) string {
		return strings.Replace(minimal, "    permission_sets:", "    end_sessions: "+list+"\n    permission_sets:", 1)
	}
	c, err := parse(t, withES("[deny_old_sessions]"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Providers["aws"]
	if !p.DeniesOldSessions() || len(p.SessionEnders()) != 0 {
		t.Fatalf("deny_old_sessions: denies %v, enders %v", p.DeniesOldSessions(), p.SessionEnders())
	}
	boundary := "  b:\n    kind: boundary\n    addr: https://b.example.com\n    token: at_x\n    scopes: [p_1234567890]\n"
	c, err = parse(t, withES("[deny_old_sessions, b]")+boundary, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Providers["aws"]; !p.DeniesOldSessions() || !slices.Equal(p.SessionEnders(), []string{"b"}) {
		t.Fatalf("deny_old_sessions, b: denies %v, enders %v", p.DeniesOldSessions(), p.SessionEnders())
	}
	for _, tc := range []struct{ src, want string }{
		{withES("[deny_old_session]"), `providers.aws.end_sessions[0]: "deny_old_session" is not a configured provider: name one of kind boundary under providers:, or the built-in mode deny_old_sessions`},
		{withES("[deny_old_sessions, deny_old_sessions]"), `providers.aws.end_sessions: "deny_old_sessions" is listed twice`},
		{minimal + "  entra:\n    tenant_id: t\n    client_id: c\n    client_secret: s\n    end_sessions: [deny_old_sessions]\n    resources: [{name: G, roles: [member]}]\n",
			"providers.entra.end_sessions[0]: deny_old_sessions is a mode of kind aws only"},
	} {
		_, err := parse(t, tc.src, noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v\nwant %q", err, tc.want)
		}
	}
}
