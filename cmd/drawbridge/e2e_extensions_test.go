package main

// End-to-end tests of extensions (issue 7 item 4): the server is the built
// binary running `serve`, the CLI talks to it in remote mode with each
// person's token, and the Identity Center emulator runs in this test
// process.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

// remoteCLI runs the binary in remote mode as the token's holder and
// checks the exit code; with want 0 or 3 it decodes the JSON request.
func remoteCLI(t *testing.T, dir, addr, token string, want int, args ...string) (result, map[string]any) {
	t.Helper()
	env := []string{"DRAWBRIDGE_ADDR=http://" + addr, "DRAWBRIDGE_TOKEN=" + token}
	res := exe(t, dir, env, append([]string{"--output", "json"}, args...)...)
	if res.code != want {
		t.Fatalf("drawbridge %s: want exit %d\n%s", strings.Join(args, " "), want, res)
	}
	var out map[string]any
	if want == 0 || want == exitDenied {
		if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
			t.Fatalf("drawbridge %s: %v\n%s", strings.Join(args, " "), err, res)
		}
	}
	return res, out
}

// extensionSandbox is serveSandbox with the emulator kept at hand.
func extensionSandbox(t *testing.T) (emu *emulator.Server, cfg, addr string) {
	t.Helper()
	emu, err := emulator.Start("127.0.0.1:0", emulator.SandboxOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	dir := t.TempDir()
	if cfg, err = writeExampleFiles(dir, emu.URL()); err != nil {
		t.Fatal(err)
	}
	addr = freeAddr(t)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "listen: 127.0.0.1:8080", "listen: "+addr, 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return emu, cfg, addr
}

func TestExtensionsEndToEnd(t *testing.T) {
	emu, cfg, addr := extensionSandbox(t)
	dir := filepath.Dir(cfg)
	alice := createToken(t, cfg, "--principal", "alice@example.com", "--role", "requester")
	carol := createToken(t, cfg, "--principal", "carol@example.com", "--role", "approver", "--accounts", "111122223333", "--permission-sets", "AdministratorAccess")
	admin := createToken(t, cfg, "--principal", "ops@example.com", "--role", "admin")
	s := startServer(t, addr, "--config", cfg, "serve")
	defer s.stop(t, syscall.SIGTERM)
	cli := func(token string, want int, args ...string) map[string]any {
		t.Helper()
		_, out := remoteCLI(t, dir, addr, token, want, args...)
		return out
	}

	// 1. The scenario of the issue: extend (pending), revoke the grant,
	// approve the extension: no access.
	parent := cli(alice, 0, "request", "alice@example.com", "111122223333", "AdministratorAccess", "1", "INC-7")
	pid := parent["id"].(string)
	if st := cli(carol, 0, "approve", pid, "carol@example.com")["state"]; st != "ACTIVE" {
		t.Fatalf("approved parent: %v", st)
	}
	ext := cli(alice, 0, "extend", pid, "0.5")
	xid := ext["id"].(string)
	if ext["state"] != "PENDING_APPROVAL" || ext["extends"] != pid {
		t.Fatalf("extension: %v", ext)
	}
	if st := cli(admin, 0, "revoke", pid, "--reason", "incident closed")["state"]; st != "REVOKED" {
		t.Fatalf("revoke: %v", st)
	}
	got := cli(admin, 0, "status", xid)
	if got["state"] != "CANCELLED" || !strings.Contains(got["end_reason"].(string), pid) {
		t.Errorf("extension after its parent was revoked: state %v, end reason %v", got["state"], got["end_reason"])
	}
	// Refused (approvers see only what they may still decide, so carol is
	// told it is not found); it stays CANCELLED.
	remoteCLI(t, dir, addr, carol, exitRuntime, "approve", xid, "carol@example.com")
	if st := cli(admin, 0, "status", xid)["state"]; st != "CANCELLED" {
		t.Errorf("extension after a refused approval: %v", st)
	}
	if emu.HasAssignment("111122223333", "AdministratorAccess", aliceAWS) {
		t.Error("the extension of a revoked grant left admin access")
	}

	// 2. A second identical extension is refused, naming the first; the
	// extension's duration_seconds is its real window.
	ro := cli(alice, 0, "request", "alice@example.com", "123456789012", "ReadOnlyAccess", "1")
	first := cli(alice, 0, "extend", ro["id"].(string), "0.5")
	if first["state"] != "ACTIVE" {
		t.Fatalf("self-service extension: %v", first)
	}
	if res, _ := remoteCLI(t, dir, addr, alice, exitRuntime, "extend", ro["id"].(string), "0.5"); !strings.Contains(res.stderr, first["id"].(string)) {
		t.Errorf("second extension not refused with the first's id:\n%s", res)
	}
	start, err1 := time.Parse(time.RFC3339, first["provision_started_at"].(string))
	end, err2 := time.Parse(time.RFC3339, first["expires_at"].(string))
	roEnd, err3 := time.Parse(time.RFC3339, ro["expires_at"].(string))
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatal(err1, err2, err3)
	}
	if d := first["duration_seconds"].(float64); int64(d) != int64(end.Sub(start)/time.Second) || !end.Equal(roEnd.Add(30*time.Minute)) {
		t.Errorf("extension: duration_seconds %v, window %s, expires %s (parent %s)", d, end.Sub(start), end, roEnd)
	}

	// 3. Chained self-service extensions cannot stretch a 4h rule.
	pw := cli(alice, 0, "request", "alice@example.com", "123456789012", "PowerUserAccess", "4")
	if pw["state"] != "ACTIVE" {
		t.Fatalf("power user: %v", pw)
	}
	denied := cli(alice, exitDenied, "extend", pw["id"].(string), "4")
	if denied["state"] != "DENIED" || !strings.Contains(denied["decision_reason"].(string), "continuous access") {
		t.Errorf("chained extension: %v (%v)", denied["state"], denied["decision_reason"])
	}
}
