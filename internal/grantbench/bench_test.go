package grantbench_test

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/catalog"
	"github.com/drawbridge-jit/drawbridge/directory"
	"github.com/drawbridge-jit/drawbridge/expiry"
	"github.com/drawbridge-jit/drawbridge/internal/auditbench"
	"github.com/drawbridge-jit/drawbridge/internal/grantbench"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// CI runs the benchmarks once at small sizes (`make bench-ci`); `make
// bench-grants` passes -grantbench.sizes 0,100000,1000000.
var sizesFlag = flag.String("grantbench.sizes", "0,2000", "numbers of ACTIVE grants to measure at (comma-separated)")

func sizes(tb testing.TB) []int {
	var out []int
	for _, s := range strings.Split(*sizesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			tb.Fatalf("-grantbench.sizes: %q is not a number of grants (want e.g. 0,100000,1000000)", s)
		}
		out = append(out, n)
	}
	return out
}

// now is the time every store of one test binary is loaded at.
var now = time.Now()

var (
	loadMu sync.Mutex
	loaded = map[int]string{}
	tmp    string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// store returns the path of a store holding n ACTIVE grants, loaded once
// per test binary and shared by every benchmark and test that asks.
func store(tb testing.TB, n int) string {
	loadMu.Lock()
	defer loadMu.Unlock()
	if p, ok := loaded[n]; ok {
		return p
	}
	if tmp == "" {
		var err error
		if tmp, err = os.MkdirTemp("", "grantbench-"); err != nil {
			tb.Fatal(err)
		}
	}
	p := filepath.Join(tmp, fmt.Sprintf("active-%d", n), "drawbridge.db")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		tb.Fatal(err)
	}
	st, err := grantbench.Load(context.Background(), p, n, now)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("loaded %d ACTIVE grants in %s", n, st.Duration.Round(time.Millisecond))
	loaded[n] = p
	return p
}

func open(b *testing.B, n int) *sqlite.DB {
	db, err := sqlite.Open(context.Background(), store(b, n))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// listingProvider is a provider whose only capability reconciliation uses
// is listing; the benchmark never grants or revokes.
type listingProvider struct {
	drawbridge.Provider
	*grantbench.Lister
}

func accounts() []catalog.Account {
	var out []catalog.Account
	for i := range grantbench.Accounts {
		out = append(out, catalog.Account{ID: auditbench.Account(i)})
	}
	return out
}

func permissionSets() []string {
	var out []string
	for i := range grantbench.PermissionSets {
		out = append(out, auditbench.PermissionSet(i))
	}
	return out
}

// BenchmarkEngineWake is one wake of the expiry engine with nothing due:
// the next due time, then a pass that finds nothing (what it does every
// max_sleep and after every kick), at each number of ACTIVE grants.
func BenchmarkEngineWake(b *testing.B) {
	for _, n := range sizes(b) {
		b.Run(fmt.Sprintf("active=%d", n), func(b *testing.B) {
			db := open(b, n)
			cat := catalog.New(map[string]drawbridge.ProviderCatalog{"aws": catalog.NewAccounts(accounts(), permissionSets())}, "aws")
			eng := expiry.New(broker.New(db, directory.NewStatic(nil), cat, nil, nil, nil, nil), time.Second, 1)
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				if _, _, err := db.NextDue(ctx); err != nil {
					b.Fatal(err)
				}
				if steps, err := eng.RunOnce(ctx, false); err != nil || len(steps) != 0 {
					b.Fatalf("wake: %d steps, %v; want nothing due", len(steps), err)
				}
			}
		})
	}
}

// BenchmarkCountRequests is the store's side of one /metrics scrape
// (store=…), beside the query it replaced in the same run (recount=…): a
// GROUP BY over every request, on the same file.
func BenchmarkCountRequests(b *testing.B) {
	for _, n := range sizes(b) {
		b.Run(fmt.Sprintf("store/active=%d", n), func(b *testing.B) {
			db := open(b, n)
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				cs, err := db.CountRequests(ctx)
				if err != nil {
					b.Fatal(err)
				}
				total := 0
				for _, c := range cs {
					total += c.N
				}
				if total != n {
					b.Fatalf("counted %d requests, loaded %d", total, n)
				}
			}
		})
		b.Run(fmt.Sprintf("recount/active=%d", n), func(b *testing.B) {
			open(b, n)
			raw, err := sql.Open("sqlite", "file:"+store(b, n)+"?mode=ro")
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close()
			b.ResetTimer()
			for range b.N {
				var total int
				if err := raw.QueryRow(`SELECT COALESCE(SUM(n), 0) FROM (SELECT state, channel, COUNT(*) AS n,
					SUM(CASE WHEN revoke_attempts > 0 THEN 1 ELSE 0 END) FROM requests GROUP BY state, channel)`).Scan(&total); err != nil {
					b.Fatal(err)
				}
				if total != n {
					b.Fatalf("recounted %d requests, loaded %d", total, n)
				}
			}
		})
	}
}

// BenchmarkReconcile is one reconciliation pass over 300 accounts × 25
// permission sets against a provider that holds exactly the loaded grants'
// assignments (no drift). live-MB, from one more pass outside the timer, is
// the largest live heap seen at the start of a resource's listing (after a
// full collection, which is too slow to run in the timed passes): what the
// pass holds from one resource to the next, above the heap before it.
func BenchmarkReconcile(b *testing.B) {
	for _, n := range sizes(b) {
		b.Run(fmt.Sprintf("active=%d", n), func(b *testing.B) {
			db := open(b, n)
			lister := &grantbench.Lister{N: n, Now: now}
			cat := catalog.New(map[string]drawbridge.ProviderCatalog{"aws": catalog.NewAccounts(accounts(), permissionSets())}, "aws")
			br := broker.New(db, directory.NewStatic(nil), cat, map[string]drawbridge.Provider{"aws": listingProvider{Lister: lister}}, nil, nil, nil)
			ctx := context.Background()
			pass := func() {
				rep, err := br.Reconcile(ctx, false, broker.System)
				if err != nil {
					b.Fatal(err)
				}
				if rep.Grants != n || len(rep.Findings) != 0 {
					b.Fatalf("checked %d grants with %d findings; want %d and none", rep.Grants, len(rep.Findings), n)
				}
			}
			b.ResetTimer()
			for range b.N {
				pass()
			}
			b.StopTimer()
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base, peak := ms.HeapAlloc, ms.HeapAlloc
			lister.OnList = func() {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
			pass()
			b.ReportMetric(float64(peak-base)/(1<<20), "live-MB")
		})
	}
}
