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
