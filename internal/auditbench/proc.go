package auditbench

import (
	"net"
	nethttp "net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// FreePort returns a loopback address with a port free at the time of
// the call, for a child process to listen on.
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Start runs bin with args; the process is stopped (SIGTERM, then
// SIGKILL after 35 s) when t ends. Shared by the harnesses that measure
// the built binary, so every one of them stops its children the same way.
func Start(t testing.TB, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(35 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return cmd
}

// WaitReady polls url until it answers 200, at most bound.
func WaitReady(t testing.TB, url string, bound time.Duration) {
	t.Helper()
	c := &nethttp.Client{Timeout: time.Second}
	for deadline := time.Now().Add(bound); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s not ready within %s", url, bound)
}
