package main

// End-to-end tests of identity: one person, one identity, however it is
// spelled or linked (issue 7 item 5). The server and the CLI are the built
// binary; the Identity Center emulator runs in this test process.

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

const (
	samAWS = "9067e8a1b2-a1b2c3d4-5555-4a1a-8a1a-000000000005"
	// longSam is "sam@example.com" spelled with U+017F LATIN SMALL LETTER
	// LONG S, which Unicode case folding (and the Identity Store's
	// case-insensitive match) turns into "s".
	longSam = "\u017fam@example.com"
)

// editConfig rewrites the sandbox's drawbridge.yaml with each old→new pair.
func (s *sandbox) editConfig(t *testing.T, pairs ...string) {
	t.Helper()
	data, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(src, pairs[i]) {
			t.Fatalf("config has no %q", pairs[i])
		}
		src = strings.Replace(src, pairs[i], pairs[i+1], 1)
	}
	if err := os.WriteFile(s.cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A second directory entry for alice's AWS user would let alice approve her
// own production admin request: the config is refused, naming both
// entries, by config check and by every command that loads it.
func TestAliasEntryIsRefusedEndToEnd(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	pending := s.request(t, 0, "alice@example.com", "111122223333", "AdministratorAccess", "1", "INC-1")
	id := pending["id"].(string)
	s.editConfig(t, "directory:\n  users:\n", fmt.Sprintf(
		"directory:\n  users:\n    - email: alice.alt@example.com\n      aws_user_id: %s\n      groups: [sre-leads]\n", aliceAWS))
	for _, args := range [][]string{{"config", "check"}, {"approve", id, "alice.alt@example.com"}, {"serve"}} {
		res := s.mustRun(t, exitUsage, args...)
		for _, want := range []string{"directory.users[1] (alice@example.com)", "directory.users[0] (alice.alt@example.com)", "aws_user_id " + aliceAWS} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("drawbridge %s: stderr lacks %q\n%s", strings.Join(args, " "), want, res)
			}
		}
	}
	s.editConfig(t, fmt.Sprintf("    - email: alice.alt@example.com\n      aws_user_id: %s\n      groups: [sre-leads]\n", aliceAWS), "")
	if st := s.status(t, id); st["state"] != "PENDING_APPROVAL" || len(st["approvals"].([]any)) != 0 {
		t.Errorf("after the refused alias: %v", st)
	}
}

// With Identity Store lookups on, "ſam@example.com" (long s) is someone the
// directory does not know; the Identity Store would find sam under Unicode
// case folding, and with his store groups the alias would be an eligible
// approver of sam's own request. It must resolve to nobody: through the
// server's API (400) and the CLI (exit 2), and sam's request stays pending.
func TestLongSAliasCannotApproveEndToEnd(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	for _, u := range [][3]string{{aliceAWS, "alice", "alice@example.com"}, {samAWS, "sam", "sam@example.com"},
		{"9067e8a1b2-a1b2c3d4-2222-4a1a-8a1a-000000000002", "bob", "bob@example.com"}} {
		if err := s.emu.AddUser(u[0], u[1], u[2]); err != nil {
			t.Fatal(err)
		}
	}
	const sreGroup = "9067e8a1b2-a1b2c3d4-0000-4000-9000-000000000001"
	if err := s.emu.AddGroup(sreGroup, "sre-leads"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{samAWS, "9067e8a1b2-a1b2c3d4-2222-4a1a-8a1a-000000000002"} {
		if err := s.emu.AddMembership(sreGroup, u); err != nil {
			t.Fatal(err)
		}
	}
	s.editConfig(t,
		// sam is in sre-leads in the config as in the store: a store group
		// may confirm a config group's member, never add one.
		"directory:\n  users:\n", "directory:\n  users:\n    - email: sam@example.com\n      groups: [engineers, sre-leads]\n",
		"    identity_store_id: d-0000000000\n", "    identity_store_id: d-0000000000\n    resolve_users: true\n    resolve_groups: true\n")
	s.mustRun(t, 0, "config", "check")
	addr := freeAddr(t)
	s.editConfig(t, "listen: 127.0.0.1:8080", "listen: "+addr)
	admin := strings.TrimSpace(lastLine(s.mustRun(t, 0, "token", "create", "--principal", "root@example.com", "--role", "admin").stdout))
	startServer(t, addr, "serve", "--config", s.cfg)

	code, body := curl(t, "POST", "http://"+addr+"/v1/requests", admin,
		`{"requester":"sam@example.com","account_id":"111122223333","permission_set":"AdministratorAccess","duration":"1h","ticket":"INC-7"}`)
	if code != 201 {
		t.Fatalf("sam's request: %d %s", code, body)
	}
	id := decode(t, string(body))["id"].(string)
	code, body = curl(t, "POST", "http://"+addr+"/v1/requests/"+id+"/approve", admin, `{"approver":"`+longSam+`"}`)
	if code != 400 || !strings.Contains(string(body), "unknown person") {
		t.Errorf("approve as %s over HTTP: %d %s, want 400 unknown person", longSam, code, body)
	}
	res := s.mustRun(t, exitUsage, "approve", id, longSam)
	oneLineError(t, res, "unknown person")
	// A token cannot be made for a look-alike either.
	s.mustRun(t, exitUsage, "token", "create", "--principal", longSam, "--role", "approver")
	if st := s.status(t, id); st["state"] != "PENDING_APPROVAL" || len(st["approvals"].([]any)) != 0 {
		t.Fatalf("after the alias's attempts: %v", st)
	}
	if s.emu.HasAssignment("111122223333", "AdministratorAccess", samAWS) {
		t.Fatal("sam holds AdministratorAccess")
	}
	// sam himself is refused, and a real second person approves.
	oneLineError(t, s.mustRun(t, exitRuntime, "approve", id, "sam@example.com"), "own request")
	if st := decode(t, s.mustRun(t, 0, "--output", "json", "approve", id, "bob@example.com").stdout); st["state"] != "ACTIVE" {
		t.Errorf("approved by bob: %v", st)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
