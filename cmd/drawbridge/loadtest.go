package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/config"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
	"github.com/spf13/cobra"
)

// loadtestCmd measures submit → ACTIVE over HTTP for auto-allowed
// requests: the real server (HTTP, auth, broker, SQLite, AWS provider)
// against the in-process emulator answering SUCCEEDED at once, with the
// load generator in the same process. `make bench-http` runs it.
func loadtestCmd(g *globals) *cobra.Command {
	var n, workers int
	var cpuprofile string
	c := &cobra.Command{
		Use:    "loadtest [--requests N] [--concurrency C]",
		Short:  "Measure submit→ACTIVE throughput and latency over HTTP (SQLite, emulator with no delay)",
		Hidden: true,
		Args:   exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if n < 1 || workers < 1 {
				return usageError("--requests and --concurrency must be positive")
			}
			if cpuprofile != "" {
				f, err := os.Create(cpuprofile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			return runLoadtest(c.Context(), g, n, workers)
		},
	}
	c.Flags().IntVar(&n, "requests", 2000, "requests to submit")
	c.Flags().IntVar(&workers, "concurrency", 32, "concurrent clients")
	c.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the run to FILE (go tool pprof)")
	return c
}

// loadUsers is how many engineers the load test spreads requests over.
const loadUsers = 500

func runLoadtest(ctx context.Context, g *globals, n, workers int) error {
	dir, err := os.MkdirTemp("", "drawbridge-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	emu, cfgPath, err := startSandbox(dir, 0)
	if err != nil {
		return err
	}
	defer emu.Close()
	// Many engineers, so that most grants have an assignment of their own
	// as in real use (overlapping grants of one assignment are rare).
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return err
	}
	var users strings.Builder
	for i := range loadUsers {
		fmt.Fprintf(&users, "    - {email: eng%03d@example.com, aws_user_id: 9067e8a1b2-a1b2c3d4-0000-4000-8000-%012d, groups: [engineers]}\n", i, i)
	}
	data = []byte(strings.Replace(string(data), "directory:\n  users:\n", "directory:\n  users:\n"+users.String(), 1))
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	cfg.Server.Listen = "127.0.0.1:0"
	serverCtx, stop := context.WithCancel(ctx)
	defer stop()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	quiet := slog.New(slog.NewJSONHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() {
		done <- runServer(serverCtx, cfg, quiet, serverHooks{
			setup: func(a *app) error { return insertDevTokens(ctx, a) },
			ready: func(_ *app, addr net.Addr) { ready <- addr.String() },
			// The target is for an instant, uncapped provider; AWS's real
			// quota (20 calls/s) is measured by the revocation-lag harness.
			uncappedProvider: true,
		})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		return err
	}

	accounts := []string{"123456789012", "111122223333"}
	client := dbhttp.NewClient(addr, "dbt_dev_admin")
	lat := make([]time.Duration, n)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				r, err := client.Submit(ctx, dbhttp.CreateRequest{Requester: fmt.Sprintf("eng%03d@example.com", i%loadUsers),
					AccountID:     accounts[(i/loadUsers)%2],
					PermissionSet: "ReadOnlyAccess", Duration: "1h", Reason: "load test"})
				lat[i] = time.Since(t0)
				if err == nil && r.State != drawbridge.StateActive {
					err = fmt.Errorf("request %s is %s: %s", r.ID, r.State, r.LastError)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stop()
	if err := <-done; err != nil {
		return err
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Fprintf(g.stdout, "submit→ACTIVE over HTTP, SQLite, emulator delay 0: %d requests, %d concurrent clients\n", n, workers)
	fmt.Fprintf(g.stdout, "throughput %.0f requests/s (%s total)\n", float64(n)/elapsed.Seconds(), elapsed.Round(time.Millisecond))
	fmt.Fprintf(g.stdout, "latency p50 %s  p90 %s  p99 %s  max %s\n", q(0.50).Round(10*time.Microsecond),
		q(0.90).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d requests did not end ACTIVE; first: %v", f, n, firstErr.Load())
	}
	return nil
}
