package main

// The chaos harness (docs/reliability.md): several `drawbridge serve`
// replicas (the built binary) on one PostgreSQL, the IAM Identity Center
// emulator in a process of its own that throttles, fails with 5xx, loses
// answers to creates and deletes it carried out, and answers slowly; a
// load of short grants with approvals and early revokes; replicas killed
// with SIGKILL and restarted at seeded random moments; PostgreSQL
// restarted once. At the end every request must be in a final state, the
// emulator must have seen at most one effective create and one effective
// delete per grant and no delete after Drawbridge recorded the revocation
// confirmed, nothing may be left assigned, and the audit chain must
// verify. The same harness runs on one SQLite replica with kills.
//
// `make test` runs a short load; `make chaos` a long one:
//
//	go test -count=1 -timeout 30m -v -run 'TestChaos' ./cmd/drawbridge -args -chaos.requests 300 -chaos.load 90s

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/internal/pgtest"
)

var (
	chaosRequests = flag.Int("chaos.requests", 40, "requests the chaos harness submits")
	chaosLoad     = flag.Duration("chaos.load", 12*time.Second, "how long the chaos harness spreads its submissions over")
	chaosReplicas = flag.Int("chaos.replicas", 3, "drawbridge serve replicas on PostgreSQL")
	chaosSeed     = flag.Uint64("chaos.seed", 1, "seed of every random choice (requests, kills, faults)")
)

// chaosEmulatorEnv, set to a seed, makes this test binary the emulator
// process (see TestMain).
const chaosEmulatorEnv = "DRAWBRIDGE_CHAOS_EMULATOR"

// The lease the replicas run with: provider calls time out after
// chaosProviderTimeout, and work a dead replica held is taken over after
// chaosLease.
const (
	chaosProviderTimeout = 3 * time.Second
	chaosLease           = 8 * time.Second
)

// chaosEmulatorMain serves the emulator with faults until its standard
// input closes (the harness ended or died), printing its URL first.
func chaosEmulatorMain() int {
	seed, _ := strconv.ParseUint(os.Getenv(chaosEmulatorEnv), 10, 64)
	o := &chaosObserver{rng: rand.New(rand.NewPCG(seed, 0x5eed)), changes: map[string][]chaosChange{},
		calls: map[string][]time.Time{}, faults: map[string]int{}}
	opts := emulator.SandboxOptions()
	opts.Delay = 30 * time.Millisecond
	opts.OnChange = o.change
	emu := emulator.New(opts)
	o.emu = emu
	mux := http.NewServeMux()
	mux.Handle("/", o.faulty(emu))
	mux.HandleFunc("GET /chaos/report", o.report)
	srv := httptest.NewUnstartedServer(mux)
	srv.Start()
	fmt.Println(srv.URL)
	io.Copy(io.Discard, os.Stdin) //nolint:errcheck // EOF or an error both mean: stop
	srv.Close()
	return 0
}

// chaosChange is an assignment appearing or disappearing in the emulator.
type chaosChange struct {
	Present bool      `json:"present"`
	At      time.Time `json:"at"`
}

// chaosReport is what the emulator process observed.
type chaosReport struct {
	// Changes are effective creates (present) and deletes per account.
	Changes map[string][]chaosChange `json:"changes"`
	// Calls are the arrival times of create and delete calls per
	// "op account" that reached the emulator.
	Calls map[string][]time.Time `json:"calls"`
	// Faults counts the injected faults by kind.
	Faults map[string]int `json:"faults"`
	// Left are the accounts still holding an assignment.
	Left []string `json:"left"`
}

type chaosObserver struct {
	emu     *emulator.Server
	mu      sync.Mutex
	rng     *rand.Rand
	changes map[string][]chaosChange
	calls   map[string][]time.Time
	faults  map[string]int
}

// change is the emulator's OnChange: it runs under the emulator's lock.
func (o *chaosObserver) change(a emulator.Assignment, present bool, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.changes[a.AccountID] = append(o.changes[a.AccountID], chaosChange{Present: present, At: at})
}

// faulty injects, per call of the Identity Center API: throttling (4%),
// a 500 (3%), a slow answer (5%), and for creates and deletes a lost
// answer (3%): the emulator carries the call out and the client is told
// 500, so it cannot know.
func (o *chaosObserver) faulty(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		op := target[strings.LastIndex(target, ".")+1:]
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		mutating := op == "CreateAccountAssignment" || op == "DeleteAccountAssignment"
		o.mu.Lock()
		roll := o.rng.Float64()
		slow := time.Duration(100+o.rng.IntN(500)) * time.Millisecond
		o.mu.Unlock()
		fail := func(kind string, status int, code string) {
			o.mu.Lock()
			o.faults[kind]++
			o.mu.Unlock()
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("X-Amzn-ErrorType", code)
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"__type":%q,"message":"chaos"}`, code)
		}
		switch {
		case roll < 0.04:
			fail("throttled", http.StatusBadRequest, "ThrottlingException")
			return
		case roll < 0.07:
			fail("5xx", http.StatusInternalServerError, "InternalServerException")
			return
		case roll < 0.12:
			o.mu.Lock()
			o.faults["slow"]++
			o.mu.Unlock()
			time.Sleep(slow)
		}
		if mutating {
			var in struct{ TargetId string }
			json.Unmarshal(body, &in) //nolint:errcheck // the emulator validates the call
			o.mu.Lock()
			o.calls[op+" "+in.TargetId] = append(o.calls[op+" "+in.TargetId], time.Now())
			o.mu.Unlock()
			if roll >= 0.12 && roll < 0.15 {
				next.ServeHTTP(httptest.NewRecorder(), r)
				fail("lost answer", http.StatusInternalServerError, "InternalServerException")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (o *chaosObserver) report(w http.ResponseWriter, _ *http.Request) {
	// Assignments settles finished operations, which reports their
	// changes: before taking o.mu.
	left := o.emu.Assignments()
	o.mu.Lock()
	defer o.mu.Unlock()
	rep := chaosReport{Changes: o.changes, Calls: o.calls, Faults: o.faults}
	for _, a := range left {
		rep.Left = append(rep.Left, a.AccountID)
	}
	json.NewEncoder(w).Encode(rep) //nolint:errcheck // the harness reports a short read
}

const chaosPolicy = `version: 1
rules:
  - name: chaos-self-service
    match: {provider: aws, accounts: ["*"], permission_sets: [ReadOnlyAccess], requesters: ["*"]}
    max_duration: 1h
    decision: allow
  - name: chaos-approved
    match: {provider: aws, accounts: ["*"], permission_sets: [PowerUserAccess], requesters: ["*"]}
    approval: {approvers: ["group:sre-leads"], count: 1, timeout: 1h}
    max_duration: 1h
    decision: require_approval
`

// chaosReplica is one `drawbridge serve` process, restartable.
type chaosReplica struct {
	n         int
	cfg, addr string
	logPath   string
	mu        sync.Mutex
	cmd       *exec.Cmd
	done      chan struct{}
}

func (r *chaosReplica) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(binary, "--config", r.cfg, "serve")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }() //nolint:errcheck // killed on purpose
	r.cmd, r.done = cmd, done
	return nil
}

// kill ends the replica with SIGKILL: no shutdown, no drain, leases held.
func (r *chaosReplica) kill() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // it may have died already
	<-done
}

// waitReady waits up to a minute for /readyz.
func (r *chaosReplica) waitReady() error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + r.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("replica %d not ready after a minute", r.n)
}

// chaosCluster is the replicas and how to reach them.
type chaosCluster struct {
	replicas []*chaosReplica
	admin    string // token
	approver string // token (bob, an sre-lead)
	client   *http.Client
	mu       sync.Mutex
	rng      *rand.Rand
}

// do sends one API call to a live replica, trying others while the one
// picked refuses connections (it is dead: nothing was sent). Any other
// failure is returned: the call may or may not have taken effect.
func (c *chaosCluster) do(method, path, token string, body any, hdr ...string) (int, []byte, error) {
	var last error
	for attempt := 0; attempt < 100; attempt++ {
		c.mu.Lock()
		r := c.replicas[c.rng.IntN(len(c.replicas))]
		c.mu.Unlock()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, "http://"+r.addr+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.client.Do(req)
		if err != nil {
			last = err
			if errors.Is(err, syscall.ECONNREFUSED) {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return 0, nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, nil, err
		}
		if resp.StatusCode == http.StatusServiceUnavailable {
			last = fmt.Errorf("%s: 503 %s", r.addr, b)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		return resp.StatusCode, b, nil
	}
	return 0, nil, fmt.Errorf("%w %s %s: %w", errNoReplica, method, path, last)
}

// errNoReplica: every replica tried refused the connection (or was not
// ready), so the call was never carried out.
var errNoReplica = errors.New("no replica answered")

// chaosRequest is what the harness knows of one request from the API.
type chaosRequest struct {
	ID          string     `json:"id"`
	State       string     `json:"state"`
	Resource    string     `json:"resource"`
	ActivatedAt *time.Time `json:"activated_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	EndedAt     *time.Time `json:"ended_at"`
	EndReason   string     `json:"end_reason"`
	LastError   string     `json:"last_error"`
	Attempts    int        `json:"revoke_attempts"`
}

// all lists every request through the API.
func (c *chaosCluster) all() ([]chaosRequest, error) {
	var out []chaosRequest
	cursor := ""
	for range 1000 {
		code, b, err := c.do("GET", "/v1/requests?limit=500&cursor="+cursor, c.admin, nil)
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("list: %d %s", code, b)
		}
		var page struct {
			Requests   []chaosRequest `json:"requests"`
			NextCursor string         `json:"next_cursor"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Requests...)
		if page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
	return nil, errors.New("list: more than 1000 pages")
}

var chaosFinal = map[string]bool{"EXPIRED": true, "REVOKED": true, "FAILED": true, "DENIED": true, "CANCELLED": true}

// chaosPlan is one request the load submits.
type chaosPlan struct {
	at        time.Duration // after the load starts
	account   string
	requester string
	approved  bool          // needs bob's approval
	duration  time.Duration // of the grant
	approveIn time.Duration
	revokeIn  time.Duration // early revoke after this; 0: none
	async     bool          // Prefer: respond-async
}

func TestChaosPostgresReplicas(t *testing.T) {
	runChaos(t, *chaosReplicas, *chaosRequests, pgtest.NewDatabase(t))
}

// One SQLite replica carries the load one of three replicas would: a
// third of the requests over the same window.
func TestChaosSQLiteReplica(t *testing.T) {
	runChaos(t, 1, max(*chaosRequests/3, 10), "")
}

// runChaos runs the harness with n replicas and a load of requests on the
// PostgreSQL database dsn ("" for one SQLite file).
func runChaos(t *testing.T, n, requests int, dsn string) {
	seed := *chaosSeed
	dir := t.TempDir()

	// The emulator: this test binary in its emulator mode.
	emu := exec.Command(os.Args[0])
	emu.Env = append(os.Environ(), chaosEmulatorEnv+"="+strconv.FormatUint(seed, 10))
	emuIn, err := emu.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	emuOut, err := emu.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	emu.Stderr = os.Stderr
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emuIn.Close(); emu.Wait() }) //nolint:errcheck // it exits on EOF
	line, err := bufio.NewReader(emuOut).ReadString('\n')
	if err != nil {
		t.Fatalf("emulator process: %v", err)
	}
	emuURL := strings.TrimSpace(line)

	base, err := writeExampleFiles(dir, emuURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "access_rules.yaml"), []byte(chaosPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("poll_interval: 100ms"), []byte("poll_interval: 20ms"), 1)
	data = bytes.Replace(data, []byte("max_sleep: 2s"), []byte(fmt.Sprintf("max_sleep: 1s\n  provider_timeout: %s\n  provision_lease: %s", chaosProviderTimeout, chaosLease)), 1)
	// Every request has an account of its own, so each grant is one
	// assignment and the emulator's changes per account are per grant.
	var accounts strings.Builder
	accounts.WriteString("accounts:\n")
	for i := range requests {
		fmt.Fprintf(&accounts, "  - id: %q\n    name: chaos-%d\n", chaosAccount(i), i)
	}
	data = bytes.Replace(data, []byte("accounts:\n"), []byte(accounts.String()), 1)
	if dsn != "" {
		data = regexp.MustCompile(`(?m)^store:\n  driver: sqlite\n  dsn: .*$`).ReplaceAll(data, []byte("store:\n  driver: postgres\n  dsn: "+dsn))
	}
	c := &chaosCluster{client: &http.Client{Timeout: 30 * time.Second}, rng: rand.New(rand.NewPCG(seed, 1))}
	for i := range n {
		r := &chaosReplica{n: i, addr: freeAddr(t), cfg: filepath.Join(dir, fmt.Sprintf("replica-%d.yaml", i)), logPath: filepath.Join(dir, fmt.Sprintf("replica-%d.log", i))}
		if err := os.WriteFile(r.cfg, bytes.Replace(data, []byte("listen: 127.0.0.1:8080"), []byte("listen: "+r.addr), 1), 0o600); err != nil {
			t.Fatal(err)
		}
		c.replicas = append(c.replicas, r)
	}
	cli := func(want int, args ...string) result {
		t.Helper()
		res := exe(t, dir, nil, append([]string{"--config", c.replicas[0].cfg}, args...)...)
		if res.code != want {
			t.Fatalf("drawbridge %s: want exit %d\n%s", strings.Join(args, " "), want, res)
		}
		return res
	}
	if dsn != "" {
		cli(0, "migrate")
	}
	c.admin = strings.TrimSpace(lastLine(cli(0, "token", "create", "--principal", "chaos@example.com", "--role", "admin").stdout))
	c.approver = strings.TrimSpace(lastLine(cli(0, "token", "create", "--principal", "bob@example.com", "--role", "approver", "--providers", "aws").stdout))
	t.Cleanup(func() {
		for _, r := range c.replicas {
			r.kill()
		}
		if t.Failed() {
			for _, r := range c.replicas {
				b, _ := os.ReadFile(r.logPath)
				if len(b) > 3000 {
					b = b[len(b)-3000:]
				}
				t.Logf("replica %d log (tail):\n%s", r.n, b)
			}
		}
	})
	for _, r := range c.replicas {
		if err := r.start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range c.replicas {
		if err := r.waitReady(); err != nil {
			t.Fatal(err)
		}
	}

	// The load, drawn up front from the seed.
	rng := rand.New(rand.NewPCG(seed, 2))
	load := *chaosLoad
	plans := make([]chaosPlan, requests)
	requesters := []string{"alice@example.com", "dave@example.com", "carol@example.com"}
	for i := range plans {
		p := chaosPlan{
			at:        time.Duration(rng.Int64N(int64(load))),
			account:   chaosAccount(i),
			requester: requesters[rng.IntN(len(requesters))],
			approved:  rng.IntN(4) == 0,
			duration:  time.Duration(2+rng.IntN(5)) * time.Second,
			approveIn: time.Duration(rng.IntN(1500)) * time.Millisecond,
			async:     rng.IntN(2) == 0,
		}
		if p.approved && p.requester == "carol@example.com" {
			p.requester = "alice@example.com" // bob approves, never his own
		}
		if rng.IntN(5) == 0 {
			p.revokeIn = time.Duration(300+rng.IntN(2000)) * time.Millisecond
		}
		plans[i] = p
	}

	var mu sync.Mutex
	created := map[string]string{} // account → id, from a 201
	var unknown, refused int
	var submitErrs []string
	start := time.Now()
	var wg sync.WaitGroup
	for _, p := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(start.Add(p.at)))
			ps := "ReadOnlyAccess"
			if p.approved {
				ps = "PowerUserAccess"
			}
			hdr := []string{}
			if p.async {
				hdr = append(hdr, "Prefer", "respond-async")
			}
			code, b, err := c.do("POST", "/v1/requests", c.admin, map[string]any{"requester": p.requester, "provider": "aws",
				"account_id": p.account, "permission_set": ps, "duration_seconds": int64(p.duration / time.Second), "reason": "chaos", "ticket": "INC-1"}, hdr...)
			var r chaosRequest
			switch {
			case errors.Is(err, errNoReplica):
				mu.Lock()
				refused++
				mu.Unlock()
				return
			case err != nil:
				mu.Lock()
				unknown++ // the replica died with the call: the request may exist
				mu.Unlock()
				return
			case code >= 500:
				mu.Lock()
				refused++
				mu.Unlock()
				return
			case code != http.StatusCreated && code != http.StatusAccepted:
				mu.Lock()
				submitErrs = append(submitErrs, fmt.Sprintf("%d %s", code, b))
				mu.Unlock()
				return
			}
			if err := json.Unmarshal(b, &r); err != nil || r.ID == "" {
				mu.Lock()
				submitErrs = append(submitErrs, fmt.Sprintf("undecodable %d %s", code, b))
				mu.Unlock()
				return
			}
			mu.Lock()
			created[p.account] = r.ID
			mu.Unlock()
			if p.approved {
				time.Sleep(p.approveIn)
				// An approval whose answer was lost with its replica is
				// sent again: a second one is refused (409), not doubled.
				var code int
				var b []byte
				var err error
				for range 20 {
					code, b, err = c.do("POST", "/v1/requests/"+r.ID+"/approve", c.approver, map[string]any{"comment": "chaos"}, "Prefer", "respond-async")
					if err == nil && code < 500 {
						break
					}
					time.Sleep(500 * time.Millisecond) // PostgreSQL may be restarting
				}
				if err == nil && code >= 300 && code < 500 && code != http.StatusConflict {
					mu.Lock()
					submitErrs = append(submitErrs, fmt.Sprintf("approve %s: %d %s", r.ID, code, b))
					mu.Unlock()
				}
			}
			if p.revokeIn > 0 {
				time.Sleep(p.revokeIn)
				c.do("POST", "/v1/requests/"+r.ID+"/revoke", c.admin, map[string]any{"reason": "chaos early revoke"}) //nolint:errcheck // an unfinished grant refuses: checked at the end
			}
		}()
	}

	// The chaos: kill a random replica, restart it a moment later; once,
	// restart PostgreSQL.
	krng := rand.New(rand.NewPCG(seed, 3))
	var killedAt, upAt []time.Time // each kill, and when that replica was ready again
	var pgDown [2]time.Time        // the PostgreSQL restart, from and to
	pgRestarts := 0
	// One replica is killed as often as one of three: it would otherwise
	// spend the run starting up.
	gap := func() time.Duration {
		return 3 * time.Duration(500+krng.IntN(1500)) * time.Millisecond / time.Duration(n)
	}
	chaosEnd := start.Add(load + 3*time.Second)
	pgAt := start.Add(load / 2)
	for time.Now().Before(chaosEnd) {
		time.Sleep(gap())
		if dsn != "" && pgRestarts == 0 && time.Now().After(pgAt) {
			pgDown[0] = time.Now()
			err := pgtest.Restart()
			pgDown[1] = time.Now()
			if err != nil {
				t.Logf("PostgreSQL not restarted: %v", err)
			} else {
				t.Logf("PostgreSQL restarted at +%s", time.Since(start).Round(time.Millisecond))
			}
			pgRestarts++
			continue
		}
		r := c.replicas[krng.IntN(len(c.replicas))]
		r.kill()
		killedAt = append(killedAt, time.Now())
		time.Sleep(time.Duration(200+krng.IntN(1500)) * time.Millisecond)
		if err := r.start(); err != nil {
			t.Fatal(err)
		}
		if err := r.waitReady(); err != nil {
			t.Fatal(err)
		}
		upAt = append(upAt, time.Now())
	}
	wg.Wait()
	for _, r := range c.replicas {
		if err := r.waitReady(); err != nil {
			t.Fatal(err)
		}
	}

	// Drain: every request final and nothing left assigned, within the
	// longest grant plus three leases (a bound, not a sleep).
	var reqs []chaosRequest
	var rep chaosReport
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if reqs, err = c.all(); err != nil {
			t.Fatal(err)
		}
		rep = chaosFetchReport(t, emuURL)
		open := 0
		for _, r := range reqs {
			if !chaosFinal[r.State] {
				open++
			}
		}
		if open == 0 && len(rep.Left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}

	// The verdict.
	byAccount := map[string]chaosRequest{}
	states := map[string]int{}
	var lost, duplicates, wrong []string
	for _, r := range reqs {
		if _, dup := byAccount[r.Resource]; dup {
			wrong = append(wrong, fmt.Sprintf("two requests for account %s", r.Resource))
		}
		byAccount[r.Resource] = r
		states[r.State]++
		if !chaosFinal[r.State] {
			lost = append(lost, fmt.Sprintf("%s %s (last error %q)", r.ID, r.State, r.LastError))
		}
	}
	for account, id := range created {
		if byAccount[account].ID != id {
			lost = append(lost, fmt.Sprintf("%s (account %s): answered 201, not in the store", id, account))
		}
	}
	for _, a := range rep.Left {
		lost = append(lost, fmt.Sprintf("account %s: still assigned (request %s %s)", a, byAccount[a].ID, byAccount[a].State))
	}
	var revocations, grants int
	// An expired grant's overrun (expiry to the provider's deletion, and
	// to Drawbridge's record of it) is bounded by: for each replica death
	// that overlaps it (from the kill to one lease after the replica was
	// ready again), the time that replica was down plus one lease (it may
	// have held the work); the retry backoff of its failed attempts (1 s
	// doubling, up to 1.5× with jitter); the PostgreSQL restart when
	// within it; and 5 s for an engine to wake and the provider to answer.
	var overruns, confirmed []time.Duration
	var beyond []string
	for account, chs := range rep.Changes {
		r := byAccount[account]
		creates, deletes := 0, 0
		var removed time.Time
		for _, ch := range chs {
			if ch.Present {
				creates++
			} else {
				deletes++
				removed = ch.At
			}
		}
		revocations += deletes
		if creates > 1 {
			duplicates = append(duplicates, fmt.Sprintf("%s: %d effective creates", account, creates))
		}
		if deletes > 1 {
			duplicates = append(duplicates, fmt.Sprintf("%s: %d effective deletes", account, deletes))
		}
		if r.ExpiresAt != nil && r.EndReason == "expired" && !removed.IsZero() && r.EndedAt != nil {
			overruns = append(overruns, removed.Sub(*r.ExpiresAt))
			confirmed = append(confirmed, r.EndedAt.Sub(*r.ExpiresAt))
			bound := 5 * time.Second
			for i, k := range killedAt {
				if i < len(upAt) && !upAt[i].Add(chaosLease).Before(*r.ExpiresAt) && !k.After(*r.EndedAt) {
					bound += upAt[i].Sub(k) + chaosLease
				}
			}
			for i, d := 0, time.Second; i < r.Attempts; i, d = i+1, d*2 {
				bound += d * 3 / 2
			}
			if !pgDown[1].Before(*r.ExpiresAt) && !pgDown[0].After(*r.EndedAt) {
				bound += pgDown[1].Sub(pgDown[0])
			}
			if over := r.EndedAt.Sub(*r.ExpiresAt); over > bound {
				beyond = append(beyond, fmt.Sprintf("%s: revoked %s after its expiry, beyond its bound %s (%d failed attempts)", r.ID, over, bound, r.Attempts))
			}
		}
	}
	for _, r := range reqs {
		if r.ActivatedAt != nil {
			grants++
			if len(rep.Changes[r.Resource]) == 0 {
				wrong = append(wrong, fmt.Sprintf("%s ACTIVE once, but the emulator never created its assignment", r.ID))
			}
		}
		if r.EndedAt == nil {
			continue
		}
		for _, at := range rep.Calls["DeleteAccountAssignment "+r.Resource] {
			if at.After(*r.EndedAt) {
				duplicates = append(duplicates, fmt.Sprintf("%s: a delete at %s, after the revocation was confirmed at %s", r.ID, at.Format(time.StampMilli), r.EndedAt.Format(time.StampMilli)))
			}
		}
		for _, at := range rep.Calls["CreateAccountAssignment "+r.Resource] {
			if at.After(*r.EndedAt) {
				duplicates = append(duplicates, fmt.Sprintf("%s: a create at %s, after it ended at %s", r.ID, at.Format(time.StampMilli), r.EndedAt.Format(time.StampMilli)))
			}
		}
	}
	sort.Slice(overruns, func(i, j int) bool { return overruns[i] < overruns[j] })
	sort.Slice(confirmed, func(i, j int) bool { return confirmed[i] < confirmed[j] })
	var maxOverrun, medOverrun, maxConfirmed time.Duration
	if len(overruns) > 0 {
		maxOverrun, medOverrun, maxConfirmed = overruns[len(overruns)-1], overruns[len(overruns)/2], confirmed[len(confirmed)-1]
	}
	verify := exe(t, dir, nil, "--config", c.replicas[0].cfg, "audit", "verify")
	store := "postgres"
	if dsn == "" {
		store = "sqlite"
	}
	var stateList []string
	for s, k := range states {
		stateList = append(stateList, fmt.Sprintf("%s=%d", s, k))
	}
	sort.Strings(stateList)
	faults := []string{}
	for k, v := range rep.Faults {
		faults = append(faults, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(faults)
	t.Logf("chaos %s: seed=%d replicas=%d kills=%d postgres_restarts=%d submitted=%d requests=%d (%s) submit_unknown=%d submit_refused=%d grants=%d revocations=%d duplicates=%d lost=%d wrong=%d overrun_median=%s overrun_max=%s confirmed_max=%s beyond_bound=%d (lease %s) emulator_faults: %s audit_verify_exit=%d",
		store, seed, n, len(killedAt), pgRestarts, len(plans), len(reqs), strings.Join(stateList, " "), unknown, refused, grants, revocations,
		len(duplicates), len(lost), len(wrong), medOverrun.Round(time.Millisecond), maxOverrun.Round(time.Millisecond), maxConfirmed.Round(time.Millisecond), len(beyond), chaosLease, strings.Join(faults, " "), verify.code)
	for _, e := range submitErrs {
		t.Errorf("a submission was refused: %s", e)
	}
	for _, d := range duplicates {
		t.Errorf("duplicate: %s", d)
	}
	for _, l := range lost {
		t.Errorf("lost: %s", l)
	}
	for _, w := range wrong {
		t.Errorf("wrong: %s", w)
	}
	if verify.code != 0 {
		t.Errorf("audit verify:\n%s", verify)
	}
	// Each kill that catches a revocation can delay it by one lease; the
	// rest is the engine's wake-up and the provider's answer.
	for _, b := range beyond {
		t.Errorf("overrun: %s", b)
	}
	if grants == 0 || revocations == 0 {
		t.Errorf("the load granted %d and revoked %d: it proved nothing", grants, revocations)
	}
}

func chaosAccount(i int) string { return fmt.Sprintf("%012d", 200000000000+i) }

func chaosFetchReport(t *testing.T, url string) chaosReport {
	t.Helper()
	resp, err := http.Get(url + "/chaos/report")
	if err != nil {
		t.Fatalf("emulator report: %v", err)
	}
	defer resp.Body.Close()
	var rep chaosReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatalf("emulator report: %v", err)
	}
	return rep
}
