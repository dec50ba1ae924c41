package main

// End-to-end tests of what operators rely on when something else is
// wrong (issue 7 items 13-15): a broken policy never stops revocation,
// exit codes tell scripts what happened, and files holding secrets are
// private.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

// breakPolicy appends a rule without a match or decision to the
// sandbox's policy file: it no longer parses.
func breakPolicy(t *testing.T, dir string) {
	t.Helper()
	pol := filepath.Join(dir, "access_rules.yaml")
	f, err := os.OpenFile(pol, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("  - name: oops\n"); err != nil {
		t.Fatal(err)
	}
}

// Revocation, expiry, reads and audit never need a policy that parses:
// with the policy broken, due grants still expire, an operator can still
// revoke and read, and only the commands that decide refuse, naming the
// problem.
func TestBrokenPolicyNeverStopsRevocation(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	due := s.request(t, 0, "--requester", "U12345678", "--account", "123456789012", "--permission-set", "ReadOnlyAccess", "--duration", "10s")["id"].(string)
	const bobAWS = "9067e8a1b2-a1b2c3d4-2222-4a1a-8a1a-000000000002"
	other := s.request(t, 0, "U23456789", "123456789012", "ReadOnlyAccess", "1")["id"].(string)
	pending := s.request(t, 0, "alice@example.com", "111122223333", "AdministratorAccess", "1", "INC-1")["id"].(string)
	breakPolicy(t, s.dir)

	if st := s.status(t, due); st["state"] != "ACTIVE" {
		t.Fatalf("status with a broken policy: %v", st)
	}
	if got := ids(s.list(t)); len(got) != 3 {
		t.Errorf("list with a broken policy: %v", got)
	}
	s.mustRun(t, 0, "audit", "verify")
	s.mustRun(t, 0, "audit", "export", "--format", "jsonl")
	if st := decode(t, s.mustRun(t, 0, "--output", "json", "revoke", other, "--reason", "incident").stdout); st["state"] != "REVOKED" {
		t.Errorf("revoke with a broken policy: %v", st)
	}
	if s.emu.HasAssignment("123456789012", "ReadOnlyAccess", bobAWS) {
		t.Error("the revoked assignment is still in Identity Center")
	}
	if st := decode(t, s.mustRun(t, 0, "--output", "json", "cancel", pending).stdout); st["state"] != "CANCELLED" {
		t.Errorf("cancel with a broken policy: %v", st)
	}
	// Bounded real wait for the 10-second grant to be due.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.mustRun(t, 0, "janitor", "--dry-run").stdout, "would expire "+due) {
		if time.Now().After(deadline) {
			t.Fatalf("%s not due within 30s", due)
		}
		time.Sleep(200 * time.Millisecond)
	}
	res := s.mustRun(t, 0, "janitor")
	if !regexp.MustCompile(`expire ` + due + ` .*-> EXPIRED`).MatchString(res.stdout) {
		t.Errorf("janitor with a broken policy:\n%s", res)
	}
	if s.emu.HasAssignment("123456789012", "ReadOnlyAccess", aliceAWS) {
		t.Error("the expired assignment is still in Identity Center")
	}

	// The commands that decide refuse, and say where the policy is broken.
	for _, args := range [][]string{
		{"request", "U12345678", "123456789012", "ReadOnlyAccess", "1"},
		{"policy", "check"},
		{"config", "check"},
	} {
		res := s.run(t, args...)
		if res.code == 0 || !strings.Contains(res.stderr, "access_rules.yaml:") {
			t.Errorf("drawbridge %s with a broken policy:\n%s", strings.Join(args, " "), res)
		}
	}
}

// serve refuses to start on a broken policy (fail closed), while a broken
// reload keeps the last good policy deciding.
func TestServeWithBrokenPolicy(t *testing.T) {
	t.Parallel()
	cfg, addr := serveSandbox(t, emulator.SandboxOptions(), "")
	dir := filepath.Dir(cfg)
	token := createToken(t, cfg, "--principal", "alice@example.com", "--role", "requester")
	srv := startServer(t, addr, "--config", cfg, "serve")
	breakPolicy(t, dir)
	srv.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, func() bool { return strings.Contains(srv.stderr.String(), "policy reload refused") })
	code, body := curl(t, "POST", "http://"+addr+"/v1/requests", token, `{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h"}`)
	if code != 201 || !strings.Contains(string(body), `"state":"ACTIVE"`) || !strings.Contains(string(body), `"rule":"readonly-self-service"`) {
		t.Errorf("request after a refused reload: %d %s", code, body)
	}
	srv.stop(t, syscall.SIGTERM)

	res := exe(t, dir, nil, "--config", cfg, "serve")
	if res.code == 0 || !strings.Contains(res.stderr, "access_rules.yaml:") {
		t.Errorf("serve on a broken policy:\n%s", res)
	}
}

// config check names every problem the commands would hit, not only the
// first, and not only those of the YAML itself.
func TestConfigCheckNamesEveryProblem(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	s.mustRun(t, 0, "config", "check")
	breakPolicy(t, s.dir)
	s.editConfig(t, "listen: 127.0.0.1:8080", "listen: 10.1.2.3:8080",
		"dsn: drawbridge.db", "dsn: state/drawbridge.db")
	res := s.mustRun(t, exitUsage, "config", "check")
	if !regexp.MustCompile(`access_rules\.yaml:\d+:5: rule "oops" has no match`).MatchString(res.stderr) {
		t.Errorf("config check does not name the policy problem with file:line:col\n%s", res)
	}
	for _, want := range []string{"server.listen 10.1.2.3:8080 is not a loopback address",
		"store.dsn " + filepath.Join(s.dir, "state", "drawbridge.db")} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("config check lacks %q\n%s", want, res)
		}
	}
	s.editConfig(t, "listen: 10.1.2.3:8080", "listen: 127.0.0.1:http-alt-nope",
		"workers: 10", "workers: -3")
	res = s.mustRun(t, exitUsage, "config", "check")
	if !strings.Contains(res.stderr, "expiry.workers is -3") {
		t.Errorf("config check with negative workers:\n%s", res)
	}
	s.editConfig(t, "workers: -3", "workers: 10")
	if res := s.mustRun(t, exitUsage, "config", "check"); !strings.Contains(res.stderr, `server.listen "127.0.0.1:http-alt-nope" is not host:port`) {
		t.Errorf("config check with a bad port:\n%s", res)
	}
}

// The exit codes of DESIGN.md "Exit codes", through the built binary: 0 ok
// (a pending request and a reviewer's deny included), 1 runtime error (not
// found, provider failure), 2 usage (unknown command, unknown person), 3
// denied by policy.
func TestExitCodesOfTheContract(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"requst", "U12345678"}, `unknown command "requst" for "drawbridge"; did you mean "request"?`},
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "drawbridge"`},
		{[]string{"policy", "chek"}, `unknown command "chek" for "drawbridge policy"; did you mean "check"?`},
		{[]string{"policy", "foo"}, `unknown command "foo" for "drawbridge policy"`},
		{[]string{"audit", "verfy"}, `did you mean "verify"?`},
		{[]string{"token", "nope"}, `unknown command "nope" for "drawbridge token"`},
		{[]string{"config", "nope"}, `unknown command "nope" for "drawbridge config"`},
	} {
		res := s.mustRun(t, exitUsage, tc.args...)
		oneLineError(t, res, tc.want)
		if res.stdout != "" {
			t.Errorf("drawbridge %s printed help on stdout:\n%s", strings.Join(tc.args, " "), res.stdout)
		}
	}
	// Asking what is there is not a mistake.
	for _, args := range [][]string{{}, {"policy"}, {"--help"}} {
		if res := s.mustRun(t, 0, args...); !strings.Contains(res.stdout, "Usage:") {
			t.Errorf("drawbridge %s: no help\n%s", strings.Join(args, " "), res)
		}
	}

	pending := s.request(t, 0, "alice@example.com", "111122223333", "AdministratorAccess", "1", "INC-1")
	if pending["state"] != "PENDING_APPROVAL" {
		t.Fatalf("pending: %v", pending)
	}
	// The reviewer's deny worked: 0, not "denied by policy".
	res := s.mustRun(t, 0, "--output", "json", "deny", pending["id"].(string), "carol@example.com", "--reason", "not now")
	if st := decode(t, res.stdout); st["state"] != "DENIED" {
		t.Errorf("deny: %v", st)
	}
	// Denied by policy: 3, and the DENIED request is recorded.
	if st := s.request(t, exitDenied, "dave@example.com", "123456789012", "AdministratorAccess", "1"); st["state"] != "DENIED" {
		t.Errorf("policy deny: %v", st)
	}
	// Unknown person: usage, and nobody else is named.
	res = s.mustRun(t, exitUsage, "request", "mallory@example.com", "123456789012", "ReadOnlyAccess", "1")
	oneLineError(t, res, `unknown person "mallory@example.com"`)
	if strings.Contains(res.stderr, "alice@") || strings.Contains(res.stderr, "bob@") {
		t.Errorf("the unknown-person error lists the directory: %s", res.stderr)
	}
	// Not found: runtime.
	oneLineError(t, s.mustRun(t, exitRuntime, "status", "req_"+strings.Repeat("0", 32)), "not found")

	// The provider refuses: the request is not ACTIVE, and the exit code
	// says so (1), whether it FAILED or waits for a retry.
	s.emu.Fail(emulator.OpCreateAccountAssignment, emulator.Fault{Code: "AccessDeniedException", Message: "not authorized to create"})
	res = s.mustRun(t, exitRuntime, "--output", "json", "request", "U12345678", "123456789012", "ReadOnlyAccess", "1")
	if st := decode(t, res.stdout); st["state"] != "FAILED" || !strings.Contains(res.stderr, "AccessDeniedException") {
		t.Errorf("permanent provider failure:\n%s", res)
	}
	s.emu.Fail(emulator.OpCreateAccountAssignment, emulator.Fault{Code: "InternalServerException", Message: "try later"})
	res = s.mustRun(t, exitRuntime, "--output", "json", "request", "U23456789", "123456789012", "ReadOnlyAccess", "1")
	if st := decode(t, res.stdout); st["state"] == "ACTIVE" || !strings.Contains(res.stderr, "InternalServerException") {
		t.Errorf("retryable provider failure:\n%s", res)
	}
}

// privateMode fails unless path exists and only its owner may read it.
func privateMode(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("%s has mode %v, want readable by its owner only", path, fi.Mode().Perm())
	}
}

// The store and an audit export hold token hashes and the audit trail:
// only their owner may read them, including an export written over a file
// others could read.
func TestStoreAndExportFilesArePrivate(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	s.request(t, 0, "U12345678", "123456789012", "ReadOnlyAccess", "1")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if p := filepath.Join(s.dir, "drawbridge.db"+suffix); fileExists(p) || suffix == "" {
			privateMode(t, p)
		}
	}
	fresh := filepath.Join(s.dir, "fresh.csv")
	s.mustRun(t, 0, "audit", "export", "--out", fresh)
	privateMode(t, fresh)
	loose := filepath.Join(s.dir, "loose.jsonl")
	if err := os.WriteFile(loose, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	s.mustRun(t, 0, "audit", "export", "--format", "jsonl", "--out", loose)
	privateMode(t, loose)

	// A store someone made readable to others is tightened, with a warning.
	db := filepath.Join(s.dir, "drawbridge.db")
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	res := s.mustRun(t, 0, "list")
	privateMode(t, db)
	if !strings.Contains(res.stderr, "warning: store file "+db+" had mode 0644") {
		t.Errorf("no warning about the loose store file:\n%s", res)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// A store made by `drawbridge dev --data` holds dev mode's fixed, public
// tokens; serve refuses to start on it until they are revoked, and says
// exactly how. dev itself keeps working on it.
func TestServeRefusesDevTokens(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	devAddr := freeAddr(t)
	dev := startServer(t, devAddr, "dev", "--listen", devAddr, "--data", data)
	dev.stop(t, syscall.SIGTERM)
	dev = startServer(t, devAddr, "dev", "--listen", devAddr, "--data", data)
	dev.stop(t, syscall.SIGTERM)
	privateMode(t, filepath.Join(data, "drawbridge.db"))

	// Serve the same store for real, against an emulator of this test.
	emu, err := emulator.Start("127.0.0.1:0", emulator.SandboxOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	cfg := filepath.Join(data, "drawbridge.yaml")
	src, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	text := regexp.MustCompile(`endpoint: http://127\.0\.0\.1:\d+`).ReplaceAllString(string(src), "endpoint: "+emu.URL())
	text = strings.Replace(text, "listen: 127.0.0.1:8080", "listen: "+addr, 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	res := exe(t, t.TempDir(), nil, "--config", cfg, "serve")
	if res.code != exitRuntime || !strings.Contains(res.stderr, "dbt_dev_") {
		t.Fatalf("serve on a store with dev tokens:\n%s", res)
	}
	cmds := regexp.MustCompile(`drawbridge --config (\S+) token revoke (tok_[0-9a-f]{32})`).FindAllStringSubmatch(res.stderr, -1)
	if len(cmds) != len(devTokens) {
		t.Fatalf("want %d revoke commands in the message, got %d:\n%s", len(devTokens), len(cmds), res.stderr)
	}
	for _, c := range cmds {
		if c[1] != cfg {
			t.Errorf("the command names config %s, want %s", c[1], cfg)
		}
		exe(t, t.TempDir(), nil, "--config", c[1], "token", "revoke", c[2])
	}
	srv := startServer(t, addr, "--config", cfg, "serve")
	if code, _ := curl(t, "GET", "http://"+addr+"/v1/requests", "dbt_dev_admin", ""); code != 401 {
		t.Errorf("a revoked dev token: %d, want 401", code)
	}
	srv.stop(t, syscall.SIGTERM)
}
