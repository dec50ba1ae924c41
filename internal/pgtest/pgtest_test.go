package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestDatabasesAreSeparate: each test's database is its own and empty.
func TestDatabasesAreSeparate(t *testing.T) {
	ctx := context.Background()
	var urls []string
	for range 2 {
		u := pgtest.NewDatabase(t)
		urls = append(urls, u)
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'marker'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("database %s is not empty: it has the other test's table", u)
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE marker (x int)`); err != nil {
			t.Fatal(err)
		}
	}
	if urls[0] == urls[1] {
		t.Fatalf("two databases share the URL %s", urls[0])
	}
}
