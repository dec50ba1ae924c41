package aws_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/clock"
)

// grantAll runs n concurrent grants to distinct users and returns the errors.
func grantAll(p *aws.Provider, n int) []error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := grant(context.Background(), p, assignment("ReadOnlyAccess", fmt.Sprintf("user-%02d", i))); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

func TestInFlightStaysWithinQuota(t *testing.T) {
	// With the semaphore: a grant holds its slot until the status it polls
	// is terminal, so the emulator never sees more than 10 in flight,
	// however the 30 grants interleave.
	opts := emulator.Options{MaxInFlight: 10, Delay: 20 * time.Millisecond}
	em, p := setupWith(t, opts, aws.Config{MaxInFlight: 10, MaxTPS: -1})
	if errs := grantAll(p, 30); len(errs) != 0 {
		t.Fatalf("%d of 30 grants failed, first: %v", len(errs), errs[0])
	}
	if n := len(em.Assignments()); n != 30 {
		t.Fatalf("%d assignments, want 30", n)
	}

	// Without it, the same load exceeds the emulator's quota, so the test
	// above can fail. The emulator's clock stands still, so no creation
	// completes: exactly 10 are accepted and the other 20 are throttled,
	// whatever the machine's load. The accepted ones poll until ctx ends.
	frozen := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	_, unlimited := setupWith(t, emulator.Options{MaxInFlight: 10, Delay: time.Second, Now: frozen.Now},
		aws.Config{MaxInFlight: -1, MaxTPS: -1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := make(chan error, 30)
	for i := range 30 {
		go func() { results <- grant(ctx, unlimited, assignment("ReadOnlyAccess", fmt.Sprintf("user-%02d", i))) }()
	}
	for i := range 20 {
		err := <-results
		if err == nil || !strings.Contains(err.Error(), "ThrottlingException") || drawbridge.IsPermanent(err) {
			t.Fatalf("without a semaphore, result %d: %v; want retryable throttling", i, err)
		}
	}
	cancel()
	for range 10 {
		if err := <-results; err == nil || strings.Contains(err.Error(), "ThrottlingException") {
			t.Fatalf("an accepted creation ended with %v; want it still IN_PROGRESS when ctx ended", err)
		}
	}
}

func TestRateLimiterStaysUnderMaxTPS(t *testing.T) {
	const tps = 40
	const calls = 60
	run := func(p *aws.Provider) int32 {
		var errs atomic.Int32
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				for i := range calls / 6 {
					if _, err := p.Exists(context.Background(), assignment("ReadOnlyAccess", fmt.Sprintf("u-%d-%d", w, i))); err != nil {
						errs.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return errs.Load()
	}
	em, p := setupWith(t, emulator.Options{RateLimit: tps}, aws.Config{MaxTPS: tps})
	start := time.Now()
	if n := run(p); n != 0 {
		t.Fatalf("%d of %d calls throttled under a limiter at the emulator's rate", n, calls)
	}
	// A burst of half a second's worth, then tps: the rest cannot take
	// less than (calls-burst)/tps. Generous: scheduling only adds time.
	if min := time.Duration(float64(calls-tps/2) / tps * float64(time.Second)); time.Since(start) < min*9/10 {
		t.Errorf("%d calls in %s, faster than %d/s allows (%s)", calls, time.Since(start), tps, min)
	}
	if n := em.Calls(emulator.OpListAccountAssignmentsForPrincipal); n != calls {
		t.Errorf("%d calls reached the emulator, want %d", n, calls)
	}

	// Without the limiter the emulator throttles: Exists retries those
	// pages, so more calls than asked for reach it. The emulator's clock
	// stands still here, so its bucket holds exactly one second's worth
	// and never refills: on a loaded machine the calls could otherwise
	// spread over more than a second and never meet the limit.
	frozen := clock.NewFake(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	em2, unlimited := setupWith(t, emulator.Options{RateLimit: tps, Now: frozen.Now}, aws.Config{MaxTPS: -1})
	run(unlimited)
	if n := em2.Calls(emulator.OpListAccountAssignmentsForPrincipal); n <= calls {
		t.Fatalf("without a limiter %d calls for %d lookups: nothing was throttled, so the emulator's rate limit is not in force", n, calls)
	}
}

func TestConflictOnTheSameAssignmentIsRetryable(t *testing.T) {
	// The emulator's clock stands still, so the create stays IN_PROGRESS
	// until the test advances it: no window for a loaded machine to miss.
	// The test waits for the emulator to have recorded the operation
	// (InFlight), not for the call to arrive (Calls counts a call before
	// the operation exists, and a revoke in between found nothing to
	// conflict with).
	clk := clock.NewFake(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	em, p := setupWith(t, emulator.Options{Delay: time.Minute, Now: clk.Now}, aws.Config{PollInterval: 5 * time.Millisecond})
	a := assignment("ReadOnlyAccess", "u-conflict")
	waitInFlight := func(n int) {
		t.Helper()
		for i := 0; em.InFlight() != n; i++ {
			if i == 30000 {
				t.Fatalf("the emulator never had %d operation(s) in progress", n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	done := make(chan error, 1)
	go func() { done <- grant(context.Background(), p, a) }()
	waitInFlight(1)
	err := revoke(context.Background(), p, a)
	if err == nil || drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "ConflictException") {
		t.Fatalf("revoke during the grant: %v; want a retryable ConflictException", err)
	}
	clk.Advance(time.Minute)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	go func() { done <- revoke(context.Background(), p, a) }()
	waitInFlight(1)
	clk.Advance(time.Minute)
	if err := <-done; err != nil {
		t.Fatalf("retried revoke: %v", err)
	}
	if em.HasAssignment(account, "ReadOnlyAccess", uid("u-conflict")) {
		t.Fatal("assignment left after the retried revoke")
	}
}

func TestSessionDurations(t *testing.T) {
	opts := emulator.Options{PermissionSets: map[string]time.Duration{
		"ReadOnlyAccess": 12 * time.Hour, "Breakglass": 30 * time.Minute, "Ops": 90 * time.Minute,
	}}
	em, p := setupWith(t, opts, aws.Config{})
	got, err := p.SessionDurations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"ReadOnlyAccess": 12 * time.Hour, "Breakglass": 30 * time.Minute, "Ops": 90 * time.Minute}
	if len(got) != len(want) {
		t.Fatalf("SessionDurations = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	em.Fail(emulator.OpDescribePermissionSet, emulator.Fault{Code: "AccessDeniedException"})
	if _, err := p.SessionDurations(context.Background()); !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "DescribePermissionSet permission set") {
		t.Fatalf("denied: %v", err)
	}
}

func TestListAssignmentsReadsEveryPage(t *testing.T) {
	em, p := setupWith(t, emulator.Options{}, aws.Config{MaxTPS: -1})
	const other = "210987654321"
	for i := range 250 {
		if err := em.AddAssignment(account, "ReadOnlyAccess", uid(fmt.Sprintf("u-%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range []struct{ acct, ps, user string }{
		{account, "AdministratorAccess", "u-admin"}, {other, "PowerUserAccess", "u-power"}, {"333333333333", "ReadOnlyAccess", "u-elsewhere"},
	} {
		if err := em.AddAssignment(x.acct, x.ps, uid(x.user)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := p.ListAssignments(context.Background(), []string{other, account})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 252 {
		t.Fatalf("%d assignments, want 252 (the account outside the list left out)", len(got))
	}
	want := []drawbridge.Assignment{
		{Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: other, Role: "PowerUserAccess"}, PrincipalRef: uid("u-power")},
		{Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: account, Role: "AdministratorAccess"}, PrincipalRef: uid("u-admin")},
		{Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: account, Role: "ReadOnlyAccess"}, PrincipalRef: uid("u-000")},
	}
	if !slices.Equal(got[:3], want) || got[251].PrincipalRef != uid("u-249") {
		t.Fatalf("first assignments %v, last %v", got[:3], got[251])
	}
	// 2 accounts × 3 permission sets, plus 2 more pages for the 250.
	if n := em.Calls(emulator.OpListAccountAssignments); n != 8 {
		t.Errorf("%d list calls, want 8", n)
	}
	if _, err := p.ListAssignments(context.Background(), []string{"nope"}); drawbridge.ErrorCode(err) != drawbridge.EINVALID {
		t.Errorf("malformed account: %v", err)
	}
}
