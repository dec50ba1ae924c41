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
