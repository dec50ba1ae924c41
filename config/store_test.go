package config_test

import (
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge/config"
)

func TestStoreDSNRedacted(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"/var/lib/drawbridge/drawbridge.db", "/var/lib/drawbridge/drawbridge.db"},
		{"postgres://drawbridge:s3cr3t@db.internal:5432/drawbridge?sslmode=verify-full", "postgres://drawbridge:***@db.internal:5432/drawbridge?sslmode=verify-full"},
		{"postgresql://drawbridge@db.internal/drawbridge?password=s3cr3t&sslmode=require", "postgresql://drawbridge@db.internal/drawbridge?password=***&sslmode=require"},
		{"host=db.internal user=drawbridge password=s3cr3t dbname=drawbridge", "host=db.internal user=drawbridge password=*** dbname=drawbridge"},
		{"host=db user=x password='s3 cr3t' sslmode=require", "host=db user=x password=*** sslmode=require"},
		{"postgres://u:p%40ss@h/db", "postgres://u:***@h/db"},
	} {
		got := config.Store{DSN: tc.dsn}.Redacted()
		if got != tc.want || strings.Contains(got, "s3cr3t") || strings.Contains(got, "p%40ss") {
			t.Errorf("Redacted(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}

// TestPostgresStore: driver postgres takes its dsn as written (no path
// resolution), with ${ENV} for the password, and needs one.
func TestPostgresStore(t *testing.T) {
	cfg, err := config.Parse("/etc/drawbridge/drawbridge.yaml",
		[]byte("store:\n  driver: postgres\n  dsn: postgres://drawbridge:${PGPASSWORD}@db.internal/drawbridge\n"),
		func(k string) (string, bool) { return "s3cr3t", k == "PGPASSWORD" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Driver != "postgres" || cfg.Store.DSN != "postgres://drawbridge:s3cr3t@db.internal/drawbridge" {
		t.Fatalf("store = %+v", cfg.Store)
	}
	_, err = config.Parse("/etc/drawbridge/drawbridge.yaml", []byte("store:\n  driver: postgres\n"), func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "store.dsn") {
		t.Fatalf("postgres without a dsn: %v, want an error naming store.dsn", err)
	}
}
