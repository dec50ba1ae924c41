package main

import (
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/signature"
)

// The acceptance test of durable notifications with the built binary:
// serve delivers to a signed-webhook receiver on loopback; the process is
// killed (SIGKILL) after the receiver took the first notification and
// before its answer got back, so the cursor never moved past it. After a
// restart the notification is delivered again with the same idempotency
// key, and the receiver, acting once per key, acts on every notification
// exactly once.
func TestNotificationsSurviveKill(t *testing.T) {
	const secret = "e2e-notify-secret-0123456789"
	var mu sync.Mutex
	var raw, acted []string
	seen := map[string]bool{}
	first := make(chan struct{})
	var once sync.Once
	recv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := signature.Verify(r.Header.Get(signature.Header), body, time.Now(), signature.DefaultTolerance, []byte(secret)); err != nil {
			t.Errorf("receiver: %v", err)
			w.WriteHeader(nethttp.StatusUnauthorized)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		mu.Lock()
		raw = append(raw, key)
		if !seen[key] {
			seen[key] = true
			acted = append(acted, r.Header.Get("Drawbridge-Event"))
		}
		n := len(raw)
		mu.Unlock()
		if n == 1 {
			// Acted on, but the answer never reaches the sender: it dies
			// first.
			once.Do(func() { close(first) })
			<-r.Context().Done()
			return
		}
		w.WriteHeader(nethttp.StatusNoContent)
	}))
	defer recv.Close()

	cfg, addr := serveSandbox(t, emulator.SandboxOptions(),
		"notify:\n  - kind: webhook\n    url: "+recv.URL+"/hook\n    secret: "+secret+"\n    timeout: 1s\n")
	s := startServer(t, addr, "--config", cfg, "serve")
	res := exe(t, t.TempDir(), nil, "--config", cfg, "-o", "json", "request", "alice@example.com", "123456789012", "ReadOnlyAccess", "1")
	if res.code != 0 {
		t.Fatalf("request: %s", res)
	}
	select {
	case <-first:
	case <-time.After(20 * time.Second):
		t.Fatalf("no notification within 20s\n%s", s.stderr)
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.done
	s.done <- nil // for the cleanup

	// The restarted server waits out the dead one's lease (2 × 1s + 10s)
	// and delivers from where the cursor stood.
	s2 := startServer(t, addr, "--config", cfg, "serve")
	eventually := func(cond func() bool) {
		for start := time.Now(); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Since(start) > 40*time.Second {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("not delivered within 40s: raw %v acted %v\n%s", raw, acted, s2.stderr)
			}
		}
	}
	eventually(func() bool { mu.Lock(); defer mu.Unlock(); return len(acted) == 2 })
	s2.stop(t, os.Interrupt)
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"request.approved", "grant.active"}; !slices.Equal(acted, want) {
		t.Errorf("receiver acted on %v, want %v", acted, want)
	}
	if len(raw) != 3 || raw[0] != raw[1] || raw[1] == raw[2] {
		t.Errorf("deliveries by key %v: want the first twice (redelivered after the kill), then the second once", raw)
	}
	if strings.Contains(s2.stderr.String(), secret) {
		t.Error("the secret reached the log")
	}
}
