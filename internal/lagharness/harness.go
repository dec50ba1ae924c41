// Package lagharness measures revocation lag — the time from a grant's
// expires_at to the provider's confirmation of the deletion — for many
// grants expiring within one window, against the IAM Identity Center
// emulator through the real SDK client, with and without a provider quota.
// Beside it, it computes what a fixed-period janitor (the 1- and 5-minute
// schedules other brokers use) would give for the same expiries, on a
// virtual clock. `make bench-lag` runs it; docs/benchmarks.md has figures.
package lagharness

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/catalog"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/directory"
	"github.com/drawbridge-jit/drawbridge/expiry"
	"github.com/drawbridge-jit/drawbridge/policy"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// Options size one run.
type Options struct {
	N       int           // grants
	Window  time.Duration // expiries are spread evenly over this window
	Q       float64       // provider quota in calls/s shared by deletes and status calls; 0 = uncapped
	Workers int           // expiry engine workers
	Dir     string        // for the SQLite file
	// Direct seeds the ACTIVE grants by writing them to the store and their
	// assignments to the emulator, as the provisioning path leaves them,
	// instead of submitting each through the broker and the SDK: seconds
	// instead of tens of minutes for 100,000 grants on a loaded machine.
	// What is measured — the engine revoking them — is the same.
	Direct bool
	Logf   func(format string, args ...any)
}

// Lags summarises a distribution of revocation lags.
type Lags struct {
	Min, P50, P90, P99, P999, Max time.Duration
}

// Result is one run's figures.
type Result struct {
	N, Q int
	Lags Lags
	// Span is from the first expiry to the last confirmed deletion; Bound
	// is 2N/Q (a delete and a status call per grant under quota Q); Ratio
	// is Span/Bound (target ≤ 1.10). Zero when uncapped.
	Span, Bound time.Duration
	Ratio       float64
	// Throughput is revocations per second the engine sustained.
	Throughput float64
	// Fixed60 and Fixed300 are a fixed-period janitor's lags for the same
	// expiries and the same service rate (virtual clock).
	Fixed60, Fixed300 Lags
	SeedTime          time.Duration
}

const policyYAML = `version: 1
rules:
  - name: readonly
    match:
      provider: aws
      accounts: ["*"]
      permission_sets: [ReadOnlyAccess]
      requesters: ["*"]
    max_duration: 8h
    decision: allow
`

// Run seeds N ACTIVE grants through the broker (policy, store, the real
// AWS provider against the emulator), then runs the expiry engine on the
// real clock until every grant is EXPIRED, and measures.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Delay: time.Millisecond})
	if err != nil {
		return nil, err
	}
	defer emu.Close()
	store, err := sqlite.Open(ctx, filepath.Join(o.Dir, "lag.db"))
	if err != nil {
		return nil, err
	}
	defer store.Close()
	pol, err := policy.Parse("lag_rules.yaml", []byte(policyYAML))
	if err != nil {
		return nil, err
	}
	// N distinct (account, person) pairs: 100 people × N/100 accounts keeps
	// every ListAccountAssignments answer to a page or two.
	people := 100
	accounts := (o.N + people - 1) / people
	var users []directory.User
	for i := 0; i < people; i++ {
		users = append(users, directory.User{Email: fmt.Sprintf("user%03d@example.com", i), Identities: map[string]string{"aws": fmt.Sprintf("9067e8a1b2-a1b2c3d4-0000-4000-8000-%012d", i)}})
	}
	var accts []catalog.Account
	for i := 0; i < accounts; i++ {
		accts = append(accts, catalog.Account{ID: fmt.Sprintf("%012d", 100000000000+i)})
	}
	dir := directory.NewStatic(users)
	cat := catalog.New(map[string]drawbridge.ProviderCatalog{"aws": catalog.NewAccounts(accts, []string{"ReadOnlyAccess"})}, "aws")
	seedProv, err := readOnlyProvider(ctx, emu, 5*time.Millisecond, -1, -1)
	if err != nil {
		return nil, err
	}
	tps := o.Q
	if tps == 0 {
		tps = -1
	}
	revProv, err := readOnlyProvider(ctx, emu, 5*time.Millisecond, tps, -1)
	if err != nil {
		return nil, err
	}

	// Seed on a frozen clock at start, with the first expiry an hour later,
	// so each grant's expires_at is exactly the planned one however long
	// seeding takes (it is slow under -race). The engine then runs on the
	// real clock shifted so that its "now" reaches the first expiry two
	// seconds after seeding ends: lags are differences of that clock's
	// readings, so the shift does not change them.
	start := time.Now().UTC()
	first := start.Add(time.Hour)
	frozen := clock.NewFake(start)
	seeder := broker.New(store, dir, cat, map[string]drawbridge.Provider{"aws": seedProv}, pol, frozen, nil)
	seedStart := time.Now()
	seedFn := seed
	if o.Direct {
		seedFn = func(ctx context.Context, _ *broker.Broker, o Options, accts []catalog.Account, users []directory.User, first, start time.Time) error {
			return seedDirect(ctx, store, emu, o, accts, users, first, start)
		}
	}
	if err := seedFn(ctx, seeder, o, accts, users, first, start); err != nil {
		return nil, err
	}
	res := &Result{N: o.N, Q: int(o.Q), SeedTime: time.Since(seedStart)}
	o.Logf("seeded %d ACTIVE grants in %s", o.N, res.SeedTime.Round(time.Millisecond))
	clk := shifted(first.Sub(time.Now().Add(2 * time.Second)))

	b := broker.New(store, dir, cat, map[string]drawbridge.Provider{"aws": revProv}, pol, clk, slog.New(slog.DiscardHandler))
	eng := expiry.New(b, 2*time.Second, o.Workers)
	var done atomic.Int64
	eng.OnStep = func(s broker.Step) {
		if s.Request.State == drawbridge.StateExpired {
			done.Add(1)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = eng.Run(runCtx) }()
	deadline := time.Now().Add(o.Window + 10*time.Minute)
	for done.Load() < int64(o.N) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if n := done.Load(); n < int64(o.N) {
		return nil, fmt.Errorf("only %d of %d grants EXPIRED before the deadline", n, o.N)
	}
	if left := len(emu.Assignments()); left != 0 {
		return nil, fmt.Errorf("%d assignments left in the emulator after every grant EXPIRED", left)
	}

	var expiries []time.Time
	var lags []time.Duration
	var lastEnd time.Time
	f := drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StateExpired}, Limit: 1000}
	for {
		rs, err := store.ListRequests(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			expiries = append(expiries, r.ExpiresAt)
			lags = append(lags, r.EndedAt.Sub(r.ExpiresAt))
			if r.EndedAt.After(lastEnd) {
				lastEnd = r.EndedAt
			}
		}
		if len(rs) < f.Limit {
			break
		}
		f.Cursor = rs[len(rs)-1].ID
	}
	res.Lags = summarise(lags)
	res.Span = lastEnd.Sub(first)
	busy := res.Span
	if busy < o.Window {
		busy = o.Window
	}
	res.Throughput = float64(o.N) / busy.Seconds()
	if o.Q > 0 {
		res.Bound = time.Duration(2 * float64(o.N) / o.Q * float64(time.Second))
		res.Ratio = res.Span.Seconds() / res.Bound.Seconds()
	}
	// The fixed-period janitor is given the benefit of the doubt: uncapped,
	// it revokes instantly once it runs; under the quota, at the quota's
	// Q/2 revocations per second like Drawbridge. So the comparison is
	// about when work starts, never about how fast it runs.
	rate := math.Inf(1)
	if o.Q > 0 {
		rate = o.Q / 2
	}
	res.Fixed60 = fixedPeriod(expiries, first, time.Minute, rate)
	res.Fixed300 = fixedPeriod(expiries, first, 5*time.Minute, rate)
	return res, nil
}

// readOnlyProvider is the AWS provider the harnesses use: the emulator's
// ReadOnlyAccess permission set, the given status poll interval and
// quotas (negative = unlimited).
func readOnlyProvider(ctx context.Context, emu *emulator.Server, poll time.Duration, tps float64, inflight int) (*aws.Provider, error) {
	return aws.New(ctx, aws.Config{InstanceARN: emu.InstanceARN(), IdentityStoreID: emu.IdentityStoreID(),
		PermissionSets: map[string]string{"ReadOnlyAccess": emu.PermissionSetARN("ReadOnlyAccess")},
		Endpoint:       emu.URL(), PollInterval: poll, MaxTPS: tps, MaxInFlight: inflight})
}

func seed(ctx context.Context, b *broker.Broker, o Options, accts []catalog.Account, users []directory.User, first, start time.Time) error {
	jobs := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				expires := first.Add(time.Duration(int64(o.Window) * int64(i) / int64(o.N)))
				r, err := b.Submit(ctx, broker.SubmitInput{
					Requester:   users[i%len(users)].Email,
					Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: accts[i/len(users)].ID, Role: "ReadOnlyAccess"},
					Duration:    expires.Sub(start), Reason: "lag harness",
				}, drawbridge.Operator("harness"))
				if err == nil && r.State != drawbridge.StateActive {
					err = fmt.Errorf("seed %d: %s is %s (%s)", i, r.ID, r.State, r.LastError)
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := 0; i < o.N; i++ {
		select {
		case jobs <- i:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// seedDirect writes the grants seed would make: ACTIVE, the assignment
// created by the grant's own provisioning at start, expiring as planned.
func seedDirect(ctx context.Context, store drawbridge.Store, emu *emulator.Server, o Options, accts []catalog.Account, users []directory.User, first, start time.Time) error {
	jobs := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				u := users[i%len(users)]
				expires := first.Add(time.Duration(int64(o.Window) * int64(i) / int64(o.N)))
				r := &drawbridge.Request{ID: drawbridge.NewRequestID(), Requester: u.Email,
					Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: accts[i/len(users)].ID, Role: "ReadOnlyAccess"},
					Duration:    expires.Sub(start), Reason: "lag harness", Channel: drawbridge.ChannelCLI, State: drawbridge.StateActive,
					Decision:  drawbridge.Decision{Effect: drawbridge.EffectAllow, Rule: "readonly", Reason: "allowed by readonly"},
					CreatedAt: start, DecidedAt: start, ProvisionStartedAt: start, ActivatedAt: start, ExpiresAt: expires,
					PrincipalRef: u.Identities["aws"]}
				err := emu.AddAssignment(r.Resource, r.Role, r.PrincipalRef)
				if err == nil {
					err = store.CreateRequest(ctx, r, drawbridge.AuditEvent{Time: start, Actor: "harness", Action: "submit"},
						drawbridge.AuditEvent{Time: start, Actor: "drawbridge", Action: "activated"})
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := 0; i < o.N; i++ {
		select {
		case jobs <- i:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

func summarise(lags []time.Duration) Lags {
	if len(lags) == 0 {
		return Lags{}
	}
	s := append([]time.Duration(nil), lags...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	pick := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		if i < 0 {
			i = 0
		}
		return s[i]
	}
	return Lags{Min: s[0], P50: pick(0.50), P90: pick(0.90), P99: pick(0.99), P999: pick(0.999), Max: s[len(s)-1]}
}

// fixedPeriod simulates a janitor that runs every period and then revokes
// everything due, one after another at rate per second (+Inf: instantly). Where its schedule
// falls relative to the expiries is chance, so the lags are gathered over
// 100 evenly spaced phases of the schedule.
func fixedPeriod(expiries []time.Time, first time.Time, period time.Duration, rate float64) Lags {
	s := append([]time.Time(nil), expiries...)
	sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
	service := time.Duration(float64(time.Second) / rate) // 0 when rate is +Inf
	const phases = 100
	lags := make([]time.Duration, 0, len(s)*phases)
	for k := 0; k < phases; k++ {
		tick := first.Add(-period * time.Duration(k) / phases)
		var free time.Time
		for i := 0; i < len(s); {
			if free.Before(tick) {
				free = tick
			}
			for i < len(s) && !s[i].After(tick) {
				free = free.Add(service)
				lags = append(lags, free.Sub(s[i]))
				i++
			}
			tick = tick.Add(period)
		}
	}
	return summarise(lags)
}

// shifted is the real clock moved by a fixed offset.
type shifted time.Duration

func (s shifted) Now() time.Time                         { return time.Now().Add(time.Duration(s)).UTC() }
func (s shifted) After(d time.Duration) <-chan time.Time { return time.After(d) }
