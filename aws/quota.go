package aws

import (
	"context"
	"fmt"

	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/drawbridge-jit/drawbridge"
)

// rateLimit returns SDK middleware that takes a token from limiter before
// every attempt of every call (it runs after the retry step), so each
// request sent counts against the quota, whichever client or goroutine
// sends it.
func rateLimit(limiter *rate.Limiter) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("DrawbridgeRateLimit",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if err := limiter.Wait(ctx); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}

// newLimiter spaces calls at tps per second with bursts of half a second's
// worth: an idle broker starts a batch at once, and AWS's own bucket keeps
// slack for network jitter and for other clients of the same instance.
func newLimiter(tps float64) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(tps), max(1, int(tps/2)))
}

// removalReserve is how many of maxInFlight slots only removals may take:
// a fifth, at least one. Grants come from people (a flood of submits is
// possible, through the API); revocations come from the expiry engine and
// must never queue behind them, or access outlives its end.
func removalReserve(maxInFlight int) int {
	if maxInFlight < 2 {
		return 0
	}
	return max(1, maxInFlight/5)
}

// acquire takes an in-flight slot for one asynchronous assignment operation
// and returns its release. A creation first takes one of the slots grants
// may use (all but removalReserve), so removals always find one. Waiting
// for a slot ends with ctx, as a retryable error. The slot is released
// when Grant or Revoke returns, which is when the status is terminal
// unless ctx ended first: then AWS may still count the operation for a
// while, and a throttled create is retried like any.
func (p *Provider) acquire(ctx context.Context, op string, a drawbridge.Assignment) (release func(), err error) {
	if p.inFlight == nil {
		return func() {}, nil
	}
	waitErr := func() error {
		return &opError{op: op, subject: describe(a), err: ctx.Err(),
			msg: fmt.Sprintf("waiting for one of %d in-flight assignment operation slots: %v", cap(p.inFlight), ctx.Err())}
	}
	var releaseGrant func()
	if op == opCreate && p.grantSlots != nil {
		select {
		case p.grantSlots <- struct{}{}:
			releaseGrant = func() { <-p.grantSlots }
		case <-ctx.Done():
			return nil, waitErr()
		}
	}
	select {
	case p.inFlight <- struct{}{}:
		return func() {
			<-p.inFlight
			if releaseGrant != nil {
				releaseGrant()
			}
		}, nil
	case <-ctx.Done():
		if releaseGrant != nil {
			releaseGrant()
		}
		return nil, waitErr()
	}
}
