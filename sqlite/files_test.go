package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge/internal/storetest"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// wantPrivate fails unless path exists and only its owner may read it.
func wantPrivate(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("%s has mode %v: token hashes and the audit trail are readable by others", filepath.Base(path), fi.Mode().Perm())
	}
}

// The database and its WAL and shared-memory files hold token hashes and
// the audit trail: they are created readable by their owner only.
func TestStoreFilesArePrivate(t *testing.T) {
	db, path := openDB(t)
	storetest.Create(t, db, storetest.NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		wantPrivate(t, p)
	}
}

// A store file someone made readable to others is tightened when opened,
// and the caller is told.
func TestLooseStoreFileIsTightened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "drawbridge.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	db, err := sqlite.Open(context.Background(), path, sqlite.WithWarnings(func(s string) { warnings = append(warnings, s) }))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.Create(t, db, storetest.NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess"))
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		wantPrivate(t, p)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], path) || !strings.Contains(warnings[0], "0644") || !strings.Contains(warnings[0], "0600") {
		t.Errorf("warnings %q, want one naming %s and its modes", warnings, path)
	}
}
