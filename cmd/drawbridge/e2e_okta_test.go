package main

// End to end through the Okta provider (docs/providers.md): a provider of
// kind okta pointed at the loopback Okta emulator, with the real API calls.
// A request for Okta group membership, approved by someone else, adds the
// person to the group; revoke takes them out; a refusal from Okta ends the
// grant FAILED with Okta's errorSummary.

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	oktaemu "github.com/drawbridge-jit/drawbridge/okta/emulator"
)

func TestOktaProviderEndToEnd(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	emu := oktaemu.New("00emulated-okta-token", nil)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	alice := emu.AddUser(oktaemu.User{Login: "alice@example.com", Email: "alice@example.com"})
	group := emu.AddGroup(oktaemu.Group{Name: "Boundary-Production"})

	data, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	block := `providers:
  okta:
    org_url: ` + srv.URL + `
    api_token: ${OKTA_API_TOKEN}
    resources:
      - name: Boundary-Production
        aliases: [okta-prod]
        roles: [member]
`
	text := strings.Replace(string(data), "providers:\n", block, 1)
	if err := os.WriteFile(s.cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(s.dir, "access_rules.yaml")
	pol, err := os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	pol = append(pol, []byte(`
  - name: okta-boundary-production
    match:
      provider: okta
      resources: [Boundary-Production]
      roles: [member]
      requesters: ["group:engineers"]
    approval: {approvers: ["group:sre-leads"], count: 1, timeout: 4h}
    max_duration: 3h
    decision: require_approval
`)...)
	if err := os.WriteFile(rules, pol, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"OKTA_API_TOKEN=00emulated-okta-token"}
	run := func(want int, args ...string) result {
		t.Helper()
		res := exe(t, t.TempDir(), env, append([]string{"--config", s.cfg, "--output", "json"}, args...)...)
		if res.code != want {
			t.Fatalf("drawbridge %s: want exit %d\n%s", strings.Join(args, " "), want, res)
		}
		return res
	}

	r := decode(t, run(0, "request", "alice@example.com", "okta:Boundary-Production", "member", "2", "--reason", "deploy hotfix").stdout)
	if r["state"] != "PENDING_APPROVAL" {
		t.Fatalf("request is %v, want PENDING_APPROVAL: %v", r["state"], r)
	}
	id := r["id"].(string)
	if emu.IsMember(group.ID, alice.ID) {
		t.Fatal("a member before the approval")
	}
	r = decode(t, run(0, "approve", id, "bob@example.com").stdout)
	if r["state"] != "ACTIVE" || !emu.IsMember(group.ID, alice.ID) {
		t.Fatalf("approved request is %v, member %v: %v", r["state"], emu.IsMember(group.ID, alice.ID), r)
	}
	run(0, "revoke", id, "--reason", "done")
	if emu.IsMember(group.ID, alice.ID) {
		t.Fatal("still a member after revoke")
	}

	// A permanent refusal from Okta ends the grant FAILED with Okta's
	// errorSummary and the permission the token's admin lacks.
	emu.Inject(oktaemu.Fault{Method: "PUT", Path: "/users/", Count: 1, Status: 403, Code: "E0000006",
		Summary: "You do not have permission to perform the requested action"})
	r = decode(t, run(0, "request", "alice@example.com", "okta-prod", "member", "1").stdout)
	res := exe(t, t.TempDir(), env, "--config", s.cfg, "--output", "json", "approve", r["id"].(string), "bob@example.com")
	if res.code == 0 {
		t.Fatalf("approve of a refused grant exits 0:\n%s", res)
	}
	st := decode(t, run(0, "status", r["id"].(string)).stdout)
	if st["state"] != "FAILED" || !strings.Contains(st["last_error"].(string), "You do not have permission") ||
		!strings.Contains(st["last_error"].(string), "okta.groups.manage") {
		t.Fatalf("refused by Okta: %v %v", st["state"], st["last_error"])
	}
	if emu.IsMember(group.ID, alice.ID) {
		t.Fatal("a member after a refused grant")
	}
}
