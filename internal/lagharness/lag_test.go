package lagharness

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"
)

// Sizes: CI runs the defaults (1,000 grants within 5 s, quota 200/s: the
// bound 2N/Q = 10 s exceeds the window, so the quota decides the span);
// `make bench-lag` runs -lag.n 10000 -lag.window 60s -lag.q 200.
var (
	lagN      = flag.Int("lag.n", 1000, "grants expiring within the window")
	lagWindow = flag.Duration("lag.window", 5*time.Second, "window the expiries are spread over")
	lagQ      = flag.Float64("lag.q", 200, "provider quota (calls/s) for the capped run")
	// 100,000 grants within ten minutes take longer than the default to seed
	// and drain: the run gets -lag.timeout (and go test a -timeout above it).
	lagDirect  = flag.Bool("lag.direct", false, "seed the grants straight into the store and the emulator (Options.Direct)")
	lagTimeout = flag.Duration("lag.timeout", 15*time.Minute, "limit on one run, seeding included")
)

func TestRevocationLag(t *testing.T) {
	for _, q := range []float64{0, *lagQ} {
		name := "uncapped"
		if q > 0 {
			name = fmt.Sprintf("quota-%.0f", q)
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), *lagTimeout)
			defer cancel()
			res, err := Run(ctx, Options{N: *lagN, Window: *lagWindow, Q: q, Dir: t.TempDir(), Logf: t.Logf, Direct: *lagDirect})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("N=%d window=%s Q=%v: lag min %s p50 %s p90 %s p99 %s p99.9 %s max %s; throughput %.0f/s; seeding %s",
				res.N, *lagWindow, q, res.Lags.Min, res.Lags.P50, res.Lags.P90, res.Lags.P99, res.Lags.P999, res.Lags.Max, res.Throughput, res.SeedTime.Round(time.Millisecond))
			if q > 0 {
				t.Logf("  span %s vs bound 2N/Q %s: ratio %.3f", res.Span.Round(time.Millisecond), res.Bound, res.Ratio)
			}
			t.Logf("  fixed 60 s janitor: p50 %s p99 %s max %s", res.Fixed60.P50.Round(time.Millisecond), res.Fixed60.P99.Round(time.Millisecond), res.Fixed60.Max.Round(time.Millisecond))
			t.Logf("  fixed 300 s janitor: p50 %s p99 %s max %s", res.Fixed300.P50.Round(time.Millisecond), res.Fixed300.P99.Round(time.Millisecond), res.Fixed300.Max.Round(time.Millisecond))
		})
	}
}

var revokeAllN = flag.Int("revokeall.n", 200, "grants revoked at once by TestRevokeAllAtScale")

// Emergency revoke-all against quotas scaled ×10 (200 calls/s, 100 in
// flight): every grant ends REVOKED and no assignment is left. The issue's
// figure (1,000 grants within 60 s) comes from -revokeall.n 1000.
func TestRevokeAllAtScale(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := RunRevokeAll(ctx, *revokeAllN, 10, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 {
		t.Fatalf("%d of %d revocations failed", res.Failed, res.N)
	}
	t.Logf("revoke --all of %d grants at quotas ×10: %s (seeding took %s)", res.N, res.Duration.Round(time.Millisecond), res.Seed.Round(time.Millisecond))
}
