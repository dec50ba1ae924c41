package main

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkSubmitSeparateProcesses runs the measurement of
// docs/benchmarks.md (`make bench-http`) in small: the emulator, the
// server (with the AWS provider, then the instant one), the generator and
// the plain HTTP ceiling as processes of the built binary, and the SQLite
// ceiling. CI runs it once (-benchtime=1x) so that none of those paths
// rots; the figures come from `make bench-http`. It fails when a request
// does not end ACTIVE or a figure is missing.
func BenchmarkSubmitSeparateProcesses(b *testing.B) {
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		out, err := exec.CommandContext(ctx, binary, "loadtest", "--requests", "40", "--concurrency", "4", "--users", "10", "--rounds", "1").CombinedOutput()
		cancel()
		if err != nil {
			b.Fatalf("loadtest: %v\n%s", err, out)
		}
		for _, figure := range []string{"Drawbridge, AWS provider → emulator process", "Drawbridge, instant in-process provider",
			"ceiling: one fsync'd SQLite write transaction per request", "ceiling: plain net/http handler"} {
			m := regexp.MustCompile(regexp.QuoteMeta(figure) + `[^\n]*?\s(\d+) / \d+ / \d+\s`).FindSubmatch(out)
			if m == nil {
				b.Fatalf("no figure %q in\n%s", figure, out)
			}
			if rate, _ := strconv.Atoi(string(m[1])); rate <= 0 {
				b.Fatalf("%s: %d requests/s\n%s", figure, rate, out)
			}
			if strings.HasPrefix(figure, "Drawbridge, AWS") {
				rate, _ := strconv.Atoi(string(m[1]))
				b.ReportMetric(float64(rate), "submits/s")
			}
		}
	}
}
