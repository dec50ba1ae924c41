package broker_test

import (
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// Every channel submits through the broker, so the grant-length rules live
// there: 1ns and 999ms were provisioned with duration_seconds 0 (issue 7,
// item 12). Nothing is recorded for a refused length.
func TestSubmitRefusesGrantLengthsOutsideTheLimits(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	submit := func(d time.Duration) error {
		_, err := e.Broker.Submit(e.Ctx, broker.SubmitInput{
			Requester: alice, Entitlement: drawbridge.Entitlement{Resource: staging, Role: readOnly}, Duration: d,
		}, op)
		return err
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{time.Nanosecond, "shorter than the shortest grant, 10s (limits.min_duration)"},
		{999 * time.Millisecond, "shorter than the shortest grant, 10s (limits.min_duration)"},
		{9 * time.Second, "ask for at least 10s (0.0028 hours)"},
		{168*time.Hour + time.Second, "hard limit of 168h (7d)"},
	} {
		wantCode(t, submit(tc.d), drawbridge.EINVALID, tc.want)
	}
	if rs, err := e.Store.ListRequests(e.Ctx, drawbridge.RequestFilter{}); err != nil || len(rs) != 0 {
		t.Fatalf("%d requests recorded for refused lengths (%v)", len(rs), err)
	}
	r := e.Submit(t, alice, staging, readOnly, 72*time.Second, "")
	wantState(t, r, drawbridge.StateActive)
	if r.DurationSeconds() != 72 {
		t.Fatalf("duration_seconds %d, want 72", r.DurationSeconds())
	}

	// limits.min_duration is configurable; an extension goes through the
	// same check.
	e.Broker.MinDuration = time.Minute
	wantCode(t, submit(30*time.Second), drawbridge.EINVALID, "shorter than the shortest grant, 1m")
	_, err := e.Broker.Extend(e.Ctx, r.ID, 30*time.Second, "", "", op)
	wantCode(t, err, drawbridge.EINVALID, "shorter than the shortest grant, 1m")
}
