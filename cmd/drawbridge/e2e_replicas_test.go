package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/internal/pgtest"
)

// TestReplicaWakesForAnotherReplicasGrant: two replicas on PostgreSQL whose
// engines re-read the store only every hour. A grant of a few seconds is
// made through replica A, and A is killed at once (SIGKILL). Replica B has
// never read the grant, yet revokes it when it expires: A's write was
// announced to B (LISTEN/NOTIFY), which woke B's engine for that time.
func TestReplicaWakesForAnotherReplicasGrant(t *testing.T) {
	s := newSandbox(t)
	dsn := pgtest.NewDatabase(t)
	data, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = regexp.MustCompile(`(?m)^store:\n  driver: sqlite\n  dsn: .*$`).ReplaceAll(data, []byte("store:\n  driver: postgres\n  dsn: "+dsn))
	data = bytes.Replace(data, []byte("max_sleep: 2s"), []byte("max_sleep: 1h"), 1)
	data = bytes.Replace(data, []byte("min_duration: 10s"), []byte("min_duration: 1s"), 1)
	var reps []*chaosReplica
	for i := range 2 {
		r := &chaosReplica{n: i, addr: freeAddr(t), cfg: filepath.Join(s.dir, fmt.Sprintf("replica-%d.yaml", i)), logPath: filepath.Join(s.dir, fmt.Sprintf("replica-%d.log", i))}
		if err := os.WriteFile(r.cfg, bytes.Replace(data, []byte("listen: 127.0.0.1:8080"), []byte("listen: "+r.addr), 1), 0o600); err != nil {
			t.Fatal(err)
		}
		reps = append(reps, r)
	}
	run := func(args ...string) result {
		t.Helper()
		res := exe(t, s.dir, nil, append([]string{"--config", reps[0].cfg}, args...)...)
		if res.code != 0 {
			t.Fatalf("drawbridge %s:\n%s", strings.Join(args, " "), res)
		}
		return res
	}
	run("migrate")
	token := strings.TrimSpace(lastLine(run("token", "create", "--principal", "ops@example.com", "--role", "admin").stdout))
	for _, r := range reps {
		if err := r.start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			r.kill()
			if t.Failed() {
				b, _ := os.ReadFile(r.logPath)
				t.Logf("replica %d log:\n%s", r.n, b)
			}
		})
		if err := r.waitReady(); err != nil {
			t.Fatal(err)
		}
	}
	call := func(r *chaosReplica, method, path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, "http://"+r.addr+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v %v", method, path, resp.StatusCode, out, err)
		}
		return out
	}
	got := call(reps[0], "POST", "/v1/requests", map[string]any{"requester": "alice@example.com", "account_id": "123456789012",
		"permission_set": "ReadOnlyAccess", "duration_seconds": 3, "reason": "wake-up across replicas"})
	if got["state"] != "ACTIVE" {
		t.Fatalf("the grant through replica A: %v", got)
	}
	id := got["id"].(string)
	reps[0].kill()
	// B's engine read the store before the grant existed and sleeps for
	// an hour unless woken; a minute is plenty for a 3 s grant.
	deadline := time.Now().Add(time.Minute)
	for {
		r := call(reps[1], "GET", "/v1/requests/"+id, nil)
		if r["state"] == "EXPIRED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after a 3 s grant through the killed replica A, replica B has it %v: B was not woken for it", r["state"])
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s.emu.HasAssignment("123456789012", "ReadOnlyAccess", "9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001") {
		t.Fatal("EXPIRED, but the assignment is still in place")
	}
}

// TestDeployConfigChecks: the config deploy/compose.yaml and the
// Kubernetes manifests mount passes `config check` beside the example
// policy, so the replicated deployment does not rot as keys change.
func TestDeployConfigChecks(t *testing.T) {
	dir := t.TempDir()
	for src, dst := range map[string]string{"../../deploy/drawbridge.yaml": "drawbridge.yaml", "../../examples/access_rules.yaml": "access_rules.yaml"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	res := exe(t, dir, []string{"DRAWBRIDGE_DB_PASSWORD=not-a-real-one"}, "--config", filepath.Join(dir, "drawbridge.yaml"), "config", "check")
	if res.code != 0 || strings.Contains(res.stdout+res.stderr, "not-a-real-one") {
		t.Fatalf("deploy/drawbridge.yaml:\n%s", res)
	}
}
