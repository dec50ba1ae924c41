package config

import (
	"strings"
	"testing"
)

// The config shape: providers.entra of kind entra with the app
// registration's credentials (the secret from the environment), a mode and
// its own catalog of groups.
func TestEntraProvider(t *testing.T) {
	env := func(k string) (string, bool) { return "s3cret-value", k == "ENTRA_CLIENT_SECRET" }
	src := `providers:
  entra:
    tenant_id: 8f1c2d3e-0000-4000-8000-000000000001
    client_id: 11111111-2222-4333-8444-555555555555
    client_secret: ${ENTRA_CLIENT_SECRET}
    resources:
      - name: Boundary-Production
        aliases: [prod-ssh]
        roles: [member, owner]
`
	cfg, err := Parse("/x/drawbridge.yaml", []byte(src), env)
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Providers["entra"].Entra
	if e == nil || e.ClientSecret != "s3cret-value" || e.Mode != "pim" || e.TenantID == "" {
		t.Fatalf("entra settings %+v", e)
	}
	base := "    tenant_id: t1\n    client_id: c1\n"
	for _, tc := range []struct{ settings, roles, want string }{
		{"    client_id: c1\n    client_secret: x\n", "[member]", "providers.entra.tenant_id is required"},
		{"    tenant_id: t1\n    client_secret: x\n", "[member]", "providers.entra.client_id is required"},
		{base, "[member]", "providers.entra.client_secret is required"},
		{base + "    client_secret: x\n    mode: eligible\n", "[member]", `providers.entra.mode "eligible": use pim (PIM for Groups, default) or membership`},
		{base + "    client_secret: x\n    graph_endpoint: http://graph.example.com/v1.0\n", "[member]", "providers.entra.graph_endpoint: endpoint \"http://graph.example.com/v1.0\" is plain http"},
		{base + "    client_secret: x\n", "[reader]", `providers.entra.resources[0] (g): role "reader": an Entra group's roles are member and owner`},
		{base + "    client_secret: x\n    secret: x\n", "[member]", `unknown key "secret" in providers.entra`},
	} {
		src := "providers:\n  entra:\n" + tc.settings + "    resources: [{name: g, roles: " + tc.roles + "}]\n"
		_, err := Parse("/x/drawbridge.yaml", []byte(src), env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.settings, err, tc.want)
		}
	}
}
