package main

// End to end through the HashiCorp Boundary provider (docs/boundary-entra.md):
// the built binary serves, with an Entra provider whose removals end
// Boundary sessions (end_sessions) and a direct Boundary provider, against
// the loopback Entra and Boundary emulators with the real clients. Both
// scenarios of the reference workflow run to their expiry on the real
// clock: the membership (or role) is removed and the person's live
// Boundary session is cancelled, within 2 s of the expiry.

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/boundary"
	bemu "github.com/drawbridge-jit/drawbridge/boundary/emulator"
	entraemu "github.com/drawbridge-jit/drawbridge/entra/emulator"
)

// sessionEndBudget is the bound on expiry → session cancelled.
const sessionEndBudget = 2 * time.Second

type boundaryScenario struct {
	cfg, dir, addr string
	entra          *entraemu.Emulator
	group          entraemu.Group
	entraAlice     entraemu.User
	bnd            *bemu.Emulator
	target         bemu.Target
	managed        bemu.ManagedGroup
	oncall         bemu.Role
	alice          bemu.User
	aliceTok, bob  string
}

func newBoundaryScenario(t *testing.T) *boundaryScenario {
	t.Helper()
	_, cfg, addr := extensionSandbox(t)
	s := &boundaryScenario{cfg: cfg, dir: filepath.Dir(cfg), addr: addr}

	s.entra = entraemu.New("8f1c2d3e-0000-4000-8000-000000000001", "11111111-2222-4333-8444-555555555555", "emulated-secret", nil)
	entraSrv := httptest.NewServer(s.entra)
	t.Cleanup(entraSrv.Close)
	s.entraAlice = s.entra.AddUser(entraemu.User{UserPrincipalName: "alice@example.com", Mail: "alice@example.com"})
	s.group = s.entra.AddGroup(entraemu.Group{DisplayName: "Boundary-Production"})

	// Boundary as the reference workflow sets it up: a managed group
	// mirroring the Entra group, a role giving it the target, and a second
	// role, on-call, that Drawbridge grants directly.
	s.bnd = bemu.New(nil)
	bndSrv := httptest.NewServer(s.bnd)
	t.Cleanup(bndSrv.Close)
	s.bnd.AddAdmin("drawbridge", "emulated-password")
	org := s.bnd.AddScope(bemu.Scope{Name: "Azure"})
	proj := s.bnd.AddScope(bemu.Scope{ParentID: org.ID, Name: "East US"})
	s.target = s.bnd.AddTarget(bemu.Target{ScopeID: proj.ID, Name: "prod-ssh"})
	var err error
	if s.managed, err = s.bnd.AddManagedGroup(bemu.ManagedGroup{Name: "Production - Boundary on Azure",
		Filter: `"` + s.group.ID + `" in "/token/groups"`}); err != nil {
		t.Fatal(err)
	}
	grant := []string{"ids=" + s.target.ID + ";actions=authorize-session,read"}
	s.bnd.AddRole(bemu.Role{ScopeID: proj.ID, Name: "Azure Production Access", PrincipalIDs: []string{s.managed.ID}, Grants: grant})
	s.oncall = s.bnd.AddRole(bemu.Role{ScopeID: proj.ID, Name: "On-call", Grants: grant})
	s.alice = s.bnd.AddUser(bemu.User{Name: "alice", Email: "alice@example.com"})

	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	block := `providers:
  entra:
    tenant_id: 8f1c2d3e-0000-4000-8000-000000000001
    client_id: 11111111-2222-4333-8444-555555555555
    client_secret: ${ENTRA_CLIENT_SECRET}
    login_endpoint: ` + entraSrv.URL + `
    graph_endpoint: ` + entraSrv.URL + `/v1.0
    end_sessions: [boundary]
    resources:
      - name: Boundary-Production
        display_name: Boundary production targets
        roles: [member]
  boundary:
    addr: ` + bndSrv.URL + `
    auth_method_id: ` + bemu.PasswordAuthMethod + `
    login_name: drawbridge
    password: ${BOUNDARY_PASSWORD}
    scopes: [` + proj.ID + `]
    resources:
      - name: ` + s.oncall.ID + `
        display_name: On-call production access
        aliases: [oncall-prod]
        roles: [member]
`
	text := strings.Replace(string(data), "providers:\n", block, 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(s.dir, "access_rules.yaml")
	pol, err := os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	pol = append(pol, []byte(`
  - name: boundary-production
    match: {provider: entra, resources: [Boundary-Production], roles: [member], requesters: ["group:engineers"]}
    require: {ticket: '^(INC|CHG)-[0-9]+$'}
    approval: {approvers: ["group:sre-leads"], count: 1, timeout: 4h}
    max_duration: 3h
    decision: require_approval
  - name: boundary-oncall
    match: {provider: boundary, resources: [`+s.oncall.ID+`], roles: [member], requesters: ["group:engineers"]}
    approval: {approvers: ["group:sre-leads"], count: 1, timeout: 1h}
    max_duration: 12h
    decision: require_approval
`)...)
	if err := os.WriteFile(rules, pol, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ENTRA_CLIENT_SECRET", "emulated-secret")
	t.Setenv("BOUNDARY_PASSWORD", "emulated-password")
	s.aliceTok = createToken(t, cfg, "--principal", "alice@example.com", "--role", "requester")
	s.bob = createToken(t, cfg, "--principal", "bob@example.com", "--role", "approver", "--providers", "entra,boundary",
		"--resources", "Boundary-Production,"+s.oncall.ID, "--entitlement-roles", "member")
	return s
}

// connect is alice logging in to Boundary through Entra (the ID token's
// groups claim holds her current Entra groups) and opening a session to
// the target.
func (s *boundaryScenario) connect(t *testing.T) (bemu.Session, error) {
	t.Helper()
	var groups []string
	if len(s.entra.Active(s.group.ID, s.entraAlice.ID)) > 0 {
		groups = append(groups, s.group.ID)
	}
	tok, err := s.bnd.Login(s.alice.ID, groups)
	if err != nil {
		t.Fatal(err)
	}
	return s.bnd.AuthorizeSession(tok.Token, s.target.ID)
}

// waitEnded waits (bounded) until the request is no longer ACTIVE or
// REVOKING and returns it.
func (s *boundaryScenario) waitEnded(t *testing.T, id string) map[string]any {
	t.Helper()
	var r map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, r = remoteCLI(t, s.dir, s.addr, s.bob, 0, "status", id)
		if st := r["state"]; st != "ACTIVE" && st != "REVOKING" && st != "PROVISIONING" {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s still %v 30s on: %v", id, r["state"], r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lag is how long after the request's expiry the session was cancelled.
func lag(t *testing.T, r map[string]any, sess bemu.Session) time.Duration {
	t.Helper()
	exp, err := time.Parse(time.RFC3339Nano, r["expires_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if sess.CanceledAt.IsZero() {
		t.Fatalf("session %s was not cancelled: %+v", sess.ID, sess)
	}
	return sess.CanceledAt.Sub(exp)
}

// The reference workflow with Drawbridge in place of the PIM portal, and
// its gap closed: an Entra PIM membership of Boundary-Production, approved
// by someone else, ends at its expiry — the Entra assignment is removed,
// and the live Boundary session alice opened through the managed group is
// cancelled and her auth tokens are gone. Three rounds measure expiry →
// session cancelled (docs/benchmarks.md).
func TestE2EBoundaryEntraSessionsEndAtExpiry(t *testing.T) {
	s := newBoundaryScenario(t)
	srv := startServer(t, s.addr, "--config", s.cfg, "serve")
	defer srv.stop(t, syscall.SIGTERM)

	// The policy caps the membership at 3 hours, as the reference's PIM
	// settings do, and asks for a ticket.
	if _, r := remoteCLI(t, s.dir, s.addr, s.aliceTok, exitDenied, "request", "entra:Boundary-Production", "member", "4", "INC-42"); !strings.Contains(r["decision_reason"].(string), "max_duration") {
		t.Fatalf("4 hours: %v", r)
	}
	if _, err := s.connect(t); err == nil {
		t.Fatal("alice reaches the target before any grant")
	}

	var lags []time.Duration
	for round := range 3 {
		// 0.0015 h = 5.4 s: time to log in and connect before the expiry.
		_, r := remoteCLI(t, s.dir, s.addr, s.aliceTok, 0, "request", "entra:Boundary-Production", "member", "0.0015", "INC-42", "--reason", "deploy hotfix")
		id := r["id"].(string)
		if r["state"] != "PENDING_APPROVAL" {
			t.Fatalf("round %d: request is %v", round, r["state"])
		}
		if _, r = remoteCLI(t, s.dir, s.addr, s.bob, 0, "approve", id, "bob@example.com"); r["state"] != "ACTIVE" {
			t.Fatalf("round %d: approved request is %v: %v", round, r["state"], r)
		}
		// Entra also ends the membership itself, no earlier than the
		// grant (PIM's shortest schedule is 5 minutes).
		act := s.entra.Active(s.group.ID, s.entraAlice.ID)
		exp, _ := time.Parse(time.RFC3339Nano, r["expires_at"].(string))
		if len(act) != 1 || act[0].End.Before(exp) || act[0].End.After(exp.Add(6*time.Minute)) {
			t.Fatalf("round %d: Entra schedule %+v for a grant ending %s", round, act, exp)
		}
		sess, err := s.connect(t)
		if err != nil {
			t.Fatalf("round %d: alice cannot connect through the managed group: %v", round, err)
		}
		if !slices.Contains(s.bnd.ManagedGroupMembers(s.managed.ID), s.alice.ID) {
			t.Fatalf("round %d: alice is not in the managed group after her login", round)
		}

		r = s.waitEnded(t, id)
		if r["state"] != "EXPIRED" {
			t.Fatalf("round %d: request ended %v: %v", round, r["state"], r)
		}
		if act := s.entra.Active(s.group.ID, s.entraAlice.ID); len(act) != 0 {
			t.Fatalf("round %d: Entra assignment left after expiry: %+v", round, act)
		}
		got := s.bnd.Session(sess.ID)
		if got.Status != bemu.StatusCanceling {
			t.Fatalf("round %d: the session alice opened is %s after expiry", round, got.Status)
		}
		if toks := s.bnd.Tokens(s.alice.ID); len(toks) != 0 {
			t.Fatalf("round %d: alice's auth tokens survive the expiry: %+v", round, toks)
		}
		d := lag(t, r, got)
		lags = append(lags, d)
		if d > sessionEndBudget {
			t.Errorf("round %d: session cancelled %s after expiry, budget %s", round, d, sessionEndBudget)
		}
		// Her next login no longer holds the group: no new session.
		if _, err := s.connect(t); err == nil {
			t.Fatalf("round %d: alice connects again after expiry", round)
		}
		if n := len(s.bnd.ManagedGroupMembers(s.managed.ID)); n != 0 {
			t.Fatalf("round %d: managed group still has %d members after a fresh login", round, n)
		}
		ev := auditEventDetails(t, s, id, "confirm_expired")
		if !strings.Contains(ev, sess.ID) {
			t.Errorf("round %d: the expiry's audit event does not list the session it ended: %s", round, ev)
		}
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	t.Logf("BENCH entra+boundary expiry→session cancelled: min %s median %s max %s (budget %s)", lags[0], lags[1], lags[2], sessionEndBudget)
}

// The same with a direct Boundary role: alice is a principal of on-call
// for the grant, and at its expiry she is removed and her session ends.
func TestE2EBoundaryDirectRoleSessionsEndAtExpiry(t *testing.T) {
	s := newBoundaryScenario(t)
	srv := startServer(t, s.addr, "--config", s.cfg, "serve")
	defer srv.stop(t, syscall.SIGTERM)

	var lags []time.Duration
	for round := range 3 {
		_, r := remoteCLI(t, s.dir, s.addr, s.aliceTok, 0, "request", "oncall-prod", "member", "0.0015", "--reason", "paged")
		id := r["id"].(string)
		if _, r = remoteCLI(t, s.dir, s.addr, s.bob, 0, "approve", id, "bob@example.com"); r["state"] != "ACTIVE" {
			t.Fatalf("round %d: approved request is %v: %v", round, r["state"], r)
		}
		if !slices.Contains(s.bnd.Role(s.oncall.ID).PrincipalIDs, s.alice.ID) {
			t.Fatalf("round %d: alice is not a principal of on-call: %+v", round, s.bnd.Role(s.oncall.ID))
		}
		sess, err := s.connect(t)
		if err != nil {
			t.Fatalf("round %d: alice cannot connect through on-call: %v", round, err)
		}
		r = s.waitEnded(t, id)
		if r["state"] != "EXPIRED" {
			t.Fatalf("round %d: request ended %v: %v", round, r["state"], r)
		}
		if slices.Contains(s.bnd.Role(s.oncall.ID).PrincipalIDs, s.alice.ID) {
			t.Fatalf("round %d: alice is still a principal after expiry", round)
		}
		got := s.bnd.Session(sess.ID)
		if got.Status != bemu.StatusCanceling {
			t.Fatalf("round %d: the session is %s after expiry", round, got.Status)
		}
		d := lag(t, r, got)
		lags = append(lags, d)
		if d > sessionEndBudget {
			t.Errorf("round %d: session cancelled %s after expiry, budget %s", round, d, sessionEndBudget)
		}
		if _, err := s.connect(t); err == nil {
			t.Fatalf("round %d: alice connects again after expiry", round)
		}
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	t.Logf("BENCH direct boundary role expiry→session cancelled: min %s median %s max %s (budget %s)", lags[0], lags[1], lags[2], sessionEndBudget)

	// A permanent refusal ends the grant FAILED with Boundary's message and
	// the grants the account needs.
	s.bnd.Inject(bemu.Fault{Method: "POST", Path: ":add-principals", Status: 403, Kind: "PermissionDenied", Message: "Forbidden."})
	_, r := remoteCLI(t, s.dir, s.addr, s.aliceTok, 0, "request", "oncall-prod", "member", "1", "--reason", "paged")
	res, _ := remoteCLI(t, s.dir, s.addr, s.bob, exitRuntime, "approve", r["id"].(string), "bob@example.com")
	if !strings.Contains(res.stderr, "403 PermissionDenied: Forbidden.") {
		t.Fatalf("403 on add-principals:\n%s", res)
	}
	_, st := remoteCLI(t, s.dir, s.addr, s.bob, 0, "status", r["id"].(string))
	if st["state"] != "FAILED" || !strings.Contains(st["last_error"].(string), "add-principals,remove-principals") {
		t.Fatalf("after a 403: %v %v", st["state"], st["last_error"])
	}
}

// auditEventDetails returns the audit trail's JSON lines for one request
// and action.
func auditEventDetails(t *testing.T, s *boundaryScenario, id, action string) string {
	t.Helper()
	res := exe(t, s.dir, nil, "--config", s.cfg, "audit", "export", "--format", "jsonl")
	if res.code != 0 {
		t.Fatalf("audit export: %s", res)
	}
	var out []string
	for _, line := range strings.Split(res.stdout, "\n") {
		if strings.Contains(line, id) && strings.Contains(line, action) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// `drawbridge sandbox --boundary-listen` serves a Boundary controller laid
// out as the reference workflow's, with the credentials and ids it prints:
// a provider configured with them finds the example people and grants the
// on-call role.
func TestSandboxBoundaryController(t *testing.T) {
	t.Parallel()
	emuAddr, bndAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(binary, "sandbox", "--listen", emuAddr, "--hooks-listen", "", "--boundary-listen", bndAddr)
	out := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	eventually(t, func() bool { return strings.Contains(out.String(), "end_sessions: [boundary]") })
	for _, want := range []string{"addr: http://" + bndAddr, "password: " + sandboxBoundaryPassword, "scopes: [" + sandboxBoundaryProject + "]",
		"name: " + sandboxBoundaryOnCall, `mirrors Entra group ` + sandboxEntraGroupID} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("sandbox output lacks %q:\n%s", want, out)
		}
	}
	p, err := boundary.New(boundary.Config{Name: "boundary", Addr: "http://" + bndAddr, AuthMethodID: bemu.PasswordAuthMethod,
		LoginName: "drawbridge", Password: sandboxBoundaryPassword, Scopes: []string{sandboxBoundaryProject}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref, err := p.PrincipalRef(ctx, &drawbridge.Principal{ID: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	spec := drawbridge.GrantSpec{RequestID: "req_1", Until: time.Now().Add(time.Hour), Reason: "try it",
		Assignment: drawbridge.Assignment{Entitlement: drawbridge.Entitlement{Provider: "boundary", Resource: sandboxBoundaryOnCall, Role: "member"}, PrincipalRef: ref}}
	if _, err := p.Grant(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Exists(ctx, spec.Assignment); err != nil || !ok {
		t.Fatalf("Exists after grant = %v, %v", ok, err)
	}
	if res := exe(t, t.TempDir(), nil, "sandbox", "--boundary-listen", "0.0.0.0:4569"); res.code != exitUsage || !strings.Contains(res.stderr, "loopback only") {
		t.Fatalf("a non-loopback --boundary-listen:\n%s", res)
	}
}

// The example policy mixing providers (AWS read-only self-service, an
// Entra group with approval, a Boundary role for on-call) passes its cases
// with `drawbridge policy test`, and its config is valid.
func TestMixedProvidersExamplePolicy(t *testing.T) {
	t.Parallel()
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples", "mixed"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"ENTRA_CLIENT_SECRET=example", "BOUNDARY_PASSWORD=example"}
	cfg := filepath.Join(dir, "drawbridge.yaml")
	res := exe(t, t.TempDir(), env, "--config", cfg, "policy", "test", filepath.Join(dir, "policy_tests.yaml"))
	if res.code != 0 || !strings.Contains(res.stdout, "9 passed, 0 failed") {
		t.Fatalf("policy test of examples/mixed:\n%s", res)
	}
	for _, p := range []string{"aws-readonly-self-service", "entra-boundary-production", "boundary-oncall"} {
		if !strings.Contains(res.stdout, "by "+p) {
			t.Errorf("no case decided by %s:\n%s", p, res.stdout)
		}
	}
	if res := exe(t, t.TempDir(), env, "--config", cfg, "config", "check"); res.code != 0 {
		t.Fatalf("config check of examples/mixed:\n%s", res)
	}
}
