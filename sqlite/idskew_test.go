package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// TestMigrationMeasuresIDSkew: migration 00019 sets request_id_skew from
// the requests already stored (how far each id's time is from its
// created_at), and to "no bound" when an id carries no time. The store is
// taken back to before 00019 by hand, given rows, and opened again.
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
			path := filepath.Join(t.TempDir(), "d.db")
			db, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			raw := rawDB(t, path)
			for _, q := range []string{`DROP TABLE request_id_skew`, `DROP INDEX requests_resource_id`, `DROP INDEX requests_provider_id`,
				`DELETE FROM goose_db_version WHERE version_id = 19`} {
				if _, err := raw.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range c.ids {
				if _, err := raw.Exec(`INSERT INTO requests (id, requester, provider, resource, role, duration_ns, state, created_at, version)
					VALUES (?, 'alice@example.com', 'aws', '111111111111', 'ReadOnly', 3600000000000, 'EXPIRED', 1772366400000000000, 1)`, id); err != nil {
					t.Fatal(err)
				}
			}
			if db, err = sqlite.Open(ctx, path); err != nil {
				t.Fatal(err)
			}
			db.Close()
			var ms int64
			if err := raw.QueryRow(`SELECT ms FROM request_id_skew`).Scan(&ms); err != nil || ms != c.want {
				t.Fatalf("request_id_skew after migrating: %d, %v; want %d", ms, err, c.want)
			}
		})
	}
}
