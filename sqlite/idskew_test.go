package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// TestMigrationMeasuresIDSkew: migration 00019 sets request_id_skew from
// the requests already stored (how far each id's time is from its
// created_at), and to "no bound" when an id carries no time. Its INSERT is
// run again, from the migration file, over rows written by hand.
func TestMigrationMeasuresIDSkew(t *testing.T) {
	ctx := context.Background()
	b, err := os.ReadFile("migrations/00019_list_order.sql")
	if err != nil {
		t.Fatal(err)
	}
	up := string(b)
	start := strings.Index(up, "INSERT INTO request_id_skew")
	end := strings.Index(up[start:], ";")
	if start < 0 || end < 0 {
		t.Fatal("no INSERT INTO request_id_skew in migration 00019")
	}
	measure := up[start : start+end]
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
			if _, err := raw.Exec(`DELETE FROM request_id_skew`); err != nil {
				t.Fatal(err)
			}
			for _, id := range c.ids {
				if _, err := raw.Exec(`INSERT INTO requests (id, requester, provider, resource, role, duration_ns, state, created_at, version)
					VALUES (?, 'alice@example.com', 'aws', '111111111111', 'ReadOnly', 3600000000000, 'EXPIRED', 1772366400000000000, 1)`, id); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := raw.Exec(measure); err != nil {
				t.Fatal(err)
			}
			var ms int64
			if err := raw.QueryRow(`SELECT ms FROM request_id_skew`).Scan(&ms); err != nil || ms != c.want {
				t.Fatalf("request_id_skew after migrating: %d, %v; want %d", ms, err, c.want)
			}
		})
	}
}
