package dashboard_test

import (
	"context"
	"flag"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/dashboard"
	"github.com/drawbridge-jit/drawbridge/internal/auditbench"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// CI runs this once over a small store (-benchtime=1x) so it cannot rot;
// docs/benchmarks.md has the figures over -dashbench.n 1000000.
var (
	benchN     = flag.Int("dashbench.n", 5000, "requests loaded into the store for BenchmarkPages")
	benchStore = flag.String("dashbench.store", "", "a store already filled by auditbench.Load with -dashbench.n requests (2026-03-01, seed 1): measured as it is instead of loading a new one")
)

// benchAuth signs in the caller the X-Bench-As header names, so that the
// benchmark measures the pages, not a sign-in.
type benchAuth map[string]drawbridge.Caller

func (a benchAuth) Caller(r *nethttp.Request) (drawbridge.Caller, error) {
	if c, ok := a[r.Header.Get("X-Bench-As")]; ok {
		return c, nil
	}
	return drawbridge.Caller{}, drawbridge.Errorf(drawbridge.EUNAUTHORIZED, "not signed in")
}
func (benchAuth) LoginURL(string) string { return "/login" }
func (a benchAuth) RequireFreshLogin(_ nethttp.ResponseWriter, r *nethttp.Request) (drawbridge.Caller, bool) {
	c, err := a.Caller(r)
	return c, err == nil
}

// BenchmarkPages serves each dashboard page over a store of
// -dashbench.n requests (the audit benchmark's data: a year of history)
// and reports its p95 in milliseconds.
func BenchmarkPages(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	path := *benchStore
	if path == "" {
		path = filepath.Join(b.TempDir(), "dash.db")
		if _, err := auditbench.Load(ctx, path, *benchN, now, 1); err != nil {
			b.Fatal(err)
		}
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	clk := clock.NewFake(now)
	br := broker.New(db, nil, nil, nil, nil, clk, nil)
	var scoped []string
	for i := 0; i < 30; i++ {
		scoped = append(scoped, auditbench.Account(i*10))
	}
	auth := benchAuth{
		"auditor":   {Principal: "auditor@example.com", Roles: []drawbridge.Role{drawbridge.RoleAuditor}},
		"scoped":    {Principal: "scoped@example.com", Roles: []drawbridge.Role{drawbridge.RoleAuditor}, Scope: drawbridge.Scope{Resources: scoped}},
		"approver":  {Principal: auditbench.Requester(1), Roles: []drawbridge.Role{drawbridge.RoleApprover}},
		"requester": {Principal: auditbench.Requester(0), Roles: []drawbridge.Role{drawbridge.RoleRequester}},
	}
	srv := httptest.NewServer((&dashboard.Server{Broker: br, Auth: auth, Clock: clk}).Handler())
	defer srv.Close()
	newest, err := db.ListRequests(ctx, drawbridge.RequestFilter{Limit: 1})
	if err != nil || len(newest) == 0 {
		b.Fatal("no requests loaded", err)
	}
	client := &nethttp.Client{Timeout: time.Minute}
	for _, c := range []struct{ name, as, path string }{
		{"overview/auditor", "auditor", "/dashboard"},
		{"overview/scoped", "scoped", "/dashboard"},
		{"requests/auditor", "auditor", "/dashboard/requests"},
		{"requests/status=ACTIVE", "auditor", "/dashboard/requests?status=ACTIVE"},
		{"requests/requester", "auditor", "/dashboard/requests?requester=" + auditbench.Requester(0)},
		{"requests/scoped", "scoped", "/dashboard/requests"},
		{"requests/range", "auditor", "/dashboard/requests?from=2025-06-01&to=2025-06-30"},
		{"detail", "auditor", "/dashboard/requests/" + newest[0].ID},
		{"mine", "requester", "/dashboard/mine"},
		{"inbox", "approver", "/dashboard/inbox"},
	} {
		b.Run(c.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				req, _ := nethttp.NewRequestWithContext(ctx, "GET", srv.URL+c.path, nil)
				req.Header.Set("X-Bench-As", c.as)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took = append(took, time.Since(start))
				if resp.StatusCode != 200 {
					b.Fatalf("GET %s: %d", c.path, resp.StatusCode)
				}
			}
			slices.Sort(took)
			p95 := took[min(len(took)-1, (len(took)*95+99)/100-1)]
			b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
		})
	}
}
