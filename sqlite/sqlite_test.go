package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/storetest"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// TestConformance runs the store suite: every behaviour a store shares
// with the others. This package keeps only what is SQLite's own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB, now func() time.Time) storetest.Stores {
		path := filepath.Join(t.TempDir(), "drawbridge.db")
		open := func(t testing.TB) drawbridge.Backend {
			t.Helper()
			db, err := sqlite.Open(context.Background(), path, sqlite.WithNow(now))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		tamper := func(t testing.TB, statements ...string) {
			t.Helper()
			raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			for _, q := range statements {
				if strings.Contains(q, "audit_head") {
					continue // SQLite reads the head from audit_events
				}
				if _, err := raw.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}
		return storetest.Stores{Backend: open(t), Reopen: open, Tamper: tamper}
	})
}

func openDB(t testing.TB) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "drawbridge.db")
	db, err := sqlite.Open(context.Background(), path, sqlite.WithNow(func() time.Time { return storetest.T0 }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// rawDB opens the store's file directly, as an attacker with file access
// (or a test) would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

func TestOpenIsIdempotentAndConcurrent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "d.db")

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := sqlite.Open(ctx, path)
			if err == nil {
				err = db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r := storetest.Create(t, db, storetest.NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	db.Close()

	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if _, err := db.GetRequest(ctx, r.ID); err != nil {
		t.Fatalf("data lost on reopen: %v", err)
	}
	var dups int
	if err := rawDB(t, path).QueryRow(`SELECT count(*) FROM (SELECT version_id FROM goose_db_version
		GROUP BY version_id HAVING count(*) > 1)`).Scan(&dups); err != nil {
		t.Fatal(err)
	}
	if dups != 0 {
		t.Fatalf("%d migrations recorded more than once", dups)
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	_, err := sqlite.Open(context.Background(), ":memory:")
	if drawbridge.ErrorCode(err) != drawbridge.EINVALID {
		t.Fatalf("opening :memory: gave %v, want EINVALID", err)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?name#1%.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.Create(t, db, storetest.NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	if db.Path() != path {
		t.Fatalf("Path() = %q, want %q", db.Path(), path)
	}
}
