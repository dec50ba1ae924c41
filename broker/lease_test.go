package broker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/expiry"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// slowGrant is a provider whose first Grant does not answer until released
// (a slow Identity Center); it counts calls and records the deadline each
// call was given.
type slowGrant struct {
	*aws.Provider
	entered chan struct{}
	release chan struct{}

	mu        sync.Mutex
	calls     int
	deadlines []time.Duration // per call: deadline - time of the call (real time)
}

func (p *slowGrant) Grant(ctx context.Context, spec drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	p.mu.Lock()
	p.calls++
	first := p.calls == 1
	if d, ok := ctx.Deadline(); ok {
		p.deadlines = append(p.deadlines, time.Until(d))
	} else {
		p.deadlines = append(p.deadlines, -1)
	}
	p.mu.Unlock()
	if first {
		p.entered <- struct{}{}
		select {
		case <-p.release:
		case <-ctx.Done():
			return drawbridge.GrantResult{}, ctx.Err()
		}
	}
	return p.Provider.Grant(ctx, spec)
}

func (p *slowGrant) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// Item 7 of issue 7: while the provider takes its time over a Grant, the
// expiry engine must not find the request's lease over and call Grant a
// second time; the submit then completes ACTIVE, not with a conflict.
func TestLeaseOutlastsTheProviderCall(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	p := &slowGrant{Provider: e.Provider, entered: make(chan struct{}), release: make(chan struct{})}
	useProvider(e, p)

	type result struct {
		r   *drawbridge.Request
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := e.Broker.Submit(e.Ctx, broker.SubmitInput{Requester: bob, Duration: time.Hour, Reason: "test",
			Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: prod, Role: readOnly}}, op)
		done <- result{r, err}
	}()
	<-p.entered
	// The provider call may run for the whole provider timeout; the engine
	// looks at the request when 30 s (the old lease) and then the whole
	// provider timeout have passed on the clock.
	began := e.Clock.Now()
	eng := expiry.New(e.Broker, time.Minute, 2)
	for _, d := range []time.Duration{31 * time.Second, e.Broker.ProviderTimeout} {
		e.Clock.Advance(began.Add(d).Sub(e.Clock.Now()))
		if _, err := eng.RunOnce(e.Ctx, false); err != nil {
			t.Fatal(err)
		}
		if n := p.count(); n != 1 {
			t.Fatalf("%d Grant calls %s into a provider call the lease protects, want 1", n, d)
		}
	}
	close(p.release)
	res := <-done
	if res.err != nil {
		t.Fatalf("submit: %v", res.err)
	}
	wantState(t, res.r, drawbridge.StateActive)
	if n := p.count(); n != 1 {
		t.Errorf("%d Grant calls, want 1", n)
	}
}

// The invariant holds by construction, not only by configuration: a
// provider call gets a deadline that ends a margin before the lease the
// broker wrote for it, even when the broker is given a lease shorter than
// its provider timeout.
func TestProviderCallEndsBeforeItsLease(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	p := &slowGrant{Provider: e.Provider, entered: make(chan struct{}, 1), release: make(chan struct{})}
	close(p.release)
	useProvider(e, p)
	e.Broker.ProviderTimeout = 2 * time.Minute
	e.Broker.ProvisionLease = 10 * time.Second
	r := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	wantState(t, r, drawbridge.StateActive)
	limit := e.Broker.ProvisionLease - drawbridge.LeaseMargin
	for i, d := range p.deadlines {
		if d < 0 || d > limit {
			t.Errorf("Grant call %d had %v left on its deadline, want at most %v (the lease less the margin)", i+1, d, limit)
		}
	}
}
