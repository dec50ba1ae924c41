package main

// End-to-end tests of the CLI contract (DESIGN.md): the drawbridge binary,
// built once, runs as a subprocess against the example config, a SQLite
// file in a temporary directory and the IAM Identity Center emulator
// started in this test process.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/internal/pgtest"
	_ "modernc.org/sqlite"
)

// binary is the drawbridge executable TestMain builds.
var binary string

func TestMain(m *testing.M) {
	if os.Getenv(chaosEmulatorEnv) != "" {
		os.Exit(chaosEmulatorMain())
	}
	dir, err := os.MkdirTemp("", "drawbridge-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "drawbridge")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	// Built without -race even when the tests run with it: the in-process
	// tests cover data races, and an instrumented binary (with SQLite) is
	// too slow for a fast suite.
	out, err := exec.CommandContext(ctx, "go", "build", "-o", binary, ".").CombinedOutput()
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	pgtest.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sandbox is one emulator and one copy of the example files.
type sandbox struct {
	emu *emulator.Server
	dir string // holds drawbridge.yaml, access_rules.yaml, policy_tests.yaml and the store
	cfg string // absolute path of drawbridge.yaml
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	opts := emulator.SandboxOptions()
	opts.Delay = 5 * time.Millisecond
	emu, err := emulator.Start("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	dir := t.TempDir()
	cfg, err := writeExampleFiles(dir, emu.URL())
	if err != nil {
		t.Fatal(err)
	}
	// Poll fast: the example's 100ms is for people watching.
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, bytes.Replace(data, []byte("poll_interval: 100ms"), []byte("poll_interval: 5ms"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	return &sandbox{emu: emu, dir: dir, cfg: cfg}
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// exe runs the binary in dir with env added to a clean environment.
func exe(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DRAWBRIDGE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("drawbridge %s: timed out\n%s", strings.Join(args, " "), res)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("drawbridge %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// run runs the binary with --config from a directory other than the
// config's, so every test also shows that relative paths in the config do
// not depend on the working directory.
func (s *sandbox) run(t *testing.T, args ...string) result {
	t.Helper()
	return exe(t, t.TempDir(), nil, append([]string{"--config", s.cfg}, args...)...)
}

func (s *sandbox) mustRun(t *testing.T, want int, args ...string) result {
	t.Helper()
	res := s.run(t, args...)
	if res.code != want {
		t.Fatalf("drawbridge %s: want exit %d\n%s", strings.Join(args, " "), want, res)
	}
	return res
}

// request submits with --output json and returns the request object.
func (s *sandbox) request(t *testing.T, want int, args ...string) map[string]any {
	t.Helper()
	res := s.mustRun(t, want, append([]string{"--output", "json", "request"}, args...)...)
	return decode(t, res.stdout)
}

func (s *sandbox) status(t *testing.T, id string) map[string]any {
	t.Helper()
	return decode(t, s.mustRun(t, 0, "status", id, "--output", "json").stdout)
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, s)
	}
	return m
}

func (s *sandbox) list(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	res := s.mustRun(t, 0, append([]string{"list", "--output", "json"}, args...)...)
	var out []map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("list output: %v\n%s", err, res.stdout)
	}
	return out
}

func ids(rs []map[string]any) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r["id"].(string))
	}
	return out
}

// oneLineError checks the contract's error form: one line on stderr.
func oneLineError(t *testing.T, res result, contains string) {
	t.Helper()
	line := strings.TrimSuffix(res.stderr, "\n")
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, "error: ") || !strings.Contains(line, contains) {
		t.Errorf("want a one-line error mentioning %q, got stderr %q", contains, res.stderr)
	}
}

const aliceAWS = "9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001"

var contractFields = []string{"id", "state", "requester", "provider", "resource", "role", "duration_seconds",
	"reason", "ticket", "rule", "created_at", "activated_at", "expires_at", "ended_at", "approvals", "last_error"}

func TestRequestReachesActive(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	res := s.mustRun(t, 0, "request", "U12345678", "123456789012", "ReadOnlyAccess", "0.02")
	m := regexp.MustCompile(`(?m)^id:\s+(req_[0-9a-f]{32})$`).FindStringSubmatch(res.stdout)
	if m == nil || !regexp.MustCompile(`(?m)^state:\s+ACTIVE$`).MatchString(res.stdout) {
		t.Fatalf("request output lacks id or ACTIVE state:\n%s", res)
	}
	id := m[1]
	if !s.emu.HasAssignment("123456789012", "ReadOnlyAccess", aliceAWS) {
		t.Error("assignment missing in the emulator")
	}
	st := s.status(t, id)
	for _, f := range contractFields {
		if _, ok := st[f]; !ok {
			t.Errorf("status --output json lacks %q", f)
		}
	}
	want := map[string]any{"id": id, "state": "ACTIVE", "requester": "alice@example.com", "provider": "aws",
		"resource": "123456789012", "role": "ReadOnlyAccess", "duration_seconds": float64(72),
		"rule": "readonly-self-service", "ended_at": nil, "last_error": ""}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("status %s = %#v, want %#v", k, st[k], v)
		}
	}
	created, err1 := time.Parse(time.RFC3339, fmt.Sprint(st["created_at"]))
	activated, err2 := time.Parse(time.RFC3339, fmt.Sprint(st["activated_at"]))
	expires, err3 := time.Parse(time.RFC3339, fmt.Sprint(st["expires_at"]))
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("times not RFC 3339: %v %v %v", err1, err2, err3)
	}
	// Expiry counts from when provisioning began, which is between the
	// request's creation and its activation.
	began, err := time.Parse(time.RFC3339, fmt.Sprint(st["provision_started_at"]))
	if err != nil || expires.Sub(began) != 72*time.Second || began.Before(created) || activated.Before(began) {
		t.Errorf("created %v provisioning began %v (%v) activated %v expires %v", created, began, err, activated, expires)
	}
	// The table form names the same request.
	table := s.mustRun(t, 0, "status", id)
	for _, w := range []string{id, "ACTIVE", "alice@example.com", "123456789012", "ReadOnlyAccess", "readonly-self-service"} {
		if !strings.Contains(table.stdout, w) {
			t.Errorf("status table lacks %q:\n%s", w, table.stdout)
		}
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	t.Run("usage errors write nothing", func(t *testing.T) {
		for _, tc := range []struct {
			args    []string
			message string
		}{
			{[]string{"request", "U12345678", "12345", "ReadOnlyAccess", "1"}, "malformed"},
			{[]string{"request", "U12345678", "1234567890123", "ReadOnlyAccess", "1"}, "malformed"},
			{[]string{"request", "U12345678", "123456789012", "ReadOnlyAccess", "0"}, "positive"},
			{[]string{"request", "--", "U12345678", "123456789012", "ReadOnlyAccess", "-1"}, "positive"},
			{[]string{"request", "--", "U12345678", "123456789012", "ReadOnlyAccess", "-0.5"}, "positive"},
			{[]string{"request", "U12345678", "123456789012", "ReadOnlyAccess", "-1"}, ""},
			{[]string{"request", "U12345678", "123456789012", "ReadOnlyAccess", "abc"}, "not a number"},
			{[]string{"request", "--requester", "U12345678", "--account", "123456789012", "--permission-set", "ReadOnlyAccess", "--duration", "0s"}, "positive"},
			{[]string{"request", "U12345678", "123456789012", "ReadOnlyAccess"}, "argument"},
			{[]string{"request", "U12345678", "123456789012", "NoSuchSet", "1"}, "ReadOnlyAccess"},
			{[]string{"list", "--state", "BOGUS"}, "BOGUS"},
			{[]string{"status"}, "argument"},
		} {
			res := s.run(t, tc.args...)
			if res.code != 2 {
				t.Errorf("drawbridge %s: want exit 2\n%s", strings.Join(tc.args, " "), res)
				continue
			}
			oneLineError(t, res, tc.message)
		}
		if rs := s.list(t); len(rs) != 0 {
			t.Errorf("usage errors wrote %d requests", len(rs))
		}
	})
	t.Run("not found", func(t *testing.T) {
		for _, id := range []string{"req_0123456789abcdef0123456789abcdef", "req_nope"} {
			res := s.mustRun(t, 1, "status", id)
			oneLineError(t, res, id)
		}
	})
	t.Run("denied by policy is 3 and recorded", func(t *testing.T) {
		r := s.request(t, 3, "U45678901", "123456789012", "ReadOnlyAccess", "1")
		if r["state"] != "DENIED" {
			t.Fatalf("state %v", r["state"])
		}
		if got := ids(s.list(t, "--state", "DENIED")); len(got) != 1 || got[0] != r["id"] {
			t.Errorf("list --state DENIED = %v, want [%v]", got, r["id"])
		}
		res := s.mustRun(t, 3, "request", "alice@example.com", "111122223333", "AdministratorAccess", "1")
		if !strings.Contains(res.stderr, "requires a ticket") || !strings.Contains(res.stdout, "DENIED") {
			t.Errorf("ticketless admin request:\n%s", res)
		}
	})
	t.Run("pending approval is 0; self-approval refused", func(t *testing.T) {
		r := s.request(t, 0, "alice@example.com", "111122223333", "AdministratorAccess", "0.5", "INC-12345")
		if r["state"] != "PENDING_APPROVAL" || r["ticket"] != "INC-12345" {
			t.Fatalf("state %v ticket %v", r["state"], r["ticket"])
		}
		id := r["id"].(string)
		for _, self := range []string{"alice@example.com", "U12345678"} {
			res := s.run(t, "approve", id, self)
			if res.code == 0 {
				t.Fatalf("self-approval accepted:\n%s", res)
			}
			oneLineError(t, res, "own request")
		}
		if st := s.status(t, id); st["state"] != "PENDING_APPROVAL" || len(st["approvals"].([]any)) != 0 {
			t.Fatalf("after self-approval: state %v approvals %v", st["state"], st["approvals"])
		}
		res := s.mustRun(t, 0, "approve", id, "U34567890", "--output", "json")
		if st := decode(t, res.stdout); st["state"] != "ACTIVE" {
			t.Errorf("approved by carol: %v", st["state"])
		}
		if !s.emu.HasAssignment("111122223333", "AdministratorAccess", aliceAWS) {
			t.Error("assignment missing after approval")
		}
	})
}

func TestPolicyCommands(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	ok := s.mustRun(t, 0, "policy", "check")
	if !strings.Contains(ok.stdout, "OK, 5 rules") {
		t.Errorf("policy check:\n%s", ok)
	}
	bad := filepath.Join(s.dir, "bad_rules.yaml")
	src := "version: 1\nrules:\n  - name: r\n    match:\n      provider: aws\n      acounts: [\"*\"]\n      roles: [ReadOnlyAccess]\n    decision: allow\n"
	if err := os.WriteFile(bad, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	res := exe(t, s.dir, nil, "policy", "check", "bad_rules.yaml")
	if res.code == 0 || !regexp.MustCompile(`bad_rules\.yaml:6:7\b`).MatchString(res.stderr) || !strings.Contains(res.stderr, "acounts") {
		t.Errorf("policy check of an unknown key: want file:line:col (bad_rules.yaml:6:7) and non-zero exit\n%s", res)
	}

	cases, err := filepath.Abs(filepath.Join("..", "..", "examples", "policy_tests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res = s.mustRun(t, 0, "policy", "test", cases)
	if !regexp.MustCompile(`(?m)^16 passed, 0 failed$`).MatchString(res.stdout) {
		t.Errorf("policy test:\n%s", res)
	}
	// A case that expects the wrong decision fails the command.
	cases = filepath.Join(s.dir, "wrong_cases.yaml")
	if err := os.WriteFile(cases, []byte("cases:\n  - name: wrong\n    request: {requester: dave@example.com, account: \"123456789012\", permission_set: ReadOnlyAccess, hours: 1}\n    expect: {decision: allow}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := s.run(t, "policy", "test", cases); res.code == 0 || !strings.Contains(res.stdout, "FAIL") {
		t.Errorf("failing policy test:\n%s", res)
	}
}

func TestAuditVerifyAndTamper(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	s.request(t, 0, "U12345678", "123456789012", "ReadOnlyAccess", "1")
	s.request(t, 3, "dave@example.com", "123456789012", "ReadOnlyAccess", "1")
	res := s.mustRun(t, 0, "audit", "verify")
	if !strings.Contains(res.stdout, "audit chain OK: 6 events") {
		t.Fatalf("audit verify:\n%s", res)
	}

	db, err := sql.Open("sqlite", filepath.Join(s.dir, "drawbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Event 4 is the first grant's activation: push its recorded expiry out.
	r, err := db.Exec(`UPDATE audit_events SET details = json_set(details, '$.expires_at', '2099-01-01T00:00:00.000Z') WHERE seq = 4 AND action = 'activate'`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := r.RowsAffected(); n != 1 {
		t.Fatalf("edited %d rows", n)
	}
	db.Close()
	res = s.run(t, "audit", "verify")
	if res.code == 0 {
		t.Fatalf("audit verify passed after an edit:\n%s", res)
	}
	oneLineError(t, res, "event 4")
	if !strings.Contains(res.stderr, "edited") {
		t.Errorf("verify does not say the event was edited: %s", res.stderr)
	}
}

func TestAuditExportCSVNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	// A person whose email begins with a formula character ('-' is legal
	// in an email's local part) becomes the actor cell of their events.
	data, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("  users:\n"), []byte("  users:\n    - {email: \"-ops@example.com\", aws_user_id: 9067e8a1b2-a1b2c3d4-0000-4000-8000-000000000001, groups: [engineers]}\n"), 1)
	if err := os.WriteFile(s.cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	const formula = `=HYPERLINK("http://evil.example/","click")`
	s.request(t, 0, "--requester=-ops@example.com", "--account", "123456789012", "--permission-set", "ReadOnlyAccess", "--duration", "1h", "--reason", formula)
	s.request(t, 0, "alice@example.com", "123456789012", "ReadOnlyAccess", "1", "--reason", "+1 "+formula)
	res := s.mustRun(t, 0, "audit", "export", "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(res.stdout)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, res.stdout)
	}
	if len(rows) != 9 || strings.Join(rows[0], ",") != "seq,time,actor,action,request_id,details,prev_hash,hash" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	sawActor, sawReason := false, false
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q starts with a formula character", cell)
			}
		}
		if row[2] == "'-ops@example.com" {
			sawActor = true
		}
		if strings.Contains(row[5], "HYPERLINK") {
			sawReason = true
		}
	}
	if !sawActor || !sawReason {
		t.Errorf("export lacks the neutralised actor (%v) or the reason (%v):\n%s", sawActor, sawReason, res.stdout)
	}
	if res := s.mustRun(t, 0, "audit", "export", "--format", "jsonl"); strings.Count(res.stdout, "\n") != 8 {
		t.Errorf("jsonl export:\n%s", res.stdout)
	}
	if res := s.run(t, "audit", "export", "--format", "xml"); res.code != 2 {
		t.Errorf("bad format:\n%s", res)
	}
}

// The store path in the config is relative ("drawbridge.db"): every way of
// naming the config, from any working directory, opens the same store,
// next to the config file.
func TestRelativeStorePathResolvedAgainstConfigDir(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	first := s.request(t, 0, "U12345678", "123456789012", "ReadOnlyAccess", "1")["id"].(string)
	if _, err := os.Stat(filepath.Join(s.dir, "drawbridge.db")); err != nil {
		t.Fatalf("store not next to the config: %v", err)
	}
	elsewhere := t.TempDir()
	listIDs := func(res result) string {
		t.Helper()
		if res.code != 0 {
			t.Fatalf("list:\n%s", res)
		}
		var rs []map[string]any
		if err := json.Unmarshal([]byte(res.stdout), &rs); err != nil {
			t.Fatal(err)
		}
		return strings.Join(ids(rs), ",")
	}
	parent, base := filepath.Dir(s.dir), filepath.Base(s.dir)
	for name, res := range map[string]result{
		"--config absolute":          exe(t, elsewhere, nil, "--config", s.cfg, "list", "--output", "json"),
		"--config relative":          exe(t, parent, nil, "--config", filepath.Join(base, "drawbridge.yaml"), "list", "--output", "json"),
		"DRAWBRIDGE_CONFIG":          exe(t, elsewhere, []string{"DRAWBRIDGE_CONFIG=" + s.cfg}, "list", "--output", "json"),
		"DRAWBRIDGE_CONFIG relative": exe(t, parent, []string{"DRAWBRIDGE_CONFIG=" + filepath.Join(base, "drawbridge.yaml")}, "list", "--output", "json"),
		"./drawbridge.yaml":          exe(t, s.dir, nil, "list", "--output", "json"),
	} {
		if got := listIDs(res); got != first {
			t.Errorf("%s: list = %q, want %q", name, got, first)
		}
	}
	for _, dir := range []string{elsewhere, parent} {
		if _, err := os.Stat(filepath.Join(dir, "drawbridge.db")); err == nil {
			t.Errorf("a store was created in the working directory %s", dir)
		}
	}
	if res := exe(t, elsewhere, nil, "list"); res.code != 2 || !strings.Contains(res.stderr, "no config") {
		t.Errorf("no config anywhere:\n%s", res)
	}
}

func TestJanitor(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	due := s.request(t, 0, "--requester", "U12345678", "--account", "123456789012", "--permission-set", "ReadOnlyAccess", "--duration", "1s")["id"].(string)
	later := s.request(t, 0, "U23456789", "123456789012", "ReadOnlyAccess", "1")["id"].(string)
	const bobAWS = "9067e8a1b2-a1b2c3d4-2222-4a1a-8a1a-000000000002"
	// Bounded real wait for the 1-second grant to be due.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := s.mustRun(t, 0, "janitor", "--dry-run")
		if strings.Contains(res.stdout, "would expire "+due) {
			if strings.Contains(res.stdout, later) {
				t.Errorf("dry run lists a grant that is not due:\n%s", res.stdout)
			}
			break
		}
		if !strings.Contains(res.stdout, "nothing due") || time.Now().After(deadline) {
			t.Fatalf("janitor --dry-run:\n%s", res)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := s.status(t, due); st["state"] != "ACTIVE" {
		t.Errorf("dry run changed the state to %v", st["state"])
	}
	if !s.emu.HasAssignment("123456789012", "ReadOnlyAccess", aliceAWS) || s.emu.Calls(emulator.OpDeleteAccountAssignment) != 0 {
		t.Error("dry run touched Identity Center")
	}

	res := s.mustRun(t, 0, "janitor")
	if !regexp.MustCompile(`expire ` + due + ` .*-> EXPIRED`).MatchString(res.stdout) {
		t.Errorf("janitor output:\n%s", res)
	}
	if st := s.status(t, due); st["state"] != "EXPIRED" || st["ended_at"] == nil {
		t.Errorf("after janitor: state %v ended_at %v", st["state"], st["ended_at"])
	}
	if s.emu.HasAssignment("123456789012", "ReadOnlyAccess", aliceAWS) {
		t.Error("assignment still present after janitor")
	}
	if st := s.status(t, later); st["state"] != "ACTIVE" || !s.emu.HasAssignment("123456789012", "ReadOnlyAccess", bobAWS) {
		t.Errorf("the grant not yet due was touched: %v", st["state"])
	}
	if res := s.mustRun(t, 0, "janitor"); !strings.Contains(res.stdout, "nothing due") {
		t.Errorf("second janitor pass:\n%s", res)
	}
	s.mustRun(t, 0, "audit", "verify")
}

func TestLifecycleCommands(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	active := s.request(t, 0, "U12345678", "123456789012", "ReadOnlyAccess", "1")["id"].(string)
	ext := decode(t, s.mustRun(t, 0, "extend", active, "0.5", "--output", "json").stdout)
	if ext["state"] != "ACTIVE" || ext["extends"] != active {
		t.Errorf("extend: %v", ext)
	}
	rev := decode(t, s.mustRun(t, 0, "revoke", active, "--reason", "done", "--output", "json").stdout)
	if rev["state"] != "REVOKED" {
		t.Errorf("revoke: %v", rev["state"])
	}
	// Revoking a grant revokes its extension: it continued the access
	// being taken away (docs/policy.md, "Extensions and continuous access").
	if st := s.status(t, ext["id"].(string))["state"]; st != "REVOKED" {
		t.Errorf("extension of the revoked grant: %v", st)
	}
	if s.emu.HasAssignment("123456789012", "ReadOnlyAccess", aliceAWS) {
		t.Error("assignment present after the grant and its extension were revoked")
	}
	pending := s.request(t, 0, "bob@example.com", "111122223333", "PowerUserAccess", "0.5", "CHG-42")["id"].(string)
	if res := s.run(t, "approve", pending, "dave@example.com"); res.code != 1 || !strings.Contains(res.stderr, "not an approver") {
		t.Errorf("approve by a non-approver:\n%s", res)
	}
	// The reviewer's deny worked: exit 0 (3 means denied by policy).
	s.mustRun(t, 0, "deny", pending, "carol@example.com", "--reason", "use the pipeline")
	p2 := s.request(t, 0, "bob@example.com", "111122223333", "PowerUserAccess", "0.5", "CHG-43")["id"].(string)
	if st := decode(t, s.mustRun(t, 0, "cancel", p2, "--output", "json").stdout); st["state"] != "CANCELLED" {
		t.Errorf("cancel: %v", st["state"])
	}
	if res := s.run(t, "cancel", p2); res.code != 1 {
		t.Errorf("cancel of a cancelled request:\n%s", res)
	}
	if got := len(s.list(t, "--requester", "U23456789")); got != 2 {
		t.Errorf("list --requester bob: %d", got)
	}
	s.mustRun(t, 0, "audit", "verify")
	if res := s.mustRun(t, 0, "version"); !strings.HasPrefix(res.stdout, "drawbridge ") {
		t.Errorf("version: %q", res.stdout)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	res := exe(t, t.TempDir(), nil, "demo")
	if res.code != 0 || !strings.Contains(res.stdout, "Demo complete.") || !strings.Contains(res.stdout, "audit chain OK") {
		t.Errorf("demo:\n%s", res)
	}
}
