package config

import (
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

const oidcBase = `server:
  public_url: https://drawbridge.example.com
oidc:
  issuer: https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0
  client_id: a4d21a76-e08c-4d8d-8c47-e1c423ee4d11
  client_secret: ${OIDC_SECRET}
roles:
  - members: ["*"]
    roles: [requester]
  - members: ["group:sre-leads", "user:carol@example.com"]
    roles: [approver]
    scope: {providers: [aws], resources: ["123456789012"]}
`

func oidcEnv(k string) (string, bool) { return "s3cret-from-env", k == "OIDC_SECRET" }

func TestOIDCConfig(t *testing.T) {
	cfg, err := Parse("/x/drawbridge.yaml", []byte(oidcBase), oidcEnv)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.OIDC
	if o.ClientSecret != "s3cret-from-env" || o.APIURLPrefix != "https://drawbridge.example.com" ||
		o.SigningAlgorithms[0] != "RS256" || o.SessionIdleTimeout.Std() != 30*time.Minute ||
		o.SessionAbsoluteTimeout.Std() != 12*time.Hour || o.StepUpWindow.Std() != 5*time.Minute {
		t.Fatalf("oidc settings and defaults: %+v", o)
	}
	rb := cfg.DomainRoles()
	if len(rb) != 2 || rb[1].Roles[0] != drawbridge.RoleApprover || rb[1].Scope.Resources[0] != "123456789012" || rb[1].Scope.Roles != nil {
		t.Fatalf("roles: %+v", rb)
	}
}

func TestOIDCConfigErrors(t *testing.T) {
	cases := []struct{ from, to, want string }{
		{"/v2.0\n", "/v2.0/\n", `ends with "/": remove the trailing slash (write https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0)`},
		{"issuer: https://login", "issuer: http://login", "must use https://"},
		{"  client_id: a4d21a76-e08c-4d8d-8c47-e1c423ee4d11\n", "", "oidc.client_id is required"},
		{"  client_secret: ${OIDC_SECRET}\n", "", "${OIDC_CLIENT_SECRET}"},
		{"  client_secret: ${OIDC_SECRET}\n", "  client_secret: ${OIDC_SECRET}\n  signing_algorithms: [none]\n", `"none" is not accepted`},
		{"  client_secret: ${OIDC_SECRET}\n", "  client_secret: ${OIDC_SECRET}\n  signing_algorithms: [HS256]\n", `"HS256" is not accepted`},
		{"  client_secret: ${OIDC_SECRET}\n", "  client_secret: ${OIDC_SECRET}\n  email_domains: ['@example.com']\n", "write example.com"},
		{"  client_secret: ${OIDC_SECRET}\n", "  client_secret: ${OIDC_SECRET}\n  session_idle_timeout: 24h\n", "longer than oidc.session_absolute_timeout"},
		{"  client_secret: ${OIDC_SECRET}\n", "  client_secret: ${OIDC_SECRET}\n  issuer_url: x\n", `unknown key "issuer_url" in oidc`},
		{"public_url: https://drawbridge.example.com", "public_url: https://drawbridge.example.com/", "oidc.api_url_prefix \"https://drawbridge.example.com/\" ends with"},
		{`roles: [approver]`, `roles: [approvers]`, `unknown role "approvers"`},
		{`"group:sre-leads"`, `"sre-leads"`, `"sre-leads" is not "group:<name>"`},
		{`resources: ["123456789012"]`, `resources: ["*"]`, "leave a list out to mean every one"},
	}
	for _, tc := range cases {
		src := strings.Replace(oidcBase, tc.from, tc.to, 1)
		if src == oidcBase {
			t.Fatalf("case %q changes nothing", tc.from)
		}
		_, err := Parse("/x/drawbridge.yaml", []byte(src), oidcEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q → %q: error %v, want it to say %q", tc.from, tc.to, err, tc.want)
		}
	}
	// Plain http is fine on loopback (drawbridge dev, tests).
	src := strings.Replace(oidcBase, "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", "http://127.0.0.1:5556", 1)
	if _, err := Parse("/x/drawbridge.yaml", []byte(src), oidcEnv); err != nil {
		t.Fatal(err)
	}
}

func TestManagedGroupsConfig(t *testing.T) {
	src := oidcBase + `directory:
  users:
    - email: bob@example.com
      groups: [sre-leads]
managed_groups:
  valid_for: 30m
  groups:
    - name: production
      filter: '"c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a" in "/token/groups"'
`
	cfg, err := Parse("/x/drawbridge.yaml", []byte(src), oidcEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ManagedGroups.ValidFor.Std() != 30*time.Minute || cfg.ManagedGroups.DomainGroups()[0].Filter != `"c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a" in "/token/groups"` {
		t.Fatalf("managed groups %+v", cfg.ManagedGroups)
	}
	noValidFor := strings.Replace(src, "  valid_for: 30m\n", "", 1)
	if cfg, err := Parse("/x/drawbridge.yaml", []byte(noValidFor), oidcEnv); err != nil || cfg.ManagedGroups.ValidFor.Std() != time.Hour {
		t.Fatalf("default valid_for: %v", err)
	}
	cases := []struct{ from, to, want string }{
		{"name: production", "name: sre-leads", `"sre-leads" is a group of directory.users`},
		{`in "/token/groups"'`, `inn "/token/groups"'`, "managed_groups.groups[0] (production): filter"},
		{"name: production", "name: 'prod:x'", "without spaces or \":\""},
		{"  groups:\n", "  groups:\n    - name: production\n      filter: '\"/token/x\" == 1'\n", "already managed_groups.groups[0]"},
		{"oidc:\n", "oidc_off:\n", "unknown key"},
	}
	for _, tc := range cases {
		bad := strings.Replace(src, tc.from, tc.to, 1)
		if bad == src {
			t.Fatalf("case %q changes nothing", tc.from)
		}
		if _, err := Parse("/x/drawbridge.yaml", []byte(bad), oidcEnv); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q → %q: %v, want %q", tc.from, tc.to, err, tc.want)
		}
	}
}
