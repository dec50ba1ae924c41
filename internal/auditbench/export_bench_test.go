package auditbench

import (
	"bytes"
	"context"
	"flag"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

var benchStore = flag.String("auditbench.store", "", "a store already filled by Load with -auditbench.n requests (2026-03-01, seed 1): measured as it is instead of loading a new one")

// loadedStore returns the path of a store holding the benchmark's data.
func loadedStore(tb testing.TB, ctx context.Context) string {
	tb.Helper()
	if *benchStore != "" {
		return *benchStore
	}
	path := filepath.Join(tb.TempDir(), "audit.db")
	if _, err := Load(ctx, path, *benchN, benchNow, benchSeed); err != nil {
		tb.Fatal(err)
	}
	return path
}

// openLoaded opens the benchmark's store.
func openLoaded(tb testing.TB, ctx context.Context) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(ctx, loadedStore(tb, ctx))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// lineCounter counts the lines written to it.
type lineCounter struct{ lines int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// BenchmarkExportCSV measures GET /api/exports.csv of every terminal
// request (all but the live ones: 999,617 of 1,000,000) against its
// ceiling in the same run: the sqlite3 shell writing the same rows and
// columns with .mode csv (-csv) from the same file. Each round runs both;
// it reports the medians (export-s, shell-s, ratio) and logs every round.
// CI runs one round over the default small store; docs/benchmarks.md
// has -auditbench.n 1000000.
func BenchmarkExportCSV(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	shell, err := exec.LookPath("sqlite3")
	if err != nil {
		b.Fatal("the sqlite3 shell, this benchmark's ceiling, is missing: install it (Debian: apt-get install sqlite3; make deps-sqlite3)")
	}
	path := loadedStore(b, ctx)
	e, err := NewEnv(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	terminal := []string{"EXPIRED", "REVOKED", "DENIED", "CANCELLED", "FAILED"}
	query := `SELECT id, state, requester, provider, resource, role, duration_ns, reason, ticket, channel, rule, policy_sha256,
		decision_reason, approvals, created_at, decided_at, activated_at, expires_at, ended_at, end_reason, last_error
		FROM requests WHERE state IN ('` + strings.Join(terminal, "', '") + `') ORDER BY id DESC`
	var exports, shells, ratios []float64
	var heapPeak, rssPeak float64
	for b.Loop() {
		var out lineCounter
		cmd := exec.CommandContext(ctx, shell, "-readonly", "-csv", path, query)
		cmd.Stdout = &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("sqlite3: %v", err)
		}
		shellTook := time.Since(start)
		r, err := e.Export(ctx, "status="+strings.Join(terminal, ","))
		if err != nil {
			b.Fatal(err)
		}
		if r.Rows != out.lines {
			b.Fatalf("export gave %d rows, the shell %d", r.Rows, out.lines)
		}
		exports = append(exports, r.Duration.Seconds())
		shells = append(shells, shellTook.Seconds())
		ratios = append(ratios, r.Duration.Seconds()/shellTook.Seconds())
		heapPeak = max(heapPeak, float64(r.HeapPeak-min(r.HeapPeak, r.HeapBefore))/(1<<20))
		rssPeak = max(rssPeak, float64(r.RSSPeak-min(r.RSSPeak, r.RSSBefore))/(1<<20))
		b.Logf("round %d: %d rows, export %.2f s (heap +%.1f MB, RSS +%.1f MB), sqlite3 shell %.2f s, ratio %.2f",
			len(exports), r.Rows, r.Duration.Seconds(), float64(r.HeapPeak-min(r.HeapPeak, r.HeapBefore))/(1<<20),
			float64(r.RSSPeak-min(r.RSSPeak, r.RSSBefore))/(1<<20), shellTook.Seconds(), ratios[len(ratios)-1])
	}
	b.ReportMetric(median(exports), "export-s")
	b.ReportMetric(median(shells), "shell-s")
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(heapPeak, "heap-growth-MB")
	b.ReportMetric(rssPeak, "rss-growth-MB")
}

// BenchmarkExportStore is the store's export read alone (no HTTP, no
// CSV): how much of the export is the query.
func BenchmarkExportStore(b *testing.B) {
	ctx := context.Background()
	db := openLoaded(b, ctx)
	f := drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StateExpired, drawbridge.StateRevoked, drawbridge.StateDenied,
		drawbridge.StateCancelled, drawbridge.StateFailed}}
	for b.Loop() {
		n := 0
		if err := db.ExportRequests(ctx, f, func(*drawbridge.Request) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n), "rows")
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestLoadBenchStore fills the store the benchmarks measure (make
// bench-store writes -auditbench.store once; without the flag a temporary
// one) and checks it holds the data set.
func TestLoadBenchStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	db := openLoaded(t, ctx)
	newest, err := db.ListRequests(ctx, drawbridge.RequestFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	g := NewGenerator(*benchN, benchNow, benchSeed)
	var last *drawbridge.Request
	for r := g.Next(); r != nil; r = g.Next() {
		last = r
	}
	if len(newest) != 1 || newest[0].ID != last.ID {
		t.Fatalf("the store's newest request is %v, want %s: -auditbench.store holds another data set", newest, last.ID)
	}
}
