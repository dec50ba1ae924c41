package auditbench

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/examples"
)

// -auditbench.bin names a built drawbridge binary (make bench-audit builds
// bin/drawbridge); without it the idle-server test is skipped, since the
// command tests of cmd/drawbridge already start the server.
var benchBin = flag.String("auditbench.bin", "", "drawbridge binary for TestIdleServer (built from ./cmd/drawbridge when empty)")

// startBound bounds how long a process may take to listen or be ready.
// It is generous on purpose: this test measures the time to ready, it
// does not assert it.
const startBound = 2 * time.Minute

// idle starts a server with args, times exec → /readyz 200, lets it idle
// and reads its resident set.
func idle(t *testing.T, addr string, args ...string) (ready time.Duration, rss, hwm uint64) {
	t0 := time.Now()
	cmd := Start(t, *benchBin, args...)
	WaitReady(t, "http://"+addr+"/readyz", startBound)
	ready = time.Since(t0)
	time.Sleep(5 * time.Second)
	pid := strconv.Itoa(cmd.Process.Pid)
	return ready, ProcStatus(pid, "VmRSS"), ProcStatus(pid, "VmHWM")
}

// TestIdleServer measures the built binary: `serve` with a temporary
// config against `sandbox` (the Identity Center emulator, in its own
// process), first start on a new store and restarts on the same store,
// then `dev` (emulator in-process).
func TestIdleServer(t *testing.T) {
	if *benchBin == "" {
		// Build it, so CI measures the same thing (never a silent skip).
		bin := filepath.Join(t.TempDir(), "drawbridge")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../cmd/drawbridge").CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		*benchBin = bin
	}
	dir := t.TempDir()
	emu := FreePort(t)
	// No webhook receiver: its default port is fixed, and another
	// package's test running at the same time (grantbench) holds it.
	Start(t, *benchBin, "sandbox", "--listen", emu, "--hooks-listen", "")
	for deadline := time.Now().Add(startBound); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", emu); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox did not listen within %s", startBound)
		}
	}
	cfg, err := examples.FS.ReadFile("drawbridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := examples.FS.ReadFile("access_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	listen := FreePort(t)
	text := strings.Replace(string(cfg), "listen: 127.0.0.1:8080", "listen: "+listen, 1)
	text = strings.Replace(text, "endpoint: http://127.0.0.1:4566", "endpoint: http://"+emu, 1)
	if !strings.Contains(text, listen) || !strings.Contains(text, emu) {
		t.Fatal("examples/drawbridge.yaml changed: cannot point it at the test ports")
	}
	cfgPath := filepath.Join(dir, "drawbridge.yaml")
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "access_rules.yaml"), rules, 0o600); err != nil {
		t.Fatal(err)
	}
	mb := func(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
	for i, what := range []string{"serve, new store", "serve, restart", "serve, restart"} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			ready, rss, hwm := idle(t, listen, "--config", cfgPath, "serve")
			t.Logf("%-18s ready %s; idle VmRSS %s (peak VmHWM %s)", what, ready.Round(time.Millisecond), mb(rss), mb(hwm))
		})
	}
	for i := 0; i < 2; i++ {
		t.Run(fmt.Sprint("dev", i), func(t *testing.T) {
			addr := FreePort(t)
			ready, rss, hwm := idle(t, addr, "dev", "--listen", addr, "--data", filepath.Join(dir, "dev"))
			t.Logf("%-18s ready %s; idle VmRSS %s (peak VmHWM %s)", "dev", ready.Round(time.Millisecond), mb(rss), mb(hwm))
		})
	}
}
