package main

// End-to-end tests of the server commands (dev, serve, token) and the
// CLI's remote mode, on the binary TestMain builds.

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is a drawbridge server process.
type server struct {
	cmd    *exec.Cmd
	addr   string
	stderr *lockedWriter
	done   chan error
}

// startServer runs the binary with args and waits until /readyz answers.
func startServer(t *testing.T, addr string, args ...string) *server {
	t.Helper()
	s := &server{cmd: exec.Command(binary, args...), addr: addr, stderr: &lockedWriter{}, done: make(chan error, 1)}
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, bufio.NewReader(stdout))
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { s.cmd.Process.Kill(); <-s.done })
	for {
		resp, err := nethttp.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("server not ready after 15s: %v\n%s", err, s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s ready in %s", args[0], time.Since(start).Round(time.Millisecond))
	return s
}

// stop sends sig and waits for a clean exit.
func (s *server) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	s.cmd.Process.Signal(sig)
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("server exited with %v\n%s", err, s.stderr)
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("server did not stop\n%s", s.stderr)
	}
}

// lockedWriter collects a process's output while tests read it.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// curl is one HTTP call as the docs write it with curl.
func curl(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := nethttp.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Drawbridge-Contract-Version") != "1" {
		t.Errorf("%s %s: no contract header", method, url)
	}
	return resp.StatusCode, b
}

// TestDevModeDocExamples starts `drawbridge dev` and runs the curl examples
// of docs/server.md (same tokens, paths and bodies), then the CLI in
// remote mode against it.
func TestDevModeDocExamples(t *testing.T) {
	addr := freeAddr(t)
	s := startServer(t, addr, "dev", "--listen", addr, "--data", t.TempDir())
	base := "http://" + addr
	var req drawbridge.Request

	// Alice asks for read-only access to staging: allowed at once.
	code, b := curl(t, "POST", base+"/v1/requests", "dbt_dev_requester_alice",
		`{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h","reason":"read logs"}`)
	if json.Unmarshal(b, &req); code != 201 || req.State != drawbridge.StateActive {
		t.Fatalf("alice read-only: %d %s", code, b)
	}
	active := req.ID
	// Prod admin needs a ticket and an SRE lead's approval.
	code, b = curl(t, "POST", base+"/v1/requests", "dbt_dev_requester_alice",
		`{"account_id":"111122223333","permission_set":"AdministratorAccess","duration":"1h","ticket":"INC-12345","reason":"incident"}`)
	if json.Unmarshal(b, &req); code != 201 || req.State != drawbridge.StatePendingApproval {
		t.Fatalf("alice prod admin: %d %s", code, b)
	}
	pending := req.ID
	code, b = curl(t, "GET", base+"/v1/requests?state=PENDING_APPROVAL", "dbt_dev_approver_carol", "")
	if code != 200 || !strings.Contains(string(b), pending) {
		t.Fatalf("carol's queue: %d %s", code, b)
	}
	code, b = curl(t, "POST", base+"/v1/requests/"+pending+"/approve", "dbt_dev_approver_carol", `{"comment":"go ahead"}`)
	if json.Unmarshal(b, &req); code != 200 || req.State != drawbridge.StateActive {
		t.Fatalf("carol approves: %d %s", code, b)
	}
	// Alice cannot approve her own, nor read the audit API.
	if code, b = curl(t, "GET", base+"/api/requests?status=ACTIVE", "dbt_dev_requester_alice", ""); code != 403 {
		t.Errorf("alice on /api: %d %s", code, b)
	}
	code, b = curl(t, "POST", base+"/v1/requests/"+active+"/revoke", "dbt_dev_requester_alice", `{"reason":"done"}`)
	if json.Unmarshal(b, &req); code != 200 || req.State != drawbridge.StateRevoked {
		t.Fatalf("alice revokes: %d %s", code, b)
	}
	// The auditor's views.
	if code, b = curl(t, "GET", base+"/api/requests?requester=alice@example.com", "dbt_dev_auditor", ""); code != 200 || !strings.Contains(string(b), active) {
		t.Errorf("auditor list: %d %s", code, b)
	}
	if code, b = curl(t, "GET", base+"/api/requests/"+pending, "dbt_dev_auditor", ""); code != 200 || !strings.Contains(string(b), `"action":"approval_recorded"`) {
		t.Errorf("auditor get: %d %s", code, b)
	}
	if code, b = curl(t, "GET", base+"/api/exports.csv?status=ACTIVE,REVOKED", "dbt_dev_auditor", ""); code != 200 || strings.Count(string(b), "\n") != 3 {
		t.Errorf("auditor CSV: %d %s", code, b)
	}
	if code, b = curl(t, "GET", base+"/api/metrics", "dbt_dev_auditor", ""); code != 200 || !strings.Contains(string(b), `"ACTIVE":1`) {
		t.Errorf("auditor metrics: %d %s", code, b)
	}
	// The staging-scoped auditor never sees prod.
	if code, b = curl(t, "GET", base+"/api/requests?requester=alice@example.com", "dbt_dev_auditor_staging", ""); code != 200 || strings.Contains(string(b), pending) {
		t.Errorf("scoped auditor: %d %s", code, b)
	}
	if code, b = curl(t, "GET", base+"/api/requests", "dbt_dev_auditor", ""); code != 400 {
		t.Errorf("no primary filter: %d %s", code, b)
	}
	if code, b = curl(t, "GET", base+"/metrics", "", ""); code != 200 || !strings.Contains(string(b), `drawbridge_requests{channel="api",state="ACTIVE"} 1`) {
		t.Errorf("/metrics: %d %s", code, b)
	}
	if code, _ = curl(t, "GET", base+"/healthz", "", ""); code != 200 {
		t.Errorf("/healthz: %d", code)
	}

	// Remote mode: the same CLI grammar and exit codes, identity from the token.
	env := []string{"DRAWBRIDGE_ADDR=" + base, "DRAWBRIDGE_TOKEN=dbt_dev_requester_alice"}
	dir := t.TempDir()
	res := exe(t, dir, env, "request", "alice@example.com", "123456789012", "ReadOnlyAccess", "0.5")
	if res.code != 0 || !strings.Contains(res.stdout, "ACTIVE") {
		t.Errorf("remote request: %s", res)
	}
	if res := exe(t, dir, env, "request", "bob@example.com", "123456789012", "ReadOnlyAccess", "0.5"); res.code != 1 {
		t.Errorf("remote request for bob with alice's token: %s", res)
	}
	if res := exe(t, dir, env, "request", "alice@example.com", "111122223333", "AdministratorAccess", "1"); res.code != 3 {
		t.Errorf("remote denied request (no ticket): %s", res)
	}
	if res := exe(t, dir, env, "request", "alice@example.com", "1234", "ReadOnlyAccess", "1"); res.code != 2 {
		t.Errorf("remote malformed account: %s", res)
	}
	if res := exe(t, dir, env, "approve", pending, "alice@example.com"); res.code != 1 {
		t.Errorf("remote approve as requester: %s", res)
	}
	res = exe(t, dir, env, "-o", "json", "request", "alice@example.com", "111122223333", "AdministratorAccess", "1", "INC-7")
	var p drawbridge.Request
	if err := json.Unmarshal([]byte(res.stdout), &p); err != nil || res.code != 0 || p.State != drawbridge.StatePendingApproval {
		t.Fatalf("remote pending request: %v %s", err, res)
	}
	carol := []string{"DRAWBRIDGE_ADDR=" + base, "DRAWBRIDGE_TOKEN=dbt_dev_approver_carol"}
	if res := exe(t, dir, carol, "approve", p.ID, "carol@example.com"); res.code != 0 || !strings.Contains(res.stdout, "ACTIVE") {
		t.Errorf("remote approve as carol: %s", res)
	}
	if res := exe(t, dir, env, "status", p.ID); res.code != 0 || !strings.Contains(res.stdout, "carol@example.com approved") {
		t.Errorf("remote status: %s", res)
	}
	if res := exe(t, dir, env, "list", "--state", "ACTIVE"); res.code != 0 || !strings.Contains(res.stdout, p.ID) {
		t.Errorf("remote list: %s", res)
	}
	if res := exe(t, dir, []string{"DRAWBRIDGE_ADDR=" + base, "DRAWBRIDGE_TOKEN=dbt_nope"}, "status", p.ID); res.code != 1 {
		t.Errorf("remote with a bad token: %s", res)
	}
	audit := []string{"DRAWBRIDGE_ADDR=" + base, "DRAWBRIDGE_TOKEN=dbt_dev_auditor"}
	if res := exe(t, dir, audit, "audit", "export", "--status", "ACTIVE"); res.code != 0 || !strings.HasPrefix(res.stdout, "id,state,requester") {
		t.Errorf("remote audit export: %s", res)
	}
	s.stop(t, syscall.SIGINT)
}

func TestDevRefusesNonLoopback(t *testing.T) {
	res := exe(t, t.TempDir(), nil, "dev", "--listen", "0.0.0.0:0")
	if res.code != 2 || !strings.Contains(res.stderr, "loopback") {
		t.Errorf("%s", res)
	}
}

// serveSandbox writes the example config for serve on a free port, pointed
// at an emulator in this process.
func serveSandbox(t *testing.T, opts emulator.Options, extra string) (cfg, addr string) {
	t.Helper()
	emu, err := emulator.Start("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	dir := t.TempDir()
	cfg, err = writeExampleFiles(dir, emu.URL())
	if err != nil {
		t.Fatal(err)
	}
	addr = freeAddr(t)
	data, _ := os.ReadFile(cfg)
	text := strings.Replace(string(data), "listen: 127.0.0.1:8080", "listen: "+addr, 1)
	// A short lease, so that a grant interrupted by a shutdown is resumed
	// within the test's patience after the restart; the lease must outlast
	// the provider timeout by drawbridge.LeaseMargin (5s).
	text = strings.Replace(text, "\nexpiry:\n", "\nexpiry:\n  provider_timeout: 2s\n  provision_lease: 7s\n", 1) + extra
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, addr
}

func createToken(t *testing.T, cfg string, args ...string) string {
	t.Helper()
	res := exe(t, filepath.Dir(cfg), nil, append([]string{"--config", cfg, "-o", "json", "token", "create"}, args...)...)
	var out struct{ Secret string }
	if err := json.Unmarshal([]byte(res.stdout), &out); res.code != 0 || err != nil || !strings.HasPrefix(out.Secret, "dbt_") {
		t.Fatalf("token create: %v %s", err, res)
	}
	return out.Secret
}

func TestTokenCommands(t *testing.T) {
	cfg, _ := serveSandbox(t, emulator.SandboxOptions(), "")
	dir := filepath.Dir(cfg)
	createToken(t, cfg, "--principal", "Alice@Example.com", "--role", "requester")
	if res := exe(t, dir, nil, "--config", cfg, "token", "create", "--principal", "a@example.com", "--role", "auditor", "--accounts", "*", "--permission-sets", "*"); res.code != 2 || !strings.Contains(res.stderr, "allow_wildcard_scopes") {
		t.Errorf("wildcard without the setting: %s", res)
	}
	if res := exe(t, dir, nil, "--config", cfg, "token", "create", "--principal", "a@example.com", "--role", "auditor"); res.code != 2 {
		t.Errorf("unscoped auditor: %s", res)
	}
	if res := exe(t, dir, nil, "--config", cfg, "token", "create", "--principal", "a@example.com", "--role", "boss"); res.code != 2 {
		t.Errorf("unknown role: %s", res)
	}
	res := exe(t, dir, nil, "--config", cfg, "-o", "json", "token", "list")
	var ts []drawbridge.Token
	if err := json.Unmarshal([]byte(res.stdout), &ts); err != nil || len(ts) != 1 || ts[0].Principal != "alice@example.com" {
		t.Fatalf("token list: %v %s", err, res)
	}
	if strings.Contains(res.stdout, "dbt_") || strings.Contains(res.stdout, "hash") {
		t.Errorf("token list shows secret material: %s", res.stdout)
	}
	if res := exe(t, dir, nil, "--config", cfg, "token", "revoke", ts[0].ID); res.code != 0 {
		t.Errorf("token revoke: %s", res)
	}
	if res := exe(t, dir, nil, "--config", cfg, "token", "list"); !strings.Contains(res.stdout, "revoked") {
		t.Errorf("revoked token not shown as revoked: %s", res)
	}
}

func TestServeRefusesPlainHTTPOffLoopback(t *testing.T) {
	cfg, addr := serveSandbox(t, emulator.SandboxOptions(), "")
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "listen: "+addr, "listen: 0.0.0.0:0", 1)), 0o600)
	res := exe(t, filepath.Dir(cfg), nil, "--config", cfg, "serve")
	if res.code != 2 || !strings.Contains(res.stderr, "allow_plain_http") {
		t.Errorf("%s", res)
	}
}

// TestServeSIGTERMDuringBurst sends SIGTERM while requests are being
// provisioned, restarts, and checks that nothing was lost or left half
// done: every request the API acknowledged exists, none is stuck before
// ACTIVE, every ACTIVE grant has an expiry, and the audit chain verifies.
func TestServeSIGTERMDuringBurst(t *testing.T) {
	opts := emulator.SandboxOptions()
	opts.Delay = 30 * time.Millisecond // provisioning is in flight when the signal lands
	cfg, addr := serveSandbox(t, opts, "")
	admin := createToken(t, cfg, "--principal", "admin@example.com", "--role", "admin")
	s := startServer(t, addr, "--config", cfg, "serve")
	client := dbhttp.NewClient("http://"+addr, admin)

	const n, workers = 40, 8
	var mu sync.Mutex
	acked := map[string]drawbridge.State{}
	var wg sync.WaitGroup
	var next int
	started := make(chan struct{}, n)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				started <- struct{}{}
				r, err := client.Submit(context.Background(), dbhttp.CreateRequest{
					Requester: []string{"alice@example.com", "bob@example.com"}[i%2], AccountID: "123456789012",
					PermissionSet: "ReadOnlyAccess", Duration: "1h"})
				if err != nil {
					continue // refused or cut off by the shutdown
				}
				mu.Lock()
				acked[r.ID] = r.State
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n/3; i++ {
		<-started
	}
	s.stop(t, syscall.SIGTERM)
	wg.Wait()
	if !strings.Contains(s.stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", s.stderr)
	}
	t.Logf("%d of %d requests acknowledged before shutdown", len(acked), n)

	s = startServer(t, addr, "--config", cfg, "serve")
	// Concurrent grants of one assignment may meet the provider's
	// "operation in progress" conflict and stay PROVISIONING until the
	// expiry engine's retry: give the engine time to finish them.
	var l *dbhttp.RequestList
	var err error
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		l, err = client.List(context.Background(), map[string][]string{"state": {"APPROVED,PROVISIONING"}})
		if err == nil && len(l.Requests) == 0 {
			break
		}
		if time.Since(start) > 15*time.Second {
			for _, r := range l.Requests {
				t.Errorf("%s still %s after 15s: attempts %d, last error %q", r.ID, r.State, r.RevokeAttempts, r.LastError)
			}
			t.Fatalf("server log:\n%s", s.stderr)
		}
	}
	l, err = client.List(context.Background(), map[string][]string{"limit": {"500"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range l.Requests {
		seen[r.ID] = true
		switch r.State {
		case drawbridge.StateActive:
			if r.ExpiresAt.IsZero() {
				t.Errorf("%s is ACTIVE without expires_at", r.ID)
			}
		case drawbridge.StateApproved, drawbridge.StateProvisioning:
			t.Errorf("%s left %s after restart (last error %q)", r.ID, r.State, r.LastError)
		}
	}
	for id, st := range acked {
		if !seen[id] {
			t.Errorf("acknowledged request %s (%s) is missing after restart", id, st)
		}
	}
	s.stop(t, syscall.SIGTERM)
	if res := exe(t, filepath.Dir(cfg), nil, "--config", cfg, "audit", "verify"); res.code != 0 {
		t.Errorf("audit verify: %s", res)
	}
}

func TestServePolicyReload(t *testing.T) {
	cfg, addr := serveSandbox(t, emulator.SandboxOptions(), "")
	s := startServer(t, addr, "--config", cfg, "serve")
	pol := filepath.Join(filepath.Dir(cfg), "access_rules.yaml")
	good, _ := os.ReadFile(pol)
	if err := os.WriteFile(pol, []byte("version: 1\nrules:\n  - name: broken\n    bogus: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, func() bool {
		_, b := curl(t, "GET", "http://"+addr+"/metrics", "", "")
		return strings.Contains(string(b), "drawbridge_policy_reload_failures_total 1")
	})
	if !strings.Contains(s.stderr.String(), "policy reload refused") {
		t.Errorf("no log line for the refused reload:\n%s", s.stderr)
	}
	// The last good policy still decides.
	if code, _ := curl(t, "GET", "http://"+addr+"/readyz", "", ""); code != 200 {
		t.Errorf("readyz after a failed reload: %d", code)
	}
	if err := os.WriteFile(pol, append(good, []byte("\n# edited\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, func() bool { return strings.Contains(s.stderr.String(), `"msg":"policy reloaded"`) })
	s.stop(t, syscall.SIGTERM)
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 15*time.Second {
			t.Fatal("condition not met within 15s")
		}
	}
}
