// Package grantbench measures what must not grow with the number of ACTIVE
// grants in the store (issue 14 item 3): the expiry engine's wake-up, a
// /metrics count, a reconciliation pass (time and peak live heap), and the
// built server's time to ready, resident memory and submit → ACTIVE
// throughput, each at 0, 100,000 and 1,000,000 ACTIVE grants. Load fills a
// store with N ACTIVE grants in seconds; `make bench-grants` runs the full
// sizes and docs/benchmarks.md has the figures.
package grantbench

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/auditbench"
)

// Shape of the grants: spread over auditbench's 300 accounts and 25
// permission sets (none of them in examples/drawbridge.yaml, so a server
// started on the store has nothing of them to reconcile with its
// emulator), one person per grant, expiring between one and nine hours
// after now so that nothing falls due while a benchmark runs.
const (
	Accounts       = auditbench.Accounts
	PermissionSets = auditbench.PermissionSets
)

// Principal is the Identity Store id of the i-th grant's person.
func Principal(i int) string { return fmt.Sprintf("9067e8a1b2-a1b2c3d4-0000-4000-8000-%012d", i) }

// Grant returns the i-th of n ACTIVE grants, activated before now.
func Grant(i, n int, now time.Time) *drawbridge.Request {
	now = now.UTC().Truncate(time.Millisecond)
	activated := now.Add(-time.Hour + time.Duration(i)*time.Hour/time.Duration(max(n, 1)))
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(activated.UnixMilli())<<16|0x7000|uint64(i&0xfff))
	binary.BigEndian.PutUint64(b[8:], uint64(i)|2<<62)
	return &drawbridge.Request{
		ID:        drawbridge.RequestIDPrefix + hex.EncodeToString(b[:]),
		Requester: auditbench.Requester(i % auditbench.Requesters),
		Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: auditbench.Account(i % Accounts),
			Role: auditbench.PermissionSet(i % PermissionSets)},
		Duration: 9 * time.Hour, Reason: "grantbench", Channel: drawbridge.ChannelAPI, State: drawbridge.StateActive,
		Decision:  drawbridge.Decision{Effect: drawbridge.EffectAllow, Rule: "grantbench", Reason: "allowed by grantbench"},
		CreatedAt: activated.Add(-time.Second), DecidedAt: activated.Add(-time.Second),
		ProvisionStartedAt: activated.Add(-time.Second), ActivatedAt: activated,
		ExpiresAt:    activated.Add(2*time.Hour + time.Duration(i%(8*3600))*time.Second),
		PrincipalRef: Principal(i), Version: 3,
	}
}

// Load creates the SQLite store at path (migrated) holding n ACTIVE grants.
func Load(ctx context.Context, path string, n int, now time.Time) (auditbench.LoadStats, error) {
	i := 0
	return auditbench.LoadFrom(ctx, path, n, func() *drawbridge.Request {
		r := Grant(i, n, now)
		i++
		return r
	})
}

// Lister is the provider side of a reconciliation benchmark: it holds
// exactly the assignments of the n grants Load wrote, and lists one
// resource's at a time without keeping them (an AssignmentLister).
type Lister struct {
	N   int
	Now time.Time
	// OnList, when set, runs at the start of every listing.
	OnList func()
}

// ListAssignments returns the assignments of the given accounts.
func (l *Lister) ListAssignments(_ context.Context, resources []string) ([]drawbridge.Assignment, error) {
	if l.OnList != nil {
		l.OnList()
	}
	var out []drawbridge.Assignment
	for _, res := range resources {
		a := -1
		for k := range Accounts {
			if auditbench.Account(k) == res {
				a = k
			}
		}
		if a < 0 {
			continue
		}
		for i := a; i < l.N; i += Accounts {
			g := Grant(i, l.N, l.Now)
			out = append(out, drawbridge.Assignment{Entitlement: g.Entitlement, PrincipalRef: g.PrincipalRef})
		}
	}
	return out, nil
}
