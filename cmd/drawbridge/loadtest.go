package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
	"github.com/spf13/cobra"
)

// loadtestCmd measures submit → ACTIVE over HTTP for auto-allowed requests.
// With --addr it is only the load generator, against a server running
// elsewhere. Without it, it runs the whole measurement of
// docs/benchmarks.md, every party in a process of its own: the IAM
// Identity Center emulator (`sandbox --delay 0`), the server (`loadtest
// server`: serve's runServer on SQLite), and the generator (`loadtest
// --addr`), plus the two ceilings measured in the same run — one fsync'd
// write transaction per request through the same SQLite driver with group
// commit, and a plain net/http handler — and the same server with an
// instant in-process provider. `make bench-http` runs it.
func loadtestCmd(g *globals) *cobra.Command {
	var o loadOptions
	var profile string
	c := &cobra.Command{
		Use:    "loadtest [--addr URL --token T] [--requests N] [--concurrency C] [--rounds R] [--profile DIR]",
		Short:  "Measure submit→ACTIVE throughput and latency over HTTP, beside its ceilings, each party in its own process",
		Hidden: true,
		Args:   exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if o.n < 1 || o.workers < 1 || o.users < 1 || o.rounds < 1 {
				return usageError("--requests, --concurrency, --users and --rounds must be positive")
			}
			if o.addr != "" {
				return runLoadClient(c.Context(), g, o)
			}
			return runLoadBench(c.Context(), g, o, profile)
		},
	}
	c.Flags().StringVar(&o.addr, "addr", "", "only generate load, against the server at this URL (e.g. http://127.0.0.1:8080)")
	c.Flags().StringVar(&o.token, "token", devAdminToken, "API token the generator submits with (--addr)")
	c.Flags().IntVar(&o.n, "requests", 2000, "requests to submit per round")
	c.Flags().IntVar(&o.workers, "concurrency", 8, "concurrent clients")
	c.Flags().IntVar(&o.users, "users", loadUsers, "engineers the requests are spread over (eng000@example.com, …)")
	c.Flags().IntVar(&o.rounds, "rounds", 3, "rounds; every figure is reported as min/median/max")
	c.Flags().BoolVar(&o.jsonOut, "json", false, "with --addr: print each round as one JSON object")
	c.Flags().StringVar(&profile, "profile", "", "write the server's CPU, allocation, mutex and block profiles of each round to DIR")
	c.AddCommand(loadServerCmd(g), loadPlainCmd(g))
	return c
}

// devAdminToken is the fixed admin token dev and the load test's server
// insert (see devTokens): the load test runs on loopback only.
const devAdminToken = "dbt_dev_admin"

// loadUsers is how many engineers the load test spreads requests over, so
// that most grants have an assignment of their own as in real use.
const loadUsers = 500

type loadOptions struct {
	addr, token               string
	n, workers, users, rounds int
	jsonOut                   bool
}

// loadResult is one round of the generator.
type loadResult struct {
	Requests  int             `json:"requests"`
	Seconds   float64         `json:"seconds"`
	Failed    int             `json:"failed"`
	FirstErr  string          `json:"first_error,omitempty"`
	Latencies []time.Duration `json:"-"`
	P50       time.Duration   `json:"p50_ns"`
	P90       time.Duration   `json:"p90_ns"`
	P99       time.Duration   `json:"p99_ns"`
	Max       time.Duration   `json:"max_ns"`
}

func (r loadResult) rate() float64 { return float64(r.Requests) / r.Seconds }

// summarise sorts the latencies and fills in the quantiles.
func (r *loadResult) summarise() {
	slices.Sort(r.Latencies)
	q := func(p float64) time.Duration {
		return r.Latencies[min(len(r.Latencies)-1, int(p*float64(len(r.Latencies))))]
	}
	r.P50, r.P90, r.P99, r.Max = q(0.50), q(0.90), q(0.99), r.Latencies[len(r.Latencies)-1]
}

// generate submits n auto-allowed requests from workers concurrent
// clients and times each until the API answers (ACTIVE, for the server).
// round shifts the accounts so that a round against a server that kept
// the previous round's grants asks for assignments of its own.
func generate(ctx context.Context, o loadOptions, round int) loadResult {
	accounts := []string{"123456789012", "111122223333"}
	t := nethttp.DefaultTransport.(*nethttp.Transport).Clone()
	t.MaxIdleConnsPerHost = o.workers // the default 2 would reconnect most calls
	client := dbhttp.NewClient(o.addr, o.token)
	client.HTTP = &nethttp.Client{Transport: t, Timeout: 2 * time.Minute}
	defer t.CloseIdleConnections()
	res := loadResult{Requests: o.n, Latencies: make([]time.Duration, o.n)}
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range o.workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= o.n {
					return
				}
				t0 := time.Now()
				r, err := client.Submit(ctx, dbhttp.CreateRequest{Requester: fmt.Sprintf("eng%03d@example.com", i%o.users),
					AccountID:     accounts[(i/o.users+round)%2],
					PermissionSet: "ReadOnlyAccess", Duration: "1h", Reason: "load test"})
				res.Latencies[i] = time.Since(t0)
				if err == nil && r.State != drawbridge.StateActive {
					err = fmt.Errorf("request %s is %s: %s", r.ID, r.State, r.LastError)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Failed = int(failed.Load())
	if e, ok := firstErr.Load().(string); ok {
		res.FirstErr = e
	}
	res.summarise()
	return res
}

// runLoadClient is the generator alone (--addr).
func runLoadClient(ctx context.Context, g *globals, o loadOptions) error {
	var failed int
	for round := range o.rounds {
		r := generate(ctx, o, round)
		failed += r.Failed
		if o.jsonOut {
			if err := json.NewEncoder(g.stdout).Encode(r); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(g.stdout, "round %d: %d requests, %d clients: %.0f requests/s, latency p50 %s p90 %s p99 %s max %s\n",
				round+1, r.Requests, o.workers, r.rate(), r.P50.Round(10*time.Microsecond), r.P90.Round(10*time.Microsecond),
				r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond))
		}
		if r.Failed > 0 {
			return fmt.Errorf("%d of %d requests did not end ACTIVE; first: %s", r.Failed, r.Requests, r.FirstErr)
		}
	}
	return nil
}

// loadServerCmd is the server of the load test: serve's runServer on the
// given config, with the dev tokens inserted (loopback only) and, with
// --instant, every provider replaced by one that answers at once in this
// process. It prints "listening on URL" once ready.
func loadServerCmd(g *globals) *cobra.Command {
	var instant bool
	var profile string
	c := &cobra.Command{
		Use:    "server --config FILE [--instant] [--profile DIR]",
		Short:  "The load test's server (serve with the dev tokens; --instant: a provider that answers at once)",
		Hidden: true,
		Args:   exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if !isLoopback(cfg.Server.Listen) {
				return usageError("server.listen %s: the load test's server has public tokens and listens on loopback only", cfg.Server.Listen)
			}
			hooks := serverHooks{
				setup: func(a *app) error { return insertDevTokens(c.Context(), a) },
				ready: func(_ *app, addr net.Addr) { fmt.Fprintf(g.stdout, "listening on http://%s\n", addr) },
			}
			if instant {
				hooks.provider = func(p drawbridge.Provider) drawbridge.Provider {
					return &instantProvider{Provider: p, held: map[drawbridge.Assignment]bool{}}
				}
			}
			if profile != "" {
				stop, err := startProfiles(profile)
				if err != nil {
					return err
				}
				defer stop()
			}
			quiet := slog.New(slog.NewJSONHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			return runServer(c.Context(), cfg, quiet, hooks)
		},
	}
	c.Flags().BoolVar(&instant, "instant", false, "replace every provider by one that answers at once, in memory")
	c.Flags().StringVar(&profile, "profile", "", "write CPU, allocation, mutex and block profiles to DIR when stopped")
	return c
}

// startProfiles starts a CPU profile and mutex and block sampling, and
// returns what writes them all to dir.
func startProfiles(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	runtime.SetMutexProfileFraction(10)
	runtime.SetBlockProfileRate(int((10 * time.Microsecond).Nanoseconds()))
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		for _, name := range []string{"allocs", "mutex", "block"} {
			if out, err := os.Create(filepath.Join(dir, name+".pprof")); err == nil {
				pprof.Lookup(name).WriteTo(out, 0) //nolint:errcheck // a profile is best effort
				out.Close()
			}
		}
	}, nil
}

// instantProvider answers Grant, Revoke and Exists at once from memory:
// the upper bound of Drawbridge's own code, with no SDK and no emulator.
// Name and PrincipalRef are the configured provider's.
type instantProvider struct {
	drawbridge.Provider
	mu   sync.Mutex
	held map[drawbridge.Assignment]bool
}

func (p *instantProvider) Grant(_ context.Context, spec drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	p.mu.Lock()
	p.held[spec.Assignment] = true
	p.mu.Unlock()
	return drawbridge.GrantResult{GrantRef: spec.RequestID}, nil
}

func (p *instantProvider) Revoke(_ context.Context, spec drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	p.mu.Lock()
	delete(p.held, spec.Assignment)
	p.mu.Unlock()
	return drawbridge.RevokeResult{}, nil
}

func (p *instantProvider) Exists(_ context.Context, a drawbridge.Assignment) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[a], nil
}

// loadPlainCmd is the HTTP ceiling: a plain net/http handler that decodes
// the submit body and answers a small JSON object at once.
func loadPlainCmd(g *globals) *cobra.Command {
	var listen string
	c := &cobra.Command{
		Use:    "plain [--listen 127.0.0.1:0]",
		Short:  "The load test's HTTP ceiling: a net/http handler answering at once",
		Hidden: true,
		Args:   exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if !isLoopback(listen) {
				return usageError("--listen %s: loopback only", listen)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			srv := &nethttp.Server{ReadHeaderTimeout: 10 * time.Second, Handler: nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
				var in dbhttp.CreateRequest
				if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
					nethttp.Error(w, err.Error(), nethttp.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(nethttp.StatusCreated)
				json.NewEncoder(w).Encode(map[string]string{"id": "plain", "state": string(drawbridge.StateActive), "requester": in.Requester}) //nolint:errcheck // the client went away
			})}
			go srv.Serve(ln) //nolint:errcheck // ErrServerClosed
			fmt.Fprintf(g.stdout, "listening on http://%s\n", ln.Addr())
			<-c.Context().Done()
			return srv.Close()
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "loopback address")
	return c
}

// child is one process of the measurement.
type child struct {
	cmd  *exec.Cmd
	url  string // what it printed after "listening on "
	done chan error
}

// startChild runs this binary with args and waits for the line that says
// where it listens (prefix, then the URL).
func startChild(ctx context.Context, stderr io.Writer, prefix string, args ...string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, args...)
	dieWithParent(cmd)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
				select {
				case found <- strings.Fields(rest)[0]:
				default:
				}
			}
		}
		c.done <- cmd.Wait()
	}()
	select {
	case c.url = <-found:
		return c, nil
	case err := <-c.done:
		return nil, fmt.Errorf("%s exited before listening: %v", strings.Join(args, " "), err)
	case <-ctx.Done():
		cmd.Process.Kill() //nolint:errcheck // stopping it is all that is left
		<-c.done
		return nil, ctx.Err()
	}
}

// stop ends the child (SIGTERM, so that a server shuts down and writes its
// profiles) and returns the CPU time it used in all.
func (c *child) stop() (time.Duration, error) {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.cmd.Process.Kill() //nolint:errcheck // SIGTERM is not there on every system
	}
	select {
	case <-c.done:
	case <-time.After(time.Minute):
		c.cmd.Process.Kill() //nolint:errcheck // it did not stop in time
		<-c.done
		return 0, fmt.Errorf("%s did not stop within a minute of SIGTERM", strings.Join(c.cmd.Args, " "))
	}
	st := c.cmd.ProcessState
	return st.UserTime() + st.SystemTime(), nil
}

// benchFigure is one line of the measurement: a figure per round.
type benchFigure struct {
	name   string
	rounds []loadResult
	cpu    map[string][]time.Duration // per process, per round
}

// runLoadBench runs the whole measurement: rounds of the two ceilings, the
// server against the emulator process, and the server with the instant
// provider, each with the generator in a process of its own.
func runLoadBench(ctx context.Context, g *globals, o loadOptions, profileDir string) error {
	dir, err := os.MkdirTemp("", "drawbridge-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sqlCeil := &benchFigure{name: "ceiling: one fsync'd SQLite write transaction per request, group commit"}
	httpCeil := &benchFigure{name: "ceiling: plain net/http handler"}
	emu := &benchFigure{name: "Drawbridge, AWS provider → emulator process", cpu: map[string][]time.Duration{}}
	inst := &benchFigure{name: "Drawbridge, instant in-process provider", cpu: map[string][]time.Duration{}}
	for round := range o.rounds {
		rdir := filepath.Join(dir, fmt.Sprint(round))
		if err := os.MkdirAll(rdir, 0o700); err != nil {
			return err
		}
		r, err := sqlCeiling(ctx, filepath.Join(rdir, "ceiling.db"), o.n, o.workers)
		if err != nil {
			return fmt.Errorf("SQLite ceiling: %w", err)
		}
		sqlCeil.rounds = append(sqlCeil.rounds, r)

		plain, err := startChild(ctx, g.stderr, "listening on ", "loadtest", "plain")
		if err != nil {
			return err
		}
		r, _, err = generateInChild(ctx, g, o, plain.url)
		if _, serr := plain.stop(); err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("HTTP ceiling: %w", err)
		}
		httpCeil.rounds = append(httpCeil.rounds, r)

		for _, f := range []*benchFigure{emu, inst} {
			instant := f == inst
			var prof string
			if profileDir != "" {
				prof = filepath.Join(profileDir, fmt.Sprintf("round%d-%s", round+1, map[bool]string{true: "instant", false: "emulator"}[instant]))
			}
			r, cpu, err := runServerRound(ctx, g, o, filepath.Join(rdir, map[bool]string{true: "instant", false: "emulator"}[instant]), instant, prof)
			if err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			f.rounds = append(f.rounds, r)
			for k, v := range cpu {
				f.cpu[k] = append(f.cpu[k], v)
			}
		}
		fmt.Fprintf(g.stderr, "round %d: SQLite ceiling %.0f/s, HTTP ceiling %.0f/s, Drawbridge (emulator) %.0f/s p99 %s, (instant) %.0f/s p99 %s\n",
			round+1, sqlCeil.rounds[round].rate(), httpCeil.rounds[round].rate(), emu.rounds[round].rate(), emu.rounds[round].P99.Round(100*time.Microsecond),
			inst.rounds[round].rate(), inst.rounds[round].P99.Round(100*time.Microsecond))
	}
	printLoadBench(g.stdout, o, sqlCeil, httpCeil, emu, inst)
	return nil
}

// generateInChild runs `loadtest --addr url --json` for one round and
// returns its result and CPU time.
func generateInChild(ctx context.Context, g *globals, o loadOptions, url string) (loadResult, time.Duration, error) {
	self, err := os.Executable()
	if err != nil {
		return loadResult{}, 0, err
	}
	cmd := exec.CommandContext(ctx, self, "loadtest", "--addr", url, "--json", "--rounds", "1",
		"--requests", fmt.Sprint(o.n), "--concurrency", fmt.Sprint(o.workers), "--users", fmt.Sprint(o.users))
	dieWithParent(cmd)
	cmd.Stderr = g.stderr
	out, err := cmd.Output()
	if err != nil {
		return loadResult{}, 0, fmt.Errorf("generator: %w\n%s", err, out)
	}
	var r loadResult
	if err := json.Unmarshal(out, &r); err != nil {
		return loadResult{}, 0, fmt.Errorf("generator output %q: %w", out, err)
	}
	st := cmd.ProcessState
	return r, st.UserTime() + st.SystemTime(), nil
}

// runServerRound starts the emulator and the server (instant or not) as
// processes, runs the generator against the server, stops both and
// returns the result and each process's CPU time.
func runServerRound(ctx context.Context, g *globals, o loadOptions, dir string, instant bool, profile string) (loadResult, map[string]time.Duration, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return loadResult{}, nil, err
	}
	emu, err := startChild(ctx, g.stderr, "sandbox: IAM Identity Center emulator listening on ",
		"sandbox", "--listen", "127.0.0.1:0", "--hooks-listen", "", "--delay", "0s")
	if err != nil {
		return loadResult{}, nil, err
	}
	emuStopped := false
	defer func() {
		if !emuStopped {
			emu.stop() //nolint:errcheck // an earlier error is the one to report
		}
	}()
	cfgPath, err := loadConfigFile(dir, emu.url, o.users)
	if err != nil {
		return loadResult{}, nil, err
	}
	args := []string{"--config", cfgPath, "loadtest", "server"}
	if instant {
		args = append(args, "--instant")
	}
	if profile != "" {
		args = append(args, "--profile", profile)
	}
	srv, err := startChild(ctx, g.stderr, "listening on ", args...)
	if err != nil {
		return loadResult{}, nil, err
	}
	r, genCPU, err := generateInChild(ctx, g, o, srv.url)
	srvCPU, serr := srv.stop()
	emuCPU, eerr := emu.stop()
	emuStopped = true
	if err = errors.Join(err, serr, eerr); err != nil {
		return loadResult{}, nil, err
	}
	if r.Failed > 0 {
		return r, nil, fmt.Errorf("%d of %d requests did not end ACTIVE; first: %s", r.Failed, r.Requests, r.FirstErr)
	}
	return r, map[string]time.Duration{"server": srvCPU, "emulator": emuCPU, "generator": genCPU}, nil
}

// loadConfigFile writes the example files to dir pointed at the emulator,
// with users engineers, the store next to them (the example's), a free loopback port and the AWS
// quota lifted (the target is for an instant, uncapped provider; AWS's
// real 20 calls/s is measured by the revocation-lag harness).
func loadConfigFile(dir, endpoint string, users int) (string, error) {
	cfgPath, err := writeExampleFiles(dir, endpoint)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i := range users {
		fmt.Fprintf(&b, "    - {email: eng%03d@example.com, aws_user_id: 9067e8a1b2-a1b2c3d4-0000-4000-8000-%012d, groups: [engineers]}\n", i, i)
	}
	s := string(data)
	for _, r := range [][2]string{
		{"directory:\n  users:\n", "directory:\n  users:\n" + b.String()},
		{"  listen: 127.0.0.1:8080\n", "  listen: 127.0.0.1:0\n"},
		{"    poll_interval: 100ms\n", "    poll_interval: 100ms\n    max_tps: -1\n    max_in_flight: -1\n"},
	} {
		if !strings.Contains(s, r[0]) {
			return "", fmt.Errorf("the example config no longer has %q for the load test to change", r[0])
		}
		s = strings.Replace(s, r[0], r[1], 1)
	}
	return cfgPath, os.WriteFile(cfgPath, []byte(s), 0o600)
}

// printLoadBench prints every figure as min/median/max over the rounds and
// the ratios to the ceilings measured in the same rounds.
func printLoadBench(w io.Writer, o loadOptions, sqlCeil, httpCeil, emu, inst *benchFigure) {
	fmt.Fprintf(w, "submit→ACTIVE over HTTP, SQLite (synchronous=FULL), %d requests × %d rounds, %d clients, %d CPUs\n",
		o.n, o.rounds, o.workers, runtime.NumCPU())
	mmm := func(xs []float64, format string) string {
		s := slices.Clone(xs)
		slices.Sort(s)
		return fmt.Sprintf(format+" / "+format+" / "+format, s[0], s[len(s)/2], s[len(s)-1])
	}
	rates := func(f *benchFigure) []float64 {
		var out []float64
		for _, r := range f.rounds {
			out = append(out, r.rate())
		}
		return out
	}
	p99s := func(f *benchFigure) []float64 {
		var out []float64
		for _, r := range f.rounds {
			out = append(out, float64(r.P99)/float64(time.Millisecond))
		}
		return out
	}
	ratio := func(a, b *benchFigure) []float64 {
		var out []float64
		for i := range a.rounds {
			out = append(out, a.rounds[i].rate()/b.rounds[i].rate())
		}
		return out
	}
	fmt.Fprintf(w, "%-72s %-26s %s\n", "figure (min / median / max)", "requests/s", "p99 ms")
	for _, f := range []*benchFigure{emu, inst, sqlCeil, httpCeil} {
		fmt.Fprintf(w, "%-72s %-26s %s\n", f.name, mmm(rates(f), "%.0f"), mmm(p99s(f), "%.1f"))
	}
	for _, f := range []*benchFigure{emu, inst} {
		fmt.Fprintf(w, "%s ÷ SQLite ceiling: %s; ÷ HTTP ceiling: %s\n", f.name, mmm(ratio(f, sqlCeil), "%.2f"), mmm(ratio(f, httpCeil), "%.2f"))
		var parts []string
		for _, k := range []string{"server", "emulator", "generator"} {
			var per []float64
			for i, c := range f.cpu[k] {
				per = append(per, float64(c)/float64(time.Microsecond)/float64(f.rounds[i].Requests))
			}
			if len(per) > 0 {
				parts = append(parts, fmt.Sprintf("%s %s", k, mmm(per, "%.0f")))
			}
		}
		fmt.Fprintf(w, "  CPU µs per request (process total, start-up included): %s\n", strings.Join(parts, "; "))
	}
}

// sqlCeiling is the store's ceiling: workers goroutines each run n/workers
// write transactions of one row (an id and 600 bytes, about a request row
// and its audit event) through modernc.org/sqlite with the store's
// settings (WAL, synchronous=FULL), group-committed by one writer as the
// store does: whatever is waiting when the writer gets to it shares one
// commit, and each caller returns once its commit is on disk.
func sqlCeiling(ctx context.Context, path string, n, workers int) (loadResult, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return loadResult{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id TEXT PRIMARY KEY, payload BLOB NOT NULL)`); err != nil {
		return loadResult{}, err
	}
	type op struct {
		id   string
		done chan error
	}
	ops := make(chan op)
	payload := make([]byte, 600)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for first := range ops {
			batch := []op{first}
		gather:
			for len(batch) < 128 {
				select {
				case o, ok := <-ops:
					if !ok {
						break gather
					}
					batch = append(batch, o)
				default:
					break gather
				}
			}
			err := func() error {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				for _, o := range batch {
					if _, err := tx.ExecContext(ctx, `INSERT INTO t (id, payload) VALUES (?, ?)`, o.id, payload); err != nil {
						tx.Rollback() //nolint:errcheck // the insert's error is the one to report
						return err
					}
				}
				return tx.Commit()
			}()
			for _, o := range batch {
				o.done <- err
			}
		}
	}()
	res := loadResult{Requests: n, Latencies: make([]time.Duration, n)}
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				o := op{id: fmt.Sprint(i), done: make(chan error, 1)}
				ops <- o
				if err := <-o.done; err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				res.Latencies[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	close(ops)
	<-writerDone
	if err, ok := firstErr.Load().(error); ok {
		return loadResult{}, err
	}
	res.summarise()
	return res, nil
}
