package auditbench

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// Env is the real audit API on a loaded store: the HTTP handler served by
// an httptest server on 127.0.0.1, with two auditor tokens stored in the
// store and checked on every call like any other.
type Env struct {
	DB  *sqlite.DB
	URL string
	// Auditor is scoped to "*" (as `drawbridge dev`'s auditor); Scoped to
	// ScopedAccounts × ScopedSets.
	Auditor, Scoped string
	ScopedAccounts  []string
	ScopedSets      []string
	srv             *httptest.Server
	client          *nethttp.Client
}

// NewEnv opens the store at path and serves the API.
func NewEnv(ctx context.Context, path string) (*Env, error) {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	e := &Env{DB: db}
	for i := 0; i < 30; i++ {
		e.ScopedAccounts = append(e.ScopedAccounts, Account(i*10))
	}
	e.ScopedSets = []string{PermissionSet(0), PermissionSet(3), PermissionSet(7), PermissionSet(12), PermissionSet(20)}
	mk := func(accounts, sets []string) (string, error) {
		secret := drawbridge.NewTokenSecret()
		t := &drawbridge.Token{ID: drawbridge.NewTokenID(), Principal: "auditor@example.com", Roles: []drawbridge.Role{drawbridge.RoleAuditor},
			Scope: drawbridge.Scope{Resources: accounts, Roles: sets}, Hash: drawbridge.HashTokenSecret(secret), CreatedAt: time.Now().UTC()}
		if err := t.Validate(true); err != nil {
			return "", err
		}
		return secret, db.CreateToken(ctx, t)
	}
	if e.Auditor, err = mk([]string{drawbridge.Wildcard}, []string{drawbridge.Wildcard}); err != nil {
		db.Close()
		return nil, err
	}
	if e.Scoped, err = mk(e.ScopedAccounts, e.ScopedSets); err != nil {
		db.Close()
		return nil, err
	}
	s := &dbhttp.Server{Store: db, Tokens: db, AllowWildcardScopes: true}
	e.srv = httptest.NewServer(s.Handler()) // listens on 127.0.0.1
	e.URL = e.srv.URL
	e.client = &nethttp.Client{Timeout: 5 * time.Minute, Transport: &nethttp.Transport{MaxIdleConnsPerHost: 4}}
	return e, nil
}

// Close stops the server and closes the store.
func (e *Env) Close() error {
	e.srv.Close()
	return e.DB.Close()
}

func (e *Env) get(ctx context.Context, token, pathQuery string) (*nethttp.Response, error) {
	req, err := nethttp.NewRequestWithContext(ctx, "GET", e.URL+pathQuery, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %s", pathQuery, resp.Status, b)
	}
	return resp, nil
}

// Page is one answer of GET /api/requests.
type Page struct {
	Requests   []*drawbridge.Request `json:"requests"`
	NextCursor string                `json:"next_cursor"`
}

// List calls GET /api/requests?query and returns the page and the time
// from sending the request to having read and decoded the whole answer.
func (e *Env) List(ctx context.Context, token, query string) (Page, time.Duration, error) {
	var p Page
	start := time.Now()
	resp, err := e.get(ctx, token, "/api/requests?"+query)
	if err != nil {
		return p, 0, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&p)
	return p, time.Since(start), err
}

// ListCase is one kind of audit query, run for several values.
type ListCase struct {
	Name    string
	Token   string
	Queries []string // one per value; each is followed Pages deep
}

// Latencies summarises one case: first pages and the pages after them.
type Latencies struct {
	Case                 string
	Calls, Rows          int
	First, Deep          Dist
	FirstCalls, DeepCall int
}

// Dist is p50/p95/max.
type Dist struct{ P50, P95, Max time.Duration }

func dist(xs []time.Duration) Dist {
	if len(xs) == 0 {
		return Dist{}
	}
	slices.Sort(xs)
	q := func(p float64) time.Duration { return xs[min(len(xs)-1, int(p*float64(len(xs))+0.999999)-1)] }
	return Dist{P50: q(0.5), P95: q(0.95), Max: xs[len(xs)-1]}
}

// ListCases are the primary filters measured: status (a rare state, the
// common one, a list of five), account, permission set and requester (over
// many values each, frequent and rare), and the scoped auditor.
func (e *Env) ListCases() []ListCase {
	var accounts, sets, people []string
	for _, i := range []int{0, 1, 2, 5, 10, 20, 40, 80, 120, 160, 200, 240, 280, 299} {
		accounts = append(accounts, "account_id="+Account(i))
	}
	for i := 0; i < PermissionSets; i++ {
		sets = append(sets, "permission_set_name="+PermissionSet(i))
	}
	for _, i := range []int{0, 1, 3, 10, 30, 100, 300, 600, 1000, 1500, 1999} {
		people = append(people, "requester="+Requester(i))
	}
	return []ListCase{
		{"status=EXPIRED (83 % of rows)", e.Auditor, []string{"status=EXPIRED"}},
		{"status=ACTIVE (live grants)", e.Auditor, []string{"status=ACTIVE"}},
		{"status=EXPIRED,REVOKED,DENIED,CANCELLED,FAILED", e.Auditor, []string{"status=EXPIRED,REVOKED,DENIED,CANCELLED,FAILED"}},
		{"account_id (14 accounts, 15 % to 0.1 % of rows)", e.Auditor, accounts},
		{"permission_set_name (all 25)", e.Auditor, sets},
		{"requester (11 people)", e.Auditor, people},
		{"status=EXPIRED, scoped token (30 accounts × 5 sets)", e.Scoped, []string{"status=EXPIRED"}},
		{"account_id, scoped token", e.Scoped, []string{"account_id=" + e.ScopedAccounts[0], "account_id=" + e.ScopedAccounts[5], "account_id=" + e.ScopedAccounts[29]}},
	}
}

// RunList runs each query of c, following next_cursor up to pages deep,
// reps times, and returns the latencies of first pages and deeper pages.
// It stops early (and says so in Calls) after budget.
func (e *Env) RunList(ctx context.Context, c ListCase, pages, reps int, budget time.Duration) (Latencies, error) {
	l := Latencies{Case: c.Name}
	var first, deep []time.Duration
	deadline := time.Now().Add(budget)
	for rep := 0; rep < reps && time.Now().Before(deadline); rep++ {
		for _, q := range c.Queries {
			cursor := ""
			for page := 0; page < pages && time.Now().Before(deadline); page++ {
				qq := q
				if cursor != "" {
					qq += "&cursor=" + cursor
				}
				p, d, err := e.List(ctx, c.Token, qq)
				if err != nil {
					return l, err
				}
				l.Calls++
				l.Rows += len(p.Requests)
				if page == 0 {
					first = append(first, d)
				} else {
					deep = append(deep, d)
				}
				if p.NextCursor == "" {
					break
				}
				cursor = p.NextCursor
			}
		}
	}
	l.FirstCalls, l.DeepCall = len(first), len(deep)
	l.First, l.Deep = dist(first), dist(deep)
	return l, nil
}

// ExportResult is one GET /api/exports.csv.
type ExportResult struct {
	Rows     int // data rows, header excluded
	Bytes    int64
	Duration time.Duration
	// Memory of this process (server and client) before the export and at
	// its peak: Go heap in use (runtime.MemStats.HeapAlloc, sampled every
	// 20 ms) and resident set (VmHWM after resetting it, Linux).
	HeapBefore, HeapPeak uint64
	RSSBefore, RSSPeak   uint64
}

// Export downloads /api/exports.csv?query as the wildcard auditor,
// counting rows with a CSV reader (which also checks the file parses)
// while sampling memory.
func (e *Env) Export(ctx context.Context, query string) (ExportResult, error) {
	var res ExportResult
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapBefore = ms.HeapAlloc
	resetPeakRSS()
	res.RSSBefore = procStatus("VmRSS")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var peak uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	resp, err := e.get(ctx, e.Auditor, "/api/exports.csv?"+query)
	if err == nil {
		cr := &countingReader{r: resp.Body}
		r := csv.NewReader(bufio.NewReaderSize(cr, 64<<10))
		r.ReuseRecord = true
		var header []string
		if header, err = r.Read(); err == nil && strings.Join(header, ",") != strings.Join(dbhttp.ExportHeader, ",") {
			err = fmt.Errorf("export header %v", header)
		}
		for err == nil {
			if _, err = r.Read(); err == nil {
				res.Rows++
			}
		}
		if err == io.EOF {
			err = nil
		}
		resp.Body.Close()
		res.Bytes = cr.n
	}
	res.Duration = time.Since(start)
	close(stop)
	wg.Wait()
	res.HeapPeak = peak
	res.RSSPeak = procStatus("VmHWM")
	return res, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// resetPeakRSS resets this process's VmHWM to its current RSS (Linux 4.0+).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// procStatus reads a "kB" field of /proc/self/status in bytes, 0 if absent.
func procStatus(field string) uint64 { return ProcStatus("self", field) }

// ProcStatus reads a "kB" field of /proc/<pid>/status in bytes.
func ProcStatus(pid, field string) uint64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n << 10
		}
	}
	return 0
}
