package config

import (
	"strings"
	"testing"
)

// The config shape: providers.okta of kind okta with the org URL,
// the API token from the environment and its own catalog of groups.
func TestOktaProvider(t *testing.T) {
	env := func(k string) (string, bool) { return "00token-value", k == "OKTA_API_TOKEN" }
	src := `providers:
  okta:
    org_url: https://example.okta.com
    api_token: ${OKTA_API_TOKEN}
    resources:
      - name: Boundary-Production
        aliases: [prod-ssh]
        roles: [member]
`
	cfg, err := Parse("/x/drawbridge.yaml", []byte(src), env)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Providers["okta"].Okta
	if o == nil || o.APIToken != "00token-value" || o.OrgURL != "https://example.okta.com" || o.Timeout.Std() == 0 {
		t.Fatalf("okta settings %+v", o)
	}
	for _, tc := range []struct{ settings, roles, want string }{
		{"    api_token: x\n", "[member]", "providers.okta.org_url is required"},
		{"    org_url: https://example.okta.com\n", "[member]", "providers.okta.api_token is required: write it as ${OKTA_API_TOKEN}"},
		{"    org_url: http://example.okta.com\n    api_token: x\n", "[member]", `providers.okta.org_url: org_url "http://example.okta.com" is plain http`},
		{"    org_url: https://example.okta.com\n    api_token: x\n", "[owner]", `providers.okta.resources[0] (g): role "owner": an Okta group's one role is member`},
		{"    org_url: https://example.okta.com\n    api_token: x\n    token: x\n", "[member]", `unknown key "token" in providers.okta`},
	} {
		src := "providers:\n  okta:\n" + tc.settings + "    resources: [{name: g, roles: " + tc.roles + "}]\n"
		_, err := Parse("/x/drawbridge.yaml", []byte(src), env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.settings, err, tc.want)
		}
	}
}
