// Package expiry is the engine that owns every time-based transition:
// grant expiry, revocation retries, approval timeouts and the resumption of
// provisioning interrupted by a crash. It sleeps until the earliest due time
// in the store (not a fixed polling period), wakes early when the broker
// reports a change, and re-reads at least every MaxSleep so that writes by
// other processes are seen.
package expiry

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/clock"
)

// Engine runs the broker's due steps.
type Engine struct {
	Broker   *broker.Broker
	Store    drawbridge.Store
	Clock    clock.Clock
	Logger   *slog.Logger
	MaxSleep time.Duration // upper bound on one sleep
	Workers  int           // steps run concurrently
	Batch    int           // due requests read per query

	// OnStep, when set, is called after every step (metrics, tests).
	OnStep func(broker.Step)

	// Reconcile, when set, runs every ReconcileEvery from Run's loop
	// (drift reconciliation against the providers).
	Reconcile      func(ctx context.Context)
	ReconcileEvery time.Duration
	// Leases, when set, makes the reconciliation pass run on one engine
	// among every process sharing the store: the one holding the lease
	// "reconcile" (taken for ReconcileEvery), as Holder. Nil runs it here.
	Leases drawbridge.Leaser
	Holder string

	kick   chan struct{}
	once   sync.Once
	wakeAt atomic.Int64 // planned wake (unix ns); 0 while a pass runs

}

// New returns an engine with defaults.
func New(b *broker.Broker, maxSleep time.Duration, workers int) *Engine {
	e := &Engine{Broker: b, Store: b.Store, Clock: b.Clock, Logger: b.Logger, MaxSleep: maxSleep, Workers: workers}
	e.init()
	return e
}

func (e *Engine) init() {
	e.once.Do(func() {
		e.kick = make(chan struct{}, 1)
		if e.MaxSleep <= 0 {
			e.MaxSleep = 2 * time.Second
		}
		if e.Workers <= 0 {
			e.Workers = 10
		}
		if e.Batch <= 0 {
			e.Batch = 500
		}
		if e.Logger == nil {
			e.Logger = slog.New(slog.DiscardHandler)
		}
		if e.Clock == nil {
			e.Clock = clock.Real{}
		}
	})
}

// Kick makes a sleeping engine re-read the next due time now.
func (e *Engine) Kick() {
	e.init()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Notify tells the engine that something is due at due; it wakes early
// only if that is before its planned wake, so a busy broker activating
// grants that expire hours from now does not make it re-query every time.
func (e *Engine) Notify(due time.Time) {
	e.init()
	if w := e.wakeAt.Load(); w == 0 || due.UnixNano() < w {
		e.Kick()
	}
}

// Run processes due steps until ctx is done.
func (e *Engine) Run(ctx context.Context) error {
	e.init()
	var nextReconcile time.Time
	for {
		e.wakeAt.Store(0)
		if err := e.pass(ctx, false, nil); err != nil && ctx.Err() == nil {
			e.Logger.Error("expiry pass failed", "error", err)
		}
		if e.Reconcile != nil && e.ReconcileEvery > 0 && !e.Clock.Now().Before(nextReconcile) {
			e.TryReconcile(ctx)
			nextReconcile = e.Clock.Now().Add(e.ReconcileEvery)
		}
		wait := e.MaxSleep
		if next, ok, err := e.Store.NextDue(ctx); err == nil && ok {
			if d := next.Sub(e.Clock.Now()); d < wait {
				wait = d
			}
		} else if err != nil && ctx.Err() == nil {
			e.Logger.Error("reading next due time failed", "error", err)
		}
		if wait < 0 {
			wait = 0
		}
		e.wakeAt.Store(e.Clock.Now().Add(wait).UnixNano())
		select {
		case <-ctx.Done():
			return nil
		case <-e.kick:
		case <-e.Clock.After(wait):
		}
	}
}

// ReconcileLease names the lease of the reconciliation pass.
const ReconcileLease = "reconcile"

// TryReconcile runs the reconciliation pass if this engine may: always
// without Leases, else when it takes or renews the reconcile lease until
// one interval from now. The holder renews it at each of its passes, so
// it keeps the job; when it dies, another engine takes the lease at its
// first pass after the lease ended. It reports whether the pass ran.
func (e *Engine) TryReconcile(ctx context.Context) bool {
	if e.Reconcile == nil {
		return false
	}
	if e.Leases != nil {
		now := e.Clock.Now()
		ok, err := e.Leases.TakeLease(ctx, ReconcileLease, e.Holder, now, now.Add(e.ReconcileEvery))
		if err != nil {
			e.Logger.Error("taking the reconciliation lease failed", "error", err)
			return false
		}
		if !ok {
			return false
		}
	}
	e.Reconcile(ctx)
	return true
}

// RunOnce performs every step due now (one janitor pass) and returns what
// it did. With dryRun it only reports what is due.
func (e *Engine) RunOnce(ctx context.Context, dryRun bool) ([]broker.Step, error) {
	e.init()
	var all []broker.Step
	err := e.pass(ctx, dryRun, func(steps []broker.Step) { all = append(all, steps...) })
	return all, err
}

// pass performs (or with dryRun lists) every step due now, a batch at a
// time, handing each batch's steps to keep when it is set. Run passes nil:
// the running engine holds one batch of requests at a time however many
// fall due together (it reports each step through OnStep), where keeping
// them all would hold up to 100 batches until the pass ends.
func (e *Engine) pass(ctx context.Context, dryRun bool, keep func([]broker.Step)) error {
	seen := map[string]bool{}
	for pass := 0; pass < 100; pass++ { // bounded: each pass handles a batch
		now := e.Clock.Now()
		due, err := e.Store.DueRequests(ctx, now, e.Batch)
		if err != nil {
			return err
		}
		var todo []*drawbridge.Request
		for _, r := range due {
			if !seen[r.ID] {
				seen[r.ID] = true
				todo = append(todo, r)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		if dryRun {
			steps := make([]broker.Step, 0, len(todo))
			for _, r := range todo {
				steps = append(steps, broker.Step{Request: r, Action: broker.DueAction(r, now)})
			}
			if keep != nil {
				keep(steps)
			}
			if len(due) < e.Batch {
				return nil
			}
			continue
		}
		steps := e.runSteps(ctx, todo)
		if keep != nil {
			keep(steps)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

func (e *Engine) runSteps(ctx context.Context, todo []*drawbridge.Request) []broker.Step {
	steps := make([]broker.Step, 0, len(todo))
	var mu sync.Mutex
	sem := make(chan struct{}, e.Workers)
	var wg sync.WaitGroup
	// Steps already started finish even when ctx ends (shutdown): a grant
	// half-way through revocation is completed and recorded rather than
	// left for the next start to resume after its lease. Each is bounded
	// by the broker's provider timeout; no new step starts once ctx ends.
	stepCtx := context.WithoutCancel(ctx)
	for _, r := range todo {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			action := broker.DueAction(r, e.Clock.Now())
			out, err := e.Broker.HandleDue(stepCtx, r)
			if drawbridge.IsStale(err) {
				// Another process claimed it first: not ours to report.
				mu.Lock()
				steps = append(steps, broker.Step{Request: r, Action: "skipped (handled by another process)"})
				mu.Unlock()
				return
			}
			if out == nil {
				out = r
			}
			s := broker.Step{Request: out, Action: action, Err: err}
			if err != nil {
				e.Logger.Error("expiry step failed", "request", r.ID, "action", action, "error", err)
			}
			mu.Lock()
			steps = append(steps, s)
			mu.Unlock()
			if e.OnStep != nil {
				e.OnStep(s)
			}
		}()
	}
	wg.Wait()
	return steps
}
