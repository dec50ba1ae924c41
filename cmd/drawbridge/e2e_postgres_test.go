package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge/internal/pgtest"
)

// TestPostgresStoreMigratesServesAndIsReady: the example config with
// `store: {driver: postgres, dsn: …}`, tried as a new user would: serve
// refuses the empty database and says to migrate, migrate --status shows
// what is pending, migrate applies it, serve becomes ready, and a request
// goes through the store. The password comes from ${ENV} and appears in no
// output.
func TestPostgresStoreMigratesServesAndIsReady(t *testing.T) {
	s := newSandbox(t)
	const secret = "pw-Zq81-never-printed"
	t.Setenv("TEST_PG_PASSWORD", secret)
	dsn := pgtest.NewDatabase(t) + "&password=${TEST_PG_PASSWORD}"
	addr := freeAddr(t)
	data, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := regexp.MustCompile(`(?m)^store:\n  driver: sqlite\n  dsn: .*$`)
	if !store.Match(data) {
		t.Fatalf("examples/drawbridge.yaml has no sqlite store block to replace:\n%s", data)
	}
	data = store.ReplaceAll(data, []byte("store:\n  driver: postgres\n  dsn: "+dsn))
	data = bytes.Replace(data, []byte("listen: 127.0.0.1:8080"), []byte("listen: "+addr), 1)
	if err := os.WriteFile(s.cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	noSecret := func(r result) {
		t.Helper()
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatalf("the password appears in the output:\n%s", r)
		}
	}

	res := s.mustRun(t, 1, "serve")
	noSecret(res)
	if !strings.Contains(res.stderr, "drawbridge migrate") {
		t.Fatalf("serve on an empty database does not say to migrate:\n%s", res)
	}
	res = s.mustRun(t, 0, "migrate", "--status")
	noSecret(res)
	if !strings.Contains(res.stdout, "pending") {
		t.Fatalf("migrate --status on an empty database shows nothing pending:\n%s", res)
	}
	res = s.mustRun(t, 0, "migrate")
	noSecret(res)
	if res = s.mustRun(t, 0, "migrate", "--status"); strings.Contains(res.stdout, "pending") {
		t.Fatalf("migrate left versions pending:\n%s", res)
	}

	srv := startServer(t, addr, "serve", "--config", s.cfg)
	if strings.Contains(srv.stderr.String(), secret) {
		t.Fatalf("serve logged the password:\n%s", srv.stderr)
	}
	r := s.request(t, 0, "U12345678", "123456789012", "ReadOnlyAccess", "1")
	id, _ := r["id"].(string)
	if got := s.status(t, id)["id"]; got != id {
		t.Fatalf("status of %s from the postgres store: %v", id, got)
	}
	if res := s.mustRun(t, 0, "audit", "verify"); strings.Contains(res.stdout+res.stderr, secret) {
		t.Fatalf("audit verify printed the password:\n%s", res)
	}
}

// TestStoreCopySQLiteToPostgres: a team's SQLite store moves to PostgreSQL
// with every request, token and audit event; the chain verifies on the
// copy with the same last hash, and the CLI on the copy sees the requests.
func TestStoreCopySQLiteToPostgres(t *testing.T) {
	s := newSandbox(t)
	var ids []string
	for range 3 {
		r := s.request(t, 0, "U12345678", "123456789012", "ReadOnlyAccess", "1")
		ids = append(ids, r["id"].(string))
	}
	s.mustRun(t, 0, "token", "create", "--principal", "audit@example.com", "--role", "auditor", "--providers", "aws")
	src := s.mustRun(t, 0, "audit", "verify").stdout

	dsn := pgtest.NewDatabase(t)
	res := s.mustRun(t, 0, "store", "copy", "--from", "sqlite:"+filepath.Join(s.dir, "drawbridge.db"), "--to", "postgres:"+dsn)
	last := regexp.MustCompile(`last hash [0-9a-f]{64}`).FindString(src)
	if last == "" || !strings.Contains(res.stdout, last) {
		t.Fatalf("copy does not report the source's verified chain end %q:\n%s\nsource: %s", last, res, src)
	}
	// A second copy into the same database is refused: it is not empty.
	if res := s.run(t, "store", "copy", "--from", "sqlite:"+filepath.Join(s.dir, "drawbridge.db"), "--to", "postgres:"+dsn); res.code == 0 || !strings.Contains(res.stderr, "not empty") {
		t.Fatalf("a second copy into a non-empty database:\n%s", res)
	}

	data, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = regexp.MustCompile(`(?m)^store:\n  driver: sqlite\n  dsn: .*$`).ReplaceAll(data, []byte("store:\n  driver: postgres\n  dsn: "+dsn))
	if err := os.WriteFile(s.cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := s.mustRun(t, 0, "audit", "verify").stdout; got != src {
		t.Fatalf("audit verify on the copy:\n%s\nwant as on the source:\n%s", got, src)
	}
	for _, id := range ids {
		if got := s.status(t, id)["id"]; got != id {
			t.Fatalf("request %s missing from the copy: %v", id, got)
		}
	}
	if res := s.mustRun(t, 0, "token", "list"); !strings.Contains(res.stdout, "audit@example.com") {
		t.Fatalf("token missing from the copy:\n%s", res)
	}
}
