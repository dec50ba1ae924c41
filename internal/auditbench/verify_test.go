package auditbench

import (
	"context"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/audit"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// CI verifies 20,000 events; `make bench-audit` runs -auditbench.events
// 1000000 and logs the time (docs/benchmarks.md: ≤ 30 s).
var benchEvents = flag.Int("auditbench.events", 20000, "audit events loaded for TestVerifyAuditLogAtScale")

// TestVerifyAuditLogAtScale times what `drawbridge audit verify
// --checkpoint` does over a large log: every event read, its details
// checked canonical, the chain and the Merkle tree recomputed, the root
// compared with a checkpoint and with the stored tree.
func TestVerifyAuditLogAtScale(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	n := *benchEvents
	path := filepath.Join(t.TempDir(), "events.db")
	took, err := LoadEvents(ctx, path, n, benchNow)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d events in %s", n, took.Round(time.Millisecond))
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	skey, _, err := audit.GenerateKey("bench.example.com/audit")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.ParseSigningKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := audit.NewCheckpoint(ctx, db, signer)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := audit.Verify(ctx, db.ScanAudit, c)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.LastSeq != int64(n) || res.Checkpoints != 1 {
		t.Fatalf("verify: %+v", res)
	}
	if err := audit.CheckStoredTree(ctx, db, res); err != nil {
		t.Fatal(err)
	}
	d := time.Since(start)
	t.Logf("verified %d events against a checkpoint in %s (%.0f events/s)", n, d.Round(time.Millisecond), float64(n)/d.Seconds())
}
