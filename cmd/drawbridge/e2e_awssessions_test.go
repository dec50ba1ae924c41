package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// providers.aws.end_sessions: [deny_old_sessions] through the built
// binary: revoking a grant adds a deny of the person's older sessions to
// the permission set's inline policy, provisioned to the account, and the
// confirmation's audit event says so. The emulator then refuses a session
// issued during the grant and allows one issued after the revocation.
func TestAWSDenyOldSessionsOnRevoke(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	data, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("  aws:\n    region:"), []byte("  aws:\n    end_sessions: [deny_old_sessions]\n    region:"), 1)
	if !bytes.Contains(data, []byte("deny_old_sessions")) {
		t.Fatal("the example config has no providers.aws block to extend")
	}
	if err := os.WriteFile(s.cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	req := s.request(t, 0, "U12345678", "123456789012", "ReadOnlyAccess", "1")
	id := req["id"].(string)
	issued := time.Now()
	rev := decode(t, s.mustRun(t, 0, "revoke", id, "--reason", "done", "--output", "json").stdout)
	if rev["state"] != "REVOKED" {
		t.Fatalf("revoke: %v", rev)
	}
	policy := s.emu.InlinePolicy("ReadOnlyAccess")
	if !strings.Contains(policy, aliceAWS) || !strings.Contains(policy, `"aws:PrincipalAccount":"123456789012"`) {
		t.Fatalf("inline policy after revoke: %s", policy)
	}
	ok, err := s.emu.SessionAllowed("123456789012", "ReadOnlyAccess", aliceAWS, issued)
	if err != nil || ok {
		t.Fatalf("a session issued during the grant: allowed %v, %v", ok, err)
	}
	ok, err = s.emu.SessionAllowed("123456789012", "ReadOnlyAccess", aliceAWS, time.Now().Add(2*time.Second))
	if err != nil || !ok {
		t.Fatalf("a session issued after the revocation: allowed %v, %v", ok, err)
	}
	events := s.mustRun(t, 0, "audit", "export", "--format", "jsonl").stdout
	if !strings.Contains(events, "deny_old_sessions") {
		t.Errorf("the audit trail does not record the deny of %s:\n%s", id, events)
	}
}
