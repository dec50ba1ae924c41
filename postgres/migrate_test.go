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

// TestMigrationMeasuresIDSkew: migration 00019 sets request_id_skew from
// the requests already stored (how far each id's time is from its
// created_at), and to "no bound" when an id carries no time; the
// store's windows stay exact on an upgraded database.
func TestMigrationMeasuresIDSkew(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		ids  []string
		want int64
	}{
		// created_at is 2026-03-01T12:00:00.000Z = 0x19ca9450a00 ms
		{"ids carry their time", []string{"req_019ca9450a007000800000000000000a", "req_019ca9450a077000800000000000000b"}, 7},
		{"an id without time", []string{"req_019ca9450a007000800000000000000a", "imported-1"}, 1<<63 - 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			if _, _, err := postgres.Migrate(ctx, dsn, 18); err != nil {
				t.Fatal(err)
			}
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			for _, id := range c.ids {
				if _, err := conn.Exec(ctx, `INSERT INTO requests (id, requester, provider, resource, role, duration_ns, state, created_at, version)
					VALUES ($1, 'alice@example.com', 'aws', '111111111111', 'ReadOnly', 3600000000000, 'EXPIRED', 1772366400000000000, 1)`, id); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := postgres.Migrate(ctx, dsn, 0); err != nil {
				t.Fatal(err)
			}
			var ms int64
			if err := conn.QueryRow(ctx, `SELECT ms FROM request_id_skew`).Scan(&ms); err != nil || ms != c.want {
				t.Fatalf("request_id_skew after migrating: %d, %v; want %d", ms, err, c.want)
			}
		})
	}
}
