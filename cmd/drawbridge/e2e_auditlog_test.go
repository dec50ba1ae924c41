package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/drawbridge-jit/drawbridge/audit"
)

// auditSandbox is a sandbox whose config has an audit log with a key, a
// latest-checkpoint file and a checkpoint directory.
func auditSandbox(t *testing.T) (s *sandbox, pub string) {
	t.Helper()
	s = newSandbox(t)
	f, err := os.OpenFile(s.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\naudit:\n  origin: drawbridge.example.com/audit\n  checkpoint_file: latest.checkpoint\n  checkpoint_dir: checkpoints\n")
	f.Close()
	if err := os.Mkdir(filepath.Join(s.dir, "checkpoints"), 0o755); err != nil {
		t.Fatal(err)
	}
	res := s.mustRun(t, 0, "audit", "keygen")
	key := filepath.Join(s.dir, "audit-signing.key")
	if !strings.Contains(res.stdout, key) {
		t.Fatalf("keygen does not say where the key went:\n%s", res)
	}
	privateMode(t, key)
	return s, key + ".pub"
}

func TestAuditCheckpointsAndProofsEndToEnd(t *testing.T) {
	t.Parallel()
	s, pub := auditSandbox(t)
	if res := s.run(t, "audit", "keygen"); res.code == 0 || !strings.Contains(res.stderr, "never replaces a key") {
		t.Fatalf("a second keygen:\n%s", res)
	}
	s.request(t, 0, "U12345678", "123456789012", "ReadOnlyAccess", "1")
	cp1 := filepath.Join(t.TempDir(), "cp1")
	s.mustRun(t, 0, "audit", "checkpoint", "--out", cp1)
	for _, f := range []string{cp1, filepath.Join(s.dir, "latest.checkpoint"), filepath.Join(s.dir, "checkpoints", "4.checkpoint")} {
		if b, err := os.ReadFile(f); err != nil || !bytes.HasPrefix(b, []byte("drawbridge.example.com/audit\n4\n")) {
			t.Fatalf("%s: %q, %v", f, b, err)
		}
	}

	// An inclusion proof verifies offline with the public key alone.
	proof := filepath.Join(t.TempDir(), "proof")
	s.mustRun(t, 0, "audit", "prove", "2", "--out", proof)
	res := exe(t, t.TempDir(), nil, "audit", "verify-proof", proof, "--key", pub)
	if res.code != 0 || !strings.Contains(res.stdout, "proof OK: event 2 is in the log drawbridge.example.com/audit of 4 events") {
		t.Fatalf("verify-proof:\n%s", res)
	}
	text, _ := os.ReadFile(proof)
	forged := bytes.Replace(text, []byte(`"actor":"`), []byte(`"actor":"x`), 1)
	if bytes.Equal(forged, text) {
		t.Fatal("nothing to forge")
	}
	if err := os.WriteFile(proof, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	res = exe(t, t.TempDir(), nil, "audit", "verify-proof", proof, "--key", pub)
	if res.code == 0 || !strings.Contains(res.stderr, "event 2 is NOT in the log") {
		t.Fatalf("verify-proof of a forged event:\n%s", res)
	}

	// The log grows; it still extends the saved checkpoint.
	s.request(t, 3, "dave@example.com", "123456789012", "ReadOnlyAccess", "1")
	if res := s.mustRun(t, 0, "audit", "verify", "--checkpoint", cp1); !strings.Contains(res.stdout, "extends 1 checkpoint(s)") {
		t.Fatalf("verify --checkpoint:\n%s", res)
	}

	// Someone with the database deletes the newest events carefully
	// (chain head and Merkle hashes included): the chain and tree alone
	// cannot tell (only the request rows the deleted events recorded
	// can); the saved checkpoint names the deletion.
	cp2 := filepath.Join(t.TempDir(), "cp2")
	s.mustRun(t, 0, "audit", "checkpoint", "--out", cp2)
	db, err := sql.Open("sqlite", filepath.Join(s.dir, "drawbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DELETE FROM audit_events WHERE seq > 4`, fmt.Sprintf(`DELETE FROM audit_hashes WHERE idx >= %d`, tlog.StoredHashCount(4))} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if res := s.run(t, "audit", "verify"); strings.Contains(res.stderr, "audit chain broken") {
		t.Fatalf("the truncated chain alone should look intact:\n%s", res)
	}
	res = s.run(t, "audit", "verify", "--checkpoint", cp1, "--checkpoint", cp2)
	if res.code == 0 || !strings.Contains(res.stderr, "the log has 4 events, but a checkpoint saw") || !strings.Contains(res.stderr, "deleted from the end") {
		t.Fatalf("verify after truncation:\n%s", res)
	}
	oneLineError(t, res, "deleted")
	// And the next checkpoint refuses to sign the shorter history.
	res = s.run(t, "audit", "checkpoint")
	if res.code == 0 || !strings.Contains(res.stderr, "events were deleted") {
		t.Fatalf("checkpoint of a truncated log:\n%s", res)
	}
}

// TestKilledCheckpointNeverPublishesAnInconsistentOne kills `drawbridge
// audit checkpoint` with SIGKILL at a spread of moments while the log
// grows, and checks after every kill that each file a reader can see
// (the latest file and the per-checkpoint directory) is a whole signed
// checkpoint, and that the log extends all of them. Where the kill lands
// varies with the machine; the property must hold wherever it lands.
func TestKilledCheckpointNeverPublishesAnInconsistentOne(t *testing.T) {
	t.Parallel()
	s, pub := auditSandbox(t)
	pubKey, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := audit.ParseVerifierKey(string(pubKey))
	if err != nil {
		t.Fatal(err)
	}
	published := func() []string {
		files, _ := filepath.Glob(filepath.Join(s.dir, "checkpoints", "*"))
		latest := filepath.Join(s.dir, "latest.checkpoint")
		if _, err := os.Stat(latest); err == nil {
			files = append(files, latest)
		}
		return files
	}
	for i := range 24 {
		if i%6 == 0 {
			s.request(t, 0, "U12345678", "123456789012", "ReadOnlyAccess", "1")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, binary, "--config", s.cfg, "audit", "checkpoint")
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		// From at once to after it has certainly finished.
		time.Sleep(time.Duration(i*i) * 2 * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		cancel()
		files := published()
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := audit.OpenCheckpoint(b, v); err != nil {
				t.Fatalf("kill %d: %s is not a whole signed checkpoint: %v\n%q", i, f, err, b)
			}
		}
		if len(files) > 0 {
			args := []string{"audit", "verify", "--key", pub}
			for _, f := range files {
				args = append(args, "--checkpoint", f)
			}
			s.mustRun(t, 0, args...)
		}
	}
	t.Logf("%d checkpoint files survived the kills", len(published()))
	// Unkilled, the next checkpoint extends whatever the kills left.
	s.mustRun(t, 0, "audit", "checkpoint")
	args := []string{"audit", "verify", "--key", pub}
	for _, f := range published() {
		args = append(args, "--checkpoint", f)
	}
	s.mustRun(t, 0, args...)
}
