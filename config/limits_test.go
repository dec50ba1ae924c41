package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/config"
)

// TestServerLimits: the connection limits parse as durations and sizes,
// and out-of-range values are refused with the key, the range and the
// default.
func TestServerLimits(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	cfg, err := config.Parse("drawbridge.yaml", []byte("server:\n  read_timeout: 5s\n  write_timeout: 10m\n  max_connections: 1000\n  max_header_bytes: 8192\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(cfg.Server.ReadTimeout) != 5*time.Second || time.Duration(cfg.Server.WriteTimeout) != 10*time.Minute ||
		cfg.Server.MaxConnections != 1000 || cfg.Server.MaxHeaderBytes != 8192 {
		t.Errorf("parsed %+v", cfg.Server)
	}
	for src, want := range map[string]string{
		"server:\n  read_timeout: -1s\n":     `server.read_timeout: invalid duration "-1s"`,
		"server:\n  max_connections: -3\n":   "server.max_connections -3 is out of range",
		"server:\n  max_header_bytes: 100\n": "server.max_header_bytes 100 is out of range",
		"server:\n  max_body_bytes: 10\n":    "server.max_body_bytes 10 is out of range",
		"server:\n  write_timeout: 1m\n":     "server.write_timeout 1m0s is not longer than expiry.provider_timeout 2m0s",
	} {
		if _, err := config.Parse("drawbridge.yaml", []byte(src), noEnv); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}
