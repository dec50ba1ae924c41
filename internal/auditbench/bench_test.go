package auditbench

import (
	"context"
	"flag"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// CI runs 20,000 requests and checks correctness only (counts, order,
// scope); `make bench-audit` runs -auditbench.n 1000000 and logs the
// figures. No test here asserts a time.
var (
	benchN     = flag.Int("auditbench.n", 5000, "requests loaded into the store")
	benchPages = flag.Int("auditbench.pages", 5, "pages followed through next_cursor per query")
	benchReps  = flag.Int("auditbench.reps", 1, "times each list query is repeated")
)

var benchNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const benchSeed = 1

func TestAuditAPIAtScale(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	n := *benchN
	path := filepath.Join(t.TempDir(), "audit.db")
	st, err := Load(ctx, path, n, benchNow, benchSeed)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d requests in %s (%.0f/s): %v", n, st.Duration.Round(time.Millisecond), float64(n)/st.Duration.Seconds(), st.ByState)
	e, err := NewEnv(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	// A few rows read back through the store as generated.
	g := NewGenerator(n, benchNow, benchSeed)
	for i := 0; i < n; i++ {
		want := g.Next()
		if i%(n/5) != 0 {
			continue
		}
		got, err := e.DB.GetRequest(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != want.State || got.Requester != want.Requester || !got.CreatedAt.Equal(want.CreatedAt) || got.Version != want.Version {
			t.Fatalf("request %s read back as %+v, want %+v", want.ID, got, want)
		}
	}

	// Warm up the connections and the page cache a little, as a running
	// server would be.
	for _, q := range []string{"status=ACTIVE", "requester=" + Requester(0), "account_id=" + Account(0)} {
		if _, _, err := e.List(ctx, e.Auditor, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("list: %d pages of the default limit per query, %d repetition(s)", *benchPages, *benchReps)
	t.Logf("%-55s %6s %8s %8s %8s %8s %8s %8s", "case", "calls", "1st p50", "1st p95", "1st max", "deep p50", "deep p95", "deep max")
	for _, c := range e.ListCases() {
		l, err := e.RunList(ctx, c, *benchPages, *benchReps, 60*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ms := func(d time.Duration) string { return strings.TrimSuffix(d.Round(10*time.Microsecond).String(), "0s") }
		t.Logf("%-55s %6d %8s %8s %8s %8s %8s %8s", c.Name, l.Calls, ms(l.First.P50), ms(l.First.P95), ms(l.First.Max), ms(l.Deep.P50), ms(l.Deep.P95), ms(l.Deep.Max))
	}

	terminal := "EXPIRED,REVOKED,DENIED,CANCELLED,FAILED"
	for _, c := range []struct {
		query string
		want  int
	}{
		{"status=EXPIRED", st.ByState[drawbridge.StateExpired]},
		{"status=" + terminal, st.ByState[drawbridge.StateExpired] + st.ByState[drawbridge.StateRevoked] +
			st.ByState[drawbridge.StateDenied] + st.ByState[drawbridge.StateCancelled] + st.ByState[drawbridge.StateFailed]},
	} {
		r, err := e.Export(ctx, c.query)
		if err != nil {
			t.Fatal(err)
		}
		mb := func(b uint64) float64 { return float64(b) / (1 << 20) }
		t.Logf("export %s: %d rows, %.0f MB in %s (%.0f rows/s); heap %.1f → peak %.1f MB; RSS %.1f → peak %.1f MB",
			c.query, r.Rows, float64(r.Bytes)/(1<<20), r.Duration.Round(time.Millisecond), float64(r.Rows)/r.Duration.Seconds(),
			mb(r.HeapBefore), mb(r.HeapPeak), mb(r.RSSBefore), mb(r.RSSPeak))
		if r.Rows != c.want {
			t.Errorf("export %s: %d rows, want %d", c.query, r.Rows, c.want)
		}
	}

	// Correctness of the pages: each first page is the newest matching
	// requests, in order, within the token's scope.
	type slim struct{ id, state, requester, resource, role string }
	var all []slim
	g = NewGenerator(n, benchNow, benchSeed)
	for r := g.Next(); r != nil; r = g.Next() {
		all = append(all, slim{r.ID, string(r.State), r.Requester, r.Resource, r.Role})
	}
	slices.Reverse(all) // newest first
	for _, c := range e.ListCases() {
		var accounts, sets []string
		if c.Token == e.Scoped {
			accounts, sets = e.ScopedAccounts, e.ScopedSets
		}
		for _, q := range c.Queries {
			v, _ := url.ParseQuery(q)
			var want []string
			for _, r := range all {
				if len(want) == 100 {
					break
				}
				if (v.Get("status") == "" || slices.Contains(strings.Split(v.Get("status"), ","), r.state)) &&
					(v.Get("account_id") == "" || v.Get("account_id") == r.resource) &&
					(v.Get("permission_set_name") == "" || v.Get("permission_set_name") == r.role) &&
					(v.Get("requester") == "" || v.Get("requester") == r.requester) &&
					(accounts == nil || slices.Contains(accounts, r.resource)) && (sets == nil || slices.Contains(sets, r.role)) {
					want = append(want, r.id)
				}
			}
			p, _, err := e.List(ctx, c.Token, q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range p.Requests {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s (%s): first page has %d requests, want %d:\n got %v\nwant %v", c.Name, q, len(got), len(want), got, want)
			}
		}
	}
}
