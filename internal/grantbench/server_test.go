package grantbench_test

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/examples"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
	"github.com/drawbridge-jit/drawbridge/internal/auditbench"
)

var (
	serverBin      = flag.String("grantbench.bin", "", "drawbridge binary for TestServerAtScale (built from ./cmd/drawbridge when empty)")
	serverRounds   = flag.Int("grantbench.rounds", 1, "server starts per size in TestServerAtScale")
	serverRequests = flag.Int("grantbench.requests", 200, "submissions per round in TestServerAtScale")
)

// TestServerAtScale starts the built binary (`serve`, against `sandbox` in
// another process) on a store holding N ACTIVE grants, for each size:
// time from exec to the first 200 of /readyz, VmRSS two seconds after, then
// submit → ACTIVE over HTTP (8 clients, auto-allowed ReadOnlyAccess) and
// VmHWM after the load. CI runs one round of 200 requests at the small
// sizes; `make bench-grants` runs 3 rounds of 1,000 at 0, 100,000 and
// 1,000,000. Nothing here asserts a time; it fails only when a request
// does not end ACTIVE or the server does not start.
func TestServerAtScale(t *testing.T) {
	if *serverBin == "" {
		bin := filepath.Join(t.TempDir(), "drawbridge")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../cmd/drawbridge").CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		*serverBin = bin
	}
	emu := auditbench.FreePort(t)
	sandbox := auditbench.Start(t, *serverBin, "sandbox", "--listen", emu, "--hooks-listen", "")
	t.Cleanup(func() {
		if sandbox.ProcessState != nil || sandbox.Process.Signal(syscall.Signal(0)) != nil {
			t.Errorf("the sandbox exited before the test ended")
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", emu); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sandbox did not listen within 20 s")
		}
	}
	for _, n := range sizes(t) {
		dir := filepath.Dir(store(t, n))
		listen := auditbench.FreePort(t)
		cfg := writeConfig(t, dir, listen, emu)
		out, err := exec.Command(*serverBin, "--config", cfg, "token", "create", "--principal", "admin@example.com", "--role", "admin").CombinedOutput()
		if err != nil {
			t.Fatalf("token create: %v\n%s", err, out)
		}
		token := ""
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, drawbridge.TokenSecretPrefix) {
				token = strings.TrimSpace(line)
			}
		}
		if token == "" {
			t.Fatalf("token create printed no secret:\n%s", out)
		}
		for round := range *serverRounds {
			t.Run(fmt.Sprintf("active=%d/%d", n, round), func(t *testing.T) {
				t0 := time.Now()
				cmd := auditbench.Start(t, *serverBin, "--config", cfg, "serve")
				auditbench.WaitReady(t, "http://"+listen+"/readyz", time.Minute)
				ready := time.Since(t0)
				time.Sleep(2 * time.Second)
				pid := strconv.Itoa(cmd.Process.Pid)
				rss := auditbench.ProcStatus(pid, "VmRSS")
				rate, p99 := submit(t, listen, token, *serverRequests, 8, round)
				hwm := auditbench.ProcStatus(pid, "VmHWM")
				t.Logf("active=%d ready %s idle VmRSS %.1f MB; submit→ACTIVE %d requests, 8 clients: %.0f/s, p99 %s; peak VmHWM %.1f MB",
					n, ready.Round(time.Millisecond), float64(rss)/(1<<20), *serverRequests, rate, p99.Round(100*time.Microsecond), float64(hwm)/(1<<20))
			})
		}
	}
}

// writeConfig writes examples/drawbridge.yaml beside the store in dir,
// listening on listen, with the emulator at emu and 500 engineers to submit
// for (as `drawbridge loadtest` does), and the example policy.
func writeConfig(t *testing.T, dir, listen, emu string) string {
	t.Helper()
	cfg, err := examples.FS.ReadFile("drawbridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := examples.FS.ReadFile("access_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var users strings.Builder
	for i := range 500 {
		fmt.Fprintf(&users, "    - {email: eng%03d@example.com, aws_user_id: 9067e8a1b2-a1b2c3d4-0000-4000-9000-%012d, groups: [engineers]}\n", i, i)
	}
	text := strings.Replace(string(cfg), "listen: 127.0.0.1:8080", "listen: "+listen, 1)
	text = strings.Replace(text, "endpoint: http://127.0.0.1:4566", "endpoint: http://"+emu, 1)
	text = strings.Replace(text, "directory:\n  users:\n", "directory:\n  users:\n"+users.String(), 1)
	if !strings.Contains(text, listen) || !strings.Contains(text, emu) || !strings.Contains(text, "eng499@") {
		t.Fatal("examples/drawbridge.yaml changed: cannot point it at the test ports and users")
	}
	path := filepath.Join(dir, "drawbridge.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "access_rules.yaml"), rules, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// submit sends n auto-allowed requests from workers clients and returns
// the throughput and the p99 latency; every request must end ACTIVE.
func submit(t *testing.T, addr, token string, n, workers, round int) (float64, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	client := dbhttp.NewClient(addr, token)
	accounts := []string{"123456789012", "111122223333"}
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				// Each round's requests go to other engineers than the last
				// round's, so nobody's continuous access piles up.
				k := i + round*n
				s := time.Now()
				r, err := client.Submit(ctx, dbhttp.CreateRequest{Requester: fmt.Sprintf("eng%03d@example.com", k%500),
					AccountID: accounts[(k/500)%2], PermissionSet: "ReadOnlyAccess", Duration: "1h", Reason: "grantbench"})
				lat[i] = time.Since(s)
				if err == nil && r.State != drawbridge.StateActive {
					err = fmt.Errorf("request %s is %s: %s", r.ID, r.State, r.LastError)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	slices.Sort(lat)
	return float64(n) / elapsed.Seconds(), lat[min(n-1, n*99/100)]
}
