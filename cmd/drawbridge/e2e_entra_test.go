package main

// End to end through the Entra ID provider (docs/providers.md): a provider
// of kind entra pointed at the loopback Entra emulator, with the real
// client-credentials flow and Graph calls. The request follows the
// reference workflow: a time-bound PIM membership of Boundary-Production,
// approved by someone else, which Entra also ends by itself.

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	entraemu "github.com/drawbridge-jit/drawbridge/entra/emulator"
)

func TestEntraProviderEndToEnd(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	emu := entraemu.New("8f1c2d3e-0000-4000-8000-000000000001", "11111111-2222-4333-8444-555555555555", "emulated-secret", nil)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	alice := emu.AddUser(entraemu.User{UserPrincipalName: "alice@example.com", Mail: "alice@example.com"})
	group := emu.AddGroup(entraemu.Group{DisplayName: "Boundary-Production"})

	data, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	block := `providers:
  entra:
    tenant_id: 8f1c2d3e-0000-4000-8000-000000000001
    client_id: 11111111-2222-4333-8444-555555555555
    client_secret: ${ENTRA_CLIENT_SECRET}
    login_endpoint: ` + srv.URL + `
    graph_endpoint: ` + srv.URL + `/v1.0
    resources:
      - name: Boundary-Production
        display_name: Boundary production targets
        aliases: [boundary-prod]
        roles: [member, owner]
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
  - name: boundary-production
    match:
      provider: entra
      resources: [Boundary-Production]
      roles: [member]
      requesters: ["group:engineers"]
    require: {ticket: '^(INC|CHG)-[0-9]+$'}
    approval: {approvers: ["group:sre-leads"], count: 1, timeout: 4h}
    max_duration: 3h
    decision: require_approval
`)...)
	if err := os.WriteFile(rules, pol, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"ENTRA_CLIENT_SECRET=emulated-secret"}
	run := func(want int, args ...string) result {
		t.Helper()
		res := exe(t, t.TempDir(), env, append([]string{"--config", s.cfg, "--output", "json"}, args...)...)
		if res.code != want {
			t.Fatalf("drawbridge %s: want exit %d\n%s", strings.Join(args, " "), want, res)
		}
		return res
	}

	before := time.Now()
	r := decode(t, run(0, "request", "alice@example.com", "entra:Boundary-Production", "member", "3", "INC-42", "--reason", "deploy hotfix").stdout)
	if r["state"] != "PENDING_APPROVAL" {
		t.Fatalf("request is %v, want PENDING_APPROVAL: %v", r["state"], r)
	}
	id := r["id"].(string)
	if len(emu.Requests()) != 0 {
		t.Fatal("Entra was asked before the approval")
	}
	r = decode(t, run(0, "approve", id, "bob@example.com").stdout)
	if r["state"] != "ACTIVE" {
		t.Fatalf("approved request is %v: %v", r["state"], r)
	}
	reqs := emu.Requests()
	if len(reqs) != 1 || reqs[0].Action != "adminAssign" || reqs[0].PrincipalID != alice.ID || reqs[0].GroupID != group.ID ||
		!strings.Contains(reqs[0].Justification, "deploy hotfix") || !strings.Contains(reqs[0].Justification, id) {
		t.Fatalf("schedule requests %+v", reqs)
	}
	act := emu.Active(group.ID, alice.ID)
	if len(act) != 1 {
		t.Fatalf("active assignments %+v", act)
	}
	// Entra's own end is no earlier than Drawbridge's, and about 3 hours.
	exp, _ := time.Parse(time.RFC3339Nano, r["expires_at"].(string))
	if act[0].End.Before(exp) || act[0].End.After(before.Add(3*time.Hour+2*time.Minute)) {
		t.Fatalf("native expiry %s, request ends %s", act[0].End, exp)
	}

	run(0, "revoke", id, "--reason", "done")
	if act := emu.Active(group.ID, alice.ID); len(act) != 0 {
		t.Fatalf("still assigned after revoke: %+v", act)
	}
	if reqs := emu.Requests(); len(reqs) != 2 || reqs[1].Action != "adminRemove" {
		t.Fatalf("schedule requests after revoke %+v", reqs)
	}

	// A permanent refusal from Graph ends the grant FAILED with Graph's
	// message.
	emu.Inject(entraemu.Fault{Method: "POST", Path: "assignmentScheduleRequests", Count: 1, Status: 400,
		Code: "InvalidPolicy", Message: "Boundary-Production requires an eligible assignment before an active one."})
	r = decode(t, run(0, "request", "alice@example.com", "boundary-prod", "member", "1", "INC-43").stdout)
	res := exe(t, t.TempDir(), env, "--config", s.cfg, "--output", "json", "approve", r["id"].(string), "bob@example.com")
	if res.code == 0 {
		t.Fatalf("approve of a refused grant exits 0:\n%s", res)
	}
	r = decode(t, res.stdout)
	if r["state"] != "FAILED" || !strings.Contains(r["last_error"].(string), "requires an eligible assignment") {
		t.Fatalf("refused by Graph: %v %v", r["state"], r["last_error"])
	}

	// Without the PIM permission nothing is granted, and the request says
	// which permission the app registration lacks.
	emu.Revoke(entraemu.PermissionPIM)
	r = decode(t, run(0, "request", "alice@example.com", "boundary-prod", "member", "1", "INC-44").stdout)
	res = exe(t, t.TempDir(), env, "--config", s.cfg, "--output", "json", "approve", r["id"].(string), "bob@example.com")
	if res.code == 0 || !strings.Contains(res.stderr, "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup") {
		t.Fatalf("without permission:\n%s", res)
	}
	if act := emu.Active(group.ID, alice.ID); len(act) != 0 {
		t.Fatalf("assigned without permission: %+v", act)
	}
	// The missing permission is a permanent answer: the grant ends FAILED
	// at once, not APPROVED and retried until the attempt budget runs out.
	st := decode(t, run(0, "status", r["id"].(string)).stdout)
	if st["state"] != "FAILED" || !strings.Contains(st["last_error"].(string), "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup") {
		t.Fatalf("without permission the request is %v: %v", st["state"], st["last_error"])
	}
}
