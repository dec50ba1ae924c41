package config

import (
	"strings"
	"testing"
)

// The config shape: a direct Boundary provider with its catalog of
// roles, and an Entra provider whose removals end Boundary sessions.
func TestBoundaryProviderAndEndSessions(t *testing.T) {
	env := func(k string) (string, bool) {
		return "secret-value", k == "BOUNDARY_PASSWORD" || k == "ENTRA_CLIENT_SECRET"
	}
	src := `providers:
  boundary-prod:
    kind: boundary
    addr: https://boundary.example.com
    auth_method_id: ampw_1234567890
    login_name: drawbridge
    password: ${BOUNDARY_PASSWORD}
    scopes: [p_1234567890]
    resources:
      - name: r_1234567890
        display_name: On-call production access
        aliases: [oncall-prod]
        roles: [member]
  entra:
    tenant_id: 8f1c2d3e-0000-4000-8000-000000000001
    client_id: 11111111-2222-4333-8444-555555555555
    client_secret: ${ENTRA_CLIENT_SECRET}
    end_sessions: [boundary-prod]
    resources: [{name: Boundary-Production, roles: [member]}]
`
	cfg, err := Parse("/x/drawbridge.yaml", []byte(src), env)
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Providers["boundary-prod"].Boundary
	if b == nil || b.Password != "secret-value" || b.Scopes[0] != "p_1234567890" || b.Timeout.Std() == 0 {
		t.Fatalf("boundary settings %+v", b)
	}
	if es := cfg.Providers["entra"].EndSessions; len(es) != 1 || es[0] != "boundary-prod" {
		t.Fatalf("entra end_sessions %v", es)
	}
	// Ending sessions for another provider needs no catalog of its own;
	// granting does.
	if _, err := Parse("/x/drawbridge.yaml", []byte("providers:\n  boundary:\n    addr: https://b.example.com\n    token: at_x\n"+
		"  entra:\n    tenant_id: t\n    client_id: c\n    client_secret: s\n    end_sessions: [boundary]\n    resources: [{name: G, roles: [member]}]\n"), env); err != nil {
		t.Fatalf("a session-ending boundary provider without resources: %v", err)
	}
	if _, err := Parse("/x/drawbridge.yaml", []byte("providers:\n  boundary:\n    addr: https://b.example.com\n    token: at_x\n"), env); err == nil ||
		!strings.Contains(err.Error(), "providers.boundary.resources is empty") {
		t.Fatalf("a boundary provider with neither resources nor a provider to end sessions for: %v", err)
	}
	const entra = "  entra:\n    tenant_id: t\n    client_id: c\n    client_secret: s\n    resources: [{name: G, roles: [member]}]\n"
	const okBoundary = "  boundary:\n    addr: https://b.example.com\n    token: at_x\n    resources: [{name: r_1234567890, roles: [member]}]\n"
	for _, tc := range []struct{ src, want string }{
		{"  boundary:\n    token: x\n    resources: [{name: r_1234567890, roles: [member]}]\n", "providers.boundary.addr is required"},
		{"  boundary:\n    addr: http://b.example.com\n    token: x\n    resources: [{name: r_1234567890, roles: [member]}]\n", "is plain http to a host that is not loopback"},
		{"  boundary:\n    addr: https://b.example.com\n    resources: [{name: r_1234567890, roles: [member]}]\n", "no credentials"},
		{"  boundary:\n    addr: https://b.example.com\n    login_name: x\n    password: y\n    resources: [{name: r_1234567890, roles: [member]}]\n", "needs all of auth_method_id"},
		{"  boundary:\n    addr: https://b.example.com\n    token: x\n    password: y\n    resources: [{name: r_1234567890, roles: [member]}]\n", "not both"},
		{"  boundary:\n    addr: https://b.example.com\n    token: x\n    scopes: [prod]\n    resources: [{name: r_1234567890, roles: [member]}]\n", `providers.boundary.scopes[0]: "prod" is not a Boundary scope id`},
		{"  boundary:\n    addr: https://b.example.com\n    token: x\n    resources: [{name: oncall, roles: [member]}]\n", `"oncall" is not a Boundary role id`},
		{"  boundary:\n    addr: https://b.example.com\n    token: x\n    resources: [{name: r_1234567890, roles: [admin]}]\n", `role "admin": a Boundary role's one role is member`},
		{okBoundary + strings.Replace(entra, "    resources", "    end_sessions: [nope]\n    resources", 1), `providers.entra.end_sessions[0]: "nope" is not a configured provider`},
		{okBoundary + strings.Replace(entra, "    resources", "    end_sessions: [entra]\n    resources", 1), `"entra" is this provider itself`},
		{okBoundary + strings.Replace(entra, "    resources", "    end_sessions: [boundary, boundary]\n    resources", 1), `"boundary" is listed twice`},
		{okBoundary + strings.Replace(entra, "    resources", "    end_sessions: boundary\n    resources", 1), "end_sessions must be a list of provider names"},
		{strings.Replace(okBoundary, "    resources", "    end_sessions: [boundary]\n    resources", 1), "a provider of kind boundary ends its own sessions"},
		{"  hooks2:\n    kind: okta\n    org_url: https://x.okta.com\n    api_token: t\n    end_sessions: [entra]\n    resources: [{name: g, roles: [member]}]\n" + entra, `"entra" is of kind entra, which cannot end sessions`},
	} {
		_, err := Parse("/x/drawbridge.yaml", []byte("providers:\n"+tc.src), env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.src, err, tc.want)
		}
	}
}
