package main

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Rows bound to the chain, through the built binary: a grant's row edited
// with SQL (standing access claimed, end moved eight hours later) is named
// by audit verify and audit verify --deep with its fields; revoking it
// still deletes the assignment, and the row then agrees with the chain
// again.
func TestAuditVerifyNamesEditedRow(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	id := s.request(t, 0, "U12345678", "123456789012", "ReadOnlyAccess", "1")["id"].(string)
	other := s.request(t, 0, "U23456789", "123456789012", "ReadOnlyAccess", "1")["id"].(string)
	if res := s.mustRun(t, 0, "audit", "verify"); !strings.Contains(res.stdout, "request rows OK: 2 requests") {
		t.Fatalf("audit verify before the edit:\n%s", res)
	}

	db, err := sql.Open("sqlite", filepath.Join(s.dir, "drawbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	later := int64(8 * time.Hour)
	res, err := db.Exec(`UPDATE requests SET preexisting_access = 1, expires_at = expires_at + ?, due_at = due_at + ? WHERE id = ?`, later, later, id)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("edited %d rows", n)
	}
	db.Close()

	for _, args := range [][]string{{"audit", "verify"}, {"audit", "verify", "--deep"}} {
		res := s.run(t, args...)
		if res.code == 0 {
			t.Fatalf("%v passed after a row edit:\n%s", args, res)
		}
		oneLineError(t, res, "request "+id+" (expires_at, preexisting_access)")
		if strings.Contains(res.stderr, other) {
			t.Errorf("%v names the untouched request: %s", args, res.stderr)
		}
	}

	rev := decode(t, s.mustRun(t, 0, "revoke", id, "--reason", "done", "--output", "json").stdout)
	if rev["state"] != "REVOKED" {
		t.Fatalf("revoke: %v", rev["state"])
	}
	if s.emu.HasAssignment("123456789012", "ReadOnlyAccess", aliceAWS) {
		t.Fatal("the assignment survived the revocation of a grant whose row claimed standing access")
	}
	if res := s.mustRun(t, 0, "audit", "verify", "--deep"); !strings.Contains(res.stdout, "request rows OK: 2 requests") {
		t.Errorf("audit verify after the revocation:\n%s", res)
	}
}
