package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/examples"
	"github.com/drawbridge-jit/drawbridge/policy"
)

// A SIGHUP that arrives as soon as serve is ready, before the watcher's
// loop has run, reloads the policy: it is neither lost nor (Go's default
// for an unhandled SIGHUP) the end of the process.
func TestSIGHUPRightAfterStartIsNotLost(t *testing.T) {
	src, err := examples.FS.ReadFile("access_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "access_rules.yaml")
	if err := os.WriteFile(file, src, 0o600); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedWriter
	a := &app{cfg: &config.Config{Policy: config.Policy{File: file}}, broker: broker.New(nil, nil, nil, nil, pol, nil, nil)}
	watch := watchPolicy(a, slog.New(slog.NewJSONHandler(&logs, nil)), time.Hour)
	if err := os.WriteFile(file, append(src, "\n# edited\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); watch(ctx) }()
	defer func() { cancel(); <-done }()
	for start := time.Now(); !strings.Contains(logs.String(), `"trigger":"SIGHUP"`); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the SIGHUP was not handled:\n%s", logs.String())
		}
	}
	if a.broker.Policy().SHA256() == pol.SHA256() {
		t.Error("the edited policy was not loaded")
	}
}
