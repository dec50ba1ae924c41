package pgtest_test

import (
	"context"
	"os"
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

// TestRestartKeepsCommittedRows: a restart cuts the open session and the
// server comes back on the same URL with what was committed.
func TestRestartKeepsCommittedRows(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	if err := pgtest.Restart(); err != nil {
		if os.Getenv(pgtest.EnvURL) != "" {
			t.Skipf("an existing server: %v", err)
		}
		t.Fatal(err)
	}
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("the session from before the restart still answers: the server was not restarted")
	}
	conn.Close(ctx)
	conn, err = pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var x int
	if err := conn.QueryRow(ctx, `SELECT x FROM kept`).Scan(&x); err != nil || x != 7 {
		t.Fatalf("after the restart: %d, %v", x, err)
	}
}
