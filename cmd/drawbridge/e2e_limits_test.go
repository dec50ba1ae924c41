package main

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

// TestServeCutsOffSlowClients runs `serve` with a short server.read_timeout
// and server.max_body_bytes from the config: a client that sends headers
// and never its body is disconnected, and an oversized body is 413.
func TestServeCutsOffSlowClients(t *testing.T) {
	cfg, addr := serveSandbox(t, emulator.SandboxOptions(), "")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "listen: "+addr, "listen: "+addr+"\n  read_timeout: 300ms\n  max_body_bytes: 2048\n  max_connections: 64", 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	startServer(t, addr, "--config", cfg, "serve")

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /v1/requests HTTP/1.1\r\nHost: drawbridge\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("a body that never arrives held the connection for 20 s (server.read_timeout: 300ms)")
	}

	token := createToken(t, cfg, "--principal", "alice@example.com", "--role", "requester")
	code, b := curl(t, "POST", "http://"+addr+"/v1/requests", token, `{"reason":"`+strings.Repeat("a", 4096)+`"}`)
	if code != 413 || !strings.Contains(string(b), "2048 bytes") {
		t.Fatalf("oversized body: %d %s, want 413 naming the 2048-byte limit", code, b)
	}
}

// TestOpenFileReserve: the connection cap and the descriptors kept for
// the store, provider and expiry engine must fit in the open-file limit,
// or serve refuses to start, naming the cap that fits.
func TestOpenFileReserve(t *testing.T) {
	if err := checkOpenFiles(256, 1024); err != nil {
		t.Errorf("256 connections in 1024 descriptors: %v", err)
	}
	if err := checkOpenFiles(256, 0); err != nil {
		t.Errorf("unknown limit: %v", err)
	}
	err := checkOpenFiles(256, 300)
	if err == nil || exitCode(err) != exitUsage || !strings.Contains(err.Error(), "at most 172") {
		t.Errorf("256 connections in 300 descriptors: %v, want a usage error naming 172", err)
	}
}
