// Package notify delivers notifications (drawbridge.Notification) from the
// audit chain, which is the outbox: every change writes its audit event in
// the same transaction, so an event that exists is a change that happened,
// and reading events after a cursor finds everything to tell, including
// what was committed just before a crash.
//
// One Worker per configured notifier reads the events after that
// notifier's cursor, builds the notifications they stand for (Build), hands
// each to the notifier until it accepts it — retrying with capped backoff,
// never skipping — and then advances the cursor. The cursor lives in the
// store and is leased, so when several processes share the store one
// worker at a time delivers for each notifier. Delivery is at least once:
// a worker that dies after the notifier accepted a notification but before
// the cursor moved delivers it again after the restart, with the same
// idempotency key (the event's Seq), which receivers use to act once.
//
// Nothing in the lifecycle waits for a worker: the broker only writes
// events, and a dead receiver slows nothing but its own cursor (the lag
// metric shows it).
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/clock"
)

// Defaults of a Worker.
const (
	DefaultPoll      = 2 * time.Second
	DefaultTimeout   = 10 * time.Second
	DefaultRetryBase = time.Second
	DefaultRetryCap  = 5 * time.Minute
	// leaseMargin is how long before its lease ends a delivery is cut
	// off, so that no other worker starts on the same notification while
	// this one may still be sending it.
	leaseMargin = 5 * time.Second
)

// Worker delivers the notifications of one notifier.
type Worker struct {
	// Name keys the notifier's cursor in the store; it must stay the same
	// across restarts.
	Name     string
	Notifier drawbridge.Notifier
	Store    drawbridge.Store
	Clock    clock.Clock
	Logger   *slog.Logger
	// Holder names this worker in the cursor's lease; unique per process
	// (NewHolder).
	Holder string
	// Lease is how long the cursor is this worker's after each renewal;
	// by default LeaseFor(Timeout). After a crash, delivery resumes (in
	// another process, or the restarted one) once it has run out.
	Lease time.Duration
	// Poll is how often a worker that is caught up, or that another
	// process holds the lease against, looks again; Wake makes it look
	// now.
	Poll time.Duration
	// Timeout bounds one delivery (and is kept leaseMargin inside the
	// lease).
	Timeout time.Duration
	// RetryBase and RetryCap shape the capped exponential backoff between
	// failed deliveries of one notification.
	RetryBase, RetryCap time.Duration
	// Batch is how many events one read takes.
	Batch int
	// Approvers names who may approve under a rule (request.pending_approval).
	Approvers func(rule string) []string
	// OnDelivery, when set, is told of every delivery attempt (metrics).
	OnDelivery func(name string, n drawbridge.Notification, err error)
	// OnLag, when set, is told how far behind the worker is: the age of the
	// oldest event it has not finished with, 0 when caught up (metrics).
	OnLag func(name string, lag time.Duration)

	wake       chan struct{}
	once       sync.Once
	leaseUntil time.Time // of the lease this worker last took
}

// LeaseFor is the cursor lease of a worker whose deliveries take at most
// timeout: two of them and ten seconds (30 s for the default timeout), so
// a renewal before each delivery always leaves the delivery inside the
// lease, and a crashed holder holds up delivery for no longer than that.
func LeaseFor(timeout time.Duration) time.Duration { return 2*timeout + 10*time.Second }

// NewHolder returns a lease holder name unique to this process: the host,
// the process id and a random suffix (a restarted process is a new holder,
// and waits for the old lease to end).
func NewHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

func (w *Worker) init() {
	w.wake = make(chan struct{}, 1)
	if w.Clock == nil {
		w.Clock = clock.Real{}
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	if w.Holder == "" {
		w.Holder = NewHolder()
	}
	if w.Poll <= 0 {
		w.Poll = DefaultPoll
	}
	if w.Timeout <= 0 {
		w.Timeout = DefaultTimeout
	}
	if w.Lease <= 0 {
		w.Lease = LeaseFor(w.Timeout)
	}
	// A delivery must fit in half a lease (renew), with the margin.
	w.Timeout = min(w.Timeout, w.Lease/2-leaseMargin)
	if w.RetryBase <= 0 {
		w.RetryBase = DefaultRetryBase
	}
	if w.RetryCap <= 0 {
		w.RetryCap = DefaultRetryCap
	}
	if w.Batch <= 0 {
		w.Batch = 100
	}
	if w.OnDelivery == nil {
		w.OnDelivery = func(string, drawbridge.Notification, error) {}
	}
	if w.OnLag == nil {
		w.OnLag = func(string, time.Duration) {}
	}
}

// Wake makes a waiting worker look for new events now. It never blocks,
// and may be called before Run.
func (w *Worker) Wake() {
	w.once.Do(w.init)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends. A delivery in flight when ctx ends is
// cancelled and its cursor not advanced: the next holder sends it again.
// On the way out the lease is given up, so a restart (or another process)
// goes on at once; after a crash it waits for the lease to run out.
func (w *Worker) Run(ctx context.Context) error {
	w.once.Do(w.init)
	defer w.release(ctx)
	for ctx.Err() == nil {
		more, err := w.pass(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case drawbridge.IsStale(err):
			// Another process delivers for this notifier for now.
		case err != nil:
			w.Logger.Error("notifier: delivery pass failed", "notifier", w.Name, "error", err)
		case more:
			continue
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-w.Clock.After(w.Poll):
		}
	}
	return nil
}

// pass takes (or renews) the lease and works through one batch of events;
// more says a full batch was read, so there may be more right away.
func (w *Worker) pass(ctx context.Context) (more bool, err error) {
	cur, err := w.lease(ctx)
	if err != nil {
		return false, err
	}
	evs, err := w.Store.AuditAfter(ctx, cur.Seq, w.Batch)
	if err != nil {
		return false, err
	}
	if len(evs) == 0 {
		w.OnLag(w.Name, 0)
		return false, nil
	}
	done, advanced := cur.Seq, cur.Seq
	for _, ev := range evs {
		w.OnLag(w.Name, max(0, w.Clock.Now().Sub(ev.Time)))
		n, ok, err := w.build(ctx, ev)
		if err != nil {
			return false, err
		}
		if ok {
			if err := w.deliver(ctx, n); err != nil {
				return false, err
			}
			if err := w.Store.AdvanceNotifyCursor(ctx, w.Name, w.Holder, ev.Seq); err != nil {
				return false, err
			}
			advanced = ev.Seq
		}
		done = ev.Seq
	}
	// Events that needed no notification are finished with too.
	if done > advanced {
		if err := w.Store.AdvanceNotifyCursor(ctx, w.Name, w.Holder, done); err != nil {
			return false, err
		}
	}
	if len(evs) < w.Batch {
		w.OnLag(w.Name, 0)
	}
	return len(evs) == w.Batch, nil
}

// release ends this worker's lease now, if it still holds it.
func (w *Worker) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now := w.Clock.Now()
	if _, err := w.Store.LeaseNotifyCursor(ctx, w.Name, w.Holder, now, now); err != nil && !drawbridge.IsStale(err) {
		w.Logger.Warn("notifier: could not give up the cursor lease; another process waits for it to run out", "notifier", w.Name, "error", err)
	}
}

func (w *Worker) lease(ctx context.Context) (drawbridge.NotifyCursor, error) {
	now := w.Clock.Now()
	c, err := w.Store.LeaseNotifyCursor(ctx, w.Name, w.Holder, now, now.Add(w.Lease))
	if err == nil {
		w.leaseUntil = c.LeaseUntil
	}
	return c, err
}

// renew renews the lease when less than half of it is left, so a busy
// worker writes one renewal per half lease rather than one per
// notification; what is left then always covers a whole delivery
// (Lease/2 ≥ Timeout + leaseMargin, see LeaseFor).
func (w *Worker) renew(ctx context.Context) error {
	if w.Clock.Now().Before(w.leaseUntil.Add(-w.Lease / 2)) {
		return nil
	}
	_, err := w.lease(ctx)
	return err
}

// build reads the request ev is about and makes its notification.
func (w *Worker) build(ctx context.Context, ev drawbridge.AuditEvent) (drawbridge.Notification, bool, error) {
	if _, ok := typeOf[ev.Action]; !ok || ev.RequestID == "" {
		return drawbridge.Notification{}, false, nil
	}
	r, err := w.Store.GetRequest(ctx, ev.RequestID)
	if drawbridge.ErrorCode(err) == drawbridge.ENOTFOUND {
		return drawbridge.Notification{}, false, nil
	}
	if err != nil {
		return drawbridge.Notification{}, false, err
	}
	n, ok := Build(ev, r, w.Approvers)
	return n, ok, nil
}

// deliver hands n to the notifier until it accepts it, renewing the lease
// before an attempt when half of it is gone. It gives up only when ctx
// ends or the lease is lost (another worker took over and delivers n
// itself; a lost lease also stops the cursor from moving).
func (w *Worker) deliver(ctx context.Context, n drawbridge.Notification) error {
	for attempt := 1; ; attempt++ {
		if err := w.renew(ctx); err != nil {
			return err
		}
		d := min(w.Timeout, w.leaseUntil.Add(-leaseMargin).Sub(w.Clock.Now()))
		callCtx, cancel := context.WithTimeout(ctx, d)
		err := w.Notifier.Notify(callCtx, n)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.OnDelivery(w.Name, n, err)
		if err == nil {
			return nil
		}
		wait := w.backoff(attempt)
		w.Logger.Warn("notifier: delivery failed, will retry", "notifier", w.Name, "type", n.Type, "seq", n.Seq,
			"request", n.RequestID, "attempt", attempt, "retry_in", wait, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.Clock.After(wait):
		}
	}
}

// backoff is the delay after the attempt-th failure: RetryBase doubling,
// at most RetryCap. One worker per notifier retries one notification at a
// time, so there is no crowd to spread out with jitter.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.RetryBase
	for i := 1; i < attempt && d < w.RetryCap; i++ {
		d *= 2
	}
	return min(d, w.RetryCap)
}
