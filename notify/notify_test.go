package notify_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
	"github.com/drawbridge-jit/drawbridge/notify"
	"github.com/drawbridge-jit/drawbridge/notify/webhook"
	"github.com/drawbridge-jit/drawbridge/signature"
)

const secret = "notify-test-secret"

// receiver is a loopback webhook receiver as a user would write one: it
// verifies the signature and acts once per Idempotency-Key.
type receiver struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	raw   []string        // every accepted delivery's key, in order
	acted map[string]bool // keys acted on (deduplicated)
	types []string        // types acted on, in order
	fail  int             // answer 503 to this many deliveries first
}

func newReceiver(t *testing.T, clk func() time.Time) *receiver {
	rc := &receiver{t: t, acted: map[string]bool{}}
	rc.srv = httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := signature.Verify(r.Header.Get(signature.Header), body, clk(), signature.DefaultTolerance, []byte(secret)); err != nil {
			t.Errorf("receiver: %v", err)
			w.WriteHeader(nethttp.StatusUnauthorized)
			return
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.fail > 0 {
			rc.fail--
			w.WriteHeader(nethttp.StatusServiceUnavailable)
			return
		}
		key := r.Header.Get(webhook.IdempotencyKeyHeader)
		rc.raw = append(rc.raw, key)
		if !rc.acted[key] {
			rc.acted[key] = true
			rc.types = append(rc.types, r.Header.Get(webhook.EventHeader))
		}
		w.WriteHeader(nethttp.StatusOK)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) snapshot() (raw, types []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.raw), slices.Clone(rc.types)
}

// waitFor polls cond for at most 10 s of real time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after 10s waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// run runs w until the returned stop is called; stop waits for it.
func run(t *testing.T, w *notify.Worker) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("worker did not stop within 10s")
		}
	}
	t.Cleanup(stop)
	return stop
}

// crashAfter lets n deliveries reach the receiver, then "kills the
// process" right after the receiver accepted the n-th, before the worker
// could advance its cursor: from then on its store writes nothing (a dead
// process cannot give up its lease either), and its context ends.
type crashAfter struct {
	drawbridge.Store
	inner drawbridge.Notifier
	n     int
	kill  context.CancelFunc
	mu    sync.Mutex
	dead  bool
}

func (c *crashAfter) Notify(ctx context.Context, note drawbridge.Notification) error {
	err := c.inner.Notify(ctx, note)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		if c.n--; c.n == 0 {
			c.dead = true
			c.kill()
		}
	}
	return err
}

var errDead = errors.New("the process is dead")

func (c *crashAfter) LeaseNotifyCursor(ctx context.Context, name, holder string, now, until time.Time) (drawbridge.NotifyCursor, error) {
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if dead {
		return drawbridge.NotifyCursor{}, errDead
	}
	return c.Store.LeaseNotifyCursor(ctx, name, holder, now, until)
}

func (c *crashAfter) AdvanceNotifyCursor(ctx context.Context, name, holder string, seq int64) error {
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if dead {
		return errDead
	}
	return c.Store.AdvanceNotifyCursor(ctx, name, holder, seq)
}

// expected builds, from the store's audit chain, the notifications the
// events stand for: the keys and types a receiver must end up with.
func expected(t *testing.T, e *testenv.Env) (keys, types []string) {
	t.Helper()
	err := e.Store.ScanAudit(e.Ctx, func(ev drawbridge.AuditEvent) error {
		if ev.RequestID == "" {
			return nil
		}
		r, err := e.Store.GetRequest(e.Ctx, ev.RequestID)
		if err != nil {
			return err
		}
		if n, ok := notify.Build(ev, r, nil); ok {
			keys = append(keys, strconv.FormatInt(n.Seq, 10))
			types = append(types, n.Type)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys, types
}

// The acceptance test of durable notifications: the worker dies after the
// receiver accepted a notification and before the cursor moved past it. A
// new process (its own store handle, its own lease holder) takes over once
// the dead one's lease ends, delivers that one notification again with the
// same idempotency key, then everything else; the receiver, acting once
// per key, acts on each notification exactly once, in order.
func TestCrashBetweenDeliveryAndCursorDeliversOnceAfterRestart(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	rc := newReceiver(t, e.Clock.Now)
	// The cursor exists before the first event (a notifier configured
	// before the requests it reports), with no live lease.
	if _, err := e.Store.LeaseNotifyCursor(e.Ctx, "hooks", "setup", e.Clock.Now(), e.Clock.Now()); err != nil {
		t.Fatal(err)
	}

	g := e.Submit(t, testenv.Alice, testenv.Staging, "ReadOnlyAccess", time.Hour, "")        // approved, active
	p := e.Submit(t, testenv.Alice, testenv.Prod, "AdministratorAccess", time.Hour, "INC-1") // pending approval
	if _, err := e.Broker.Revoke(e.Ctx, g.ID, "done", testenv.Operator); err != nil {        // revoked
		t.Fatal(err)
	}
	e.Submit(t, testenv.Dave, testenv.Staging, "ReadOnlyAccess", time.Hour, "") // denied
	if _, err := e.Broker.Cancel(e.Ctx, p.ID, testenv.Operator); err != nil {   // cancelled
		t.Fatal(err)
	}
	keys, types := expected(t, e)
	want := []string{drawbridge.NotifyApproved, drawbridge.NotifyGrantActive, drawbridge.NotifyPendingApproval,
		drawbridge.NotifyGrantRevoked, drawbridge.NotifyDenied, drawbridge.NotifyCancelled}
	if !slices.Equal(types, want) {
		t.Fatalf("the events stand for %v, want %v", types, want)
	}

	hook, err := webhook.New(rc.srv.URL, []string{secret}, nil, e.Clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx1, kill := context.WithCancel(context.Background())
	crash := &crashAfter{Store: e.Store, inner: hook, n: 3, kill: kill}
	w1 := &notify.Worker{Name: "hooks", Notifier: crash, Store: crash, Clock: e.Clock, Holder: "process-1"}
	done := make(chan struct{})
	go func() { defer close(done); _ = w1.Run(ctx1) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the first worker was not killed within 10s")
	}
	raw, _ := rc.snapshot()
	if !slices.Equal(raw, keys[:3]) {
		t.Fatalf("before the crash the receiver got %v, want %v", raw, keys[:3])
	}

	// The restarted process: another store handle, another holder.
	db2 := testenv.New(t, testenv.Options{SameStoreAs: e, Clock: e.Clock, Emulator: e.Emu}).Store
	w2 := &notify.Worker{Name: "hooks", Notifier: hook, Store: db2, Clock: e.Clock, Holder: "process-2"}
	stop := run(t, w2)
	// The dead process's lease still runs: nothing is delivered twice
	// while it might be alive.
	waitFor(t, "the new worker to wait for the lease", func() bool { return e.Clock.Waiters() >= 1 })
	if raw, _ := rc.snapshot(); len(raw) != 3 {
		t.Fatalf("delivered %v while the first worker's lease ran", raw)
	}
	e.Clock.Advance(notify.LeaseFor(notify.DefaultTimeout))
	last, _ := strconv.ParseInt(keys[len(keys)-1], 10, 64)
	waitFor(t, "every notification, and the cursor past the last", func() bool {
		_, acted := rc.snapshot()
		c, err := db2.LeaseNotifyCursor(e.Ctx, "hooks", "process-2", e.Clock.Now(), e.Clock.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return len(acted) == len(keys) && c.Seq >= last
	})
	stop()

	raw, acted := rc.snapshot()
	if !slices.Equal(acted, want) {
		t.Errorf("the receiver acted on %v, want each of %v once, in order", acted, want)
	}
	// At least once on the wire: exactly the notification in flight at the
	// crash came twice.
	wantRaw := append(slices.Clone(keys[:3]), keys[2:]...)
	if !slices.Equal(raw, wantRaw) {
		t.Errorf("deliveries on the wire %v, want %v (only %s twice)", raw, wantRaw, keys[2])
	}
}

// A receiver that fails is retried with backoff (fake clock), counted as a
// failure each time, and holds back only its own notifications: the
// lifecycle goes on meanwhile, and once the receiver recovers everything
// arrives once, in order.
func TestFailingReceiverIsRetriedAndNeverBlocksTheLifecycle(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	rc := newReceiver(t, e.Clock.Now)
	rc.fail = 3
	if _, err := e.Store.LeaseNotifyCursor(e.Ctx, "hooks", "setup", e.Clock.Now(), e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	hook, err := webhook.New(rc.srv.URL, []string{secret}, nil, e.Clock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var failures int
	var lags []time.Duration
	w := &notify.Worker{Name: "hooks", Notifier: hook, Store: e.Store, Clock: e.Clock, Holder: "p",
		OnDelivery: func(_ string, _ drawbridge.Notification, err error) {
			if err != nil {
				mu.Lock()
				failures++
				mu.Unlock()
			}
		},
		OnLag: func(_ string, d time.Duration) { mu.Lock(); lags = append(lags, d); mu.Unlock() },
	}
	e.Broker.Store = notify.Wake(e.Broker.Store, w.Wake)
	run(t, w)

	// The lifecycle does not wait for the receiver.
	lifecycle := make(chan error, 1)
	go func() {
		g := e.Submit(t, testenv.Alice, testenv.Staging, "ReadOnlyAccess", time.Hour, "")
		_, err := e.Broker.Revoke(e.Ctx, g.ID, "done", testenv.Operator)
		lifecycle <- err
	}()
	select {
	case err := <-lifecycle:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("submit and revoke waited for a failing receiver")
	}
	// Three failures, each followed by a backoff (1 s, 2 s, 4 s) on the
	// fake clock, which moves a second per look.
	keys, types := expected(t, e)
	waitFor(t, "every notification", func() bool {
		e.Clock.Advance(time.Second)
		_, acted := rc.snapshot()
		return len(acted) == len(keys)
	})
	waitFor(t, "the worker to report it caught up", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lags) > 0 && lags[len(lags)-1] == 0
	})
	raw, acted := rc.snapshot()
	if !slices.Equal(acted, types) || !slices.Equal(raw, keys) {
		t.Errorf("acted on %v (keys %v), want %v (keys %v)", acted, raw, types, keys)
	}
	mu.Lock()
	defer mu.Unlock()
	if failures != 3 {
		t.Errorf("%d failures reported, want 3", failures)
	}
	if slices.Max(lags) < 7*time.Second {
		t.Errorf("lag reports %v: want one of at least the 7 s of backoff", lags)
	}
}

// A worker that stops cleanly gives its lease up: the next process goes on
// at once instead of waiting for the lease to run out.
func TestCleanStopReleasesTheLease(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Submit(t, testenv.Alice, testenv.Staging, "ReadOnlyAccess", time.Hour, "")
	w := &notify.Worker{Name: "log", Notifier: notify.Log{Logger: slog.New(slog.DiscardHandler)}, Store: e.Store, Clock: e.Clock, Holder: "p1"}
	stop := run(t, w)
	waitFor(t, "the worker to take the lease and go idle", func() bool { return e.Clock.Waiters() >= 1 })
	if _, err := e.Store.LeaseNotifyCursor(e.Ctx, "log", "p2", e.Clock.Now(), e.Clock.Now().Add(time.Minute)); !drawbridge.IsStale(err) {
		t.Fatalf("p2 leased while p1 runs: %v", err)
	}
	stop()
	if _, err := e.Store.LeaseNotifyCursor(e.Ctx, "log", "p2", e.Clock.Now(), e.Clock.Now().Add(time.Minute)); err != nil {
		t.Fatalf("p2 could not lease after p1 stopped: %v", err)
	}
}
