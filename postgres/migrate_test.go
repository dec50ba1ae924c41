package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge/internal/pgtest"
	"github.com/drawbridge-jit/drawbridge/postgres"
)

// TestOpenRefusesAnUnmigratedSchema: serve never changes a shared schema on
// its own (several replicas, one of them older); it names the command that
// does.
func TestOpenRefusesAnUnmigratedSchema(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	_, err := postgres.Open(context.Background(), dsn)
	if err == nil || !strings.Contains(err.Error(), "drawbridge migrate") {
		t.Fatalf("Open on an empty database: %v, want a refusal naming `drawbridge migrate`", err)
	}
}

// TestMigrateToAndStatus: --to stops at a version, status tells applied
// from pending, going back is refused, and the latest version opens.
func TestMigrateToAndStatus(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	from, now, err := postgres.Migrate(ctx, dsn, 5)
	if err != nil || from != 0 || now != 5 {
		t.Fatalf("Migrate to 5: from %d now %d, %v", from, now, err)
	}
	st, err := postgres.Status(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var applied, pending int
	for _, v := range st {
		if v.Applied {
			applied++
			if v.Version > 5 {
				t.Fatalf("version %d applied after migrating to 5", v.Version)
			}
		} else {
			pending++
		}
	}
	if applied != 5 || pending == 0 {
		t.Fatalf("status: %d applied, %d pending; want 5 and some", applied, pending)
	}
	if _, err := postgres.Open(ctx, dsn); err == nil || !strings.Contains(err.Error(), "version 5") {
		t.Fatalf("Open at version 5: %v, want a refusal naming the version", err)
	}
	if _, _, err := postgres.Migrate(ctx, dsn, 3); err == nil {
		t.Fatal("migrating down to 3 was accepted; the down migrations drop data")
	}
	if _, now, err = postgres.Migrate(ctx, dsn, 0); err != nil || now != st[len(st)-1].Version {
		t.Fatalf("Migrate to latest: now %d, %v", now, err)
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// TestOpenRefusesANewerSchema: a schema a newer release migrated is not
// served by an older one, which would not know its columns' rules.
func TestOpenRefusesANewerSchema(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	if _, _, err := postgres.Migrate(ctx, dsn, 0); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(ctx, dsn)
	if err == nil || !strings.Contains(err.Error(), "99999") || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open on a newer schema: %v, want a refusal naming version 99999 as newer", err)
	}
}

// TestErrorsNeverShowThePassword: a wrong password, an unreachable host and
// a dsn that does not parse are reported without the password.
func TestErrorsNeverShowThePassword(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{
		"postgres://drawbridge:s3cr3t-pw@127.0.0.1:1/drawbridge?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=drawbridge password=s3cr3t-pw dbname=x connect_timeout=2",
		"postgres://drawbridge:s3cr3t-pw@127.0.0.1:notaport/x",
		"host=127.0.0.1 password='s3cr3t-pw' port=notaport",
	} {
		_, err := postgres.Open(ctx, dsn)
		if err == nil {
			t.Fatalf("Open(%s) succeeded", postgres.Redact(dsn))
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error shows the password: %v", err)
		}
		if r := postgres.Redact(dsn); strings.Contains(r, "s3cr3t") {
			t.Errorf("Redact(%q) = %q", dsn, r)
		}
	}
}
