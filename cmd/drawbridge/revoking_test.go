package main

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/metrics"
)

// A revocation the provider keeps refusing is never dropped: the grant
// stays REVOKING with its error, `list --state REVOKING` shows it, and the
// revocations-failing metric counts it.
func TestPermanentlyFailingRevocationStaysRevoking(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	id := s.request(t, 0, "--requester", "U12345678", "--account", "123456789012", "--permission-set", "ReadOnlyAccess", "--duration", "1s")["id"].(string)
	s.emu.Fail(emulator.OpDeleteAccountAssignment, emulator.Fault{Code: "AccessDeniedException", Message: "not authorized to delete"})
	time.Sleep(1100 * time.Millisecond) // the grant's one second
	// Non-zero, so that cron alerts.
	res := s.mustRun(t, exitRuntime, "janitor")
	if !strings.Contains(res.stderr, "1 of 1 steps failed") {
		t.Errorf("janitor does not report the failed revocation on stderr:\n%s", res)
	}
	if !strings.Contains(res.stdout, id) || !strings.Contains(res.stdout, "-> REVOKING (retrying:") || !strings.Contains(res.stdout, "AccessDeniedException") {
		t.Fatalf("janitor output:\n%s", res)
	}
	st := s.status(t, id)
	if st["state"] != "REVOKING" || !strings.Contains(st["last_error"].(string), "AccessDeniedException") || st["revoke_attempts"].(float64) != 1 {
		t.Fatalf("status after a refused revocation: state %v, last_error %v, attempts %v", st["state"], st["last_error"], st["revoke_attempts"])
	}
	if got := ids(s.list(t, "--state", "REVOKING")); len(got) != 1 || got[0] != id {
		t.Fatalf("list --state REVOKING = %v, want [%s]", got, id)
	}
	if !s.emu.HasAssignment("123456789012", "ReadOnlyAccess", aliceAWS) {
		t.Fatal("the assignment is gone although every delete was refused")
	}

	cfg, err := config.Load(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openStore(context.Background(), cfg, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := httptest.NewServer(metrics.New(db, nil).Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"drawbridge_revocations_failing 1", "drawbridge_revocations_pending 1"} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
