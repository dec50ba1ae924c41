package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/pgtest"
	"github.com/drawbridge-jit/drawbridge/internal/storetest"
	"github.com/drawbridge-jit/drawbridge/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// poolSize keeps each handle's pool small: the suite opens two handles per
// test, and a test binary's cluster is shared.
const poolSize = "pool_max_conns=4"

// TestConformance runs the store suite, concurrency tests included, on a
// fresh database per test; Reopen is a second pool on it, as another
// replica would have.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB, now func() time.Time) storetest.Stores {
		base := pgtest.NewDatabase(t)
		dsn := base + "&" + poolSize
		open := func(t testing.TB) drawbridge.Backend {
			t.Helper()
			db, err := postgres.Open(context.Background(), dsn, postgres.WithNow(now), postgres.WithMigrate())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		tamper := func(t testing.TB, statements ...string) {
			t.Helper()
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, base)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			for _, q := range statements {
				if _, err := conn.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}
		return storetest.Stores{Backend: open(t), Reopen: open, Tamper: tamper}
	})
}

// TestMigrationVersionsMatchSQLite: both stores have the same schema
// versions, so `drawbridge migrate --status` means the same on either; a
// migration added to one dialect only fails here.
func TestMigrationVersionsMatchSQLite(t *testing.T) {
	names := func(dir string) []string {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(dir, "*.sql"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range m {
			m[i] = filepath.Base(m[i])[:5]
		}
		return m
	}
	pg, lite := names("migrations"), names(filepath.Join("..", "sqlite", "migrations"))
	if len(lite) == 0 {
		t.Fatal("no sqlite migrations found")
	}
	if !slices.Equal(pg, lite) {
		t.Fatalf("postgres/migrations has versions %v, sqlite/migrations %v: add the missing dialect's file with the same number", pg, lite)
	}
	if _, err := os.Stat("migrations"); err != nil {
		t.Fatal(err)
	}
}

// TestWatchDueSeesAnotherHandlesWrites: a request written through one
// handle (one replica) is announced, with its due time, to a watcher on
// another handle (another replica) — without either re-reading the store.
func TestWatchDueSeesAnotherHandlesWrites(t *testing.T) {
	dsn := pgtest.NewDatabase(t) + "&" + poolSize
	open := func() *postgres.DB {
		db, err := postgres.Open(context.Background(), dsn, postgres.WithMigrate())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan time.Time, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.WatchDue(ctx, func(due time.Time) { seen <- due }, func(err error) { t.Errorf("watch: %v", err) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	next := func(what string) time.Time {
		t.Helper()
		select {
		case d := <-seen:
			return d
		case <-time.After(time.Minute):
			t.Fatalf("no announcement within a minute: %s", what)
		}
		return time.Time{}
	}
	if d := next("listening started"); !d.IsZero() {
		t.Fatalf("the first call is %v, want the zero time (re-read: listening just started)", d)
	}
	r := storetest.NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	r.State = drawbridge.StateApproved
	r.NextAttemptAt = storetest.T0.Add(3 * time.Second)
	if err := a.CreateRequest(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if d := next("a request created on the other handle"); !d.Equal(r.NextAttemptAt) {
		t.Fatalf("announced %v, want the request's due time %v", d, r.NextAttemptAt)
	}
	r.NextAttemptAt = storetest.T0.Add(7 * time.Second)
	if err := a.UpdateRequest(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if d := next("a request updated on the other handle"); !d.Equal(r.NextAttemptAt) {
		t.Fatalf("announced %v, want the request's new due time %v", d, r.NextAttemptAt)
	}
}
