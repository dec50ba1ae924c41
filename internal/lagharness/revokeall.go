package lagharness

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/catalog"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/directory"
	"github.com/drawbridge-jit/drawbridge/policy"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// RevokeAllResult is one emergency revoke-all run.
type RevokeAllResult struct {
	N        int
	Seed     time.Duration // seeding N ACTIVE grants (not part of the figure)
	Duration time.Duration // revoke --all, until every grant is REVOKED
	Failed   int
}

// RunRevokeAll seeds N ACTIVE grants of one person (one per account)
// through the broker, then revokes them all at once with
// broker.RevokeAll, against an emulator enforcing AWS's quotas scaled by
// scale (20·scale calls/s, 10·scale operations in flight) with the
// provider configured to the same quotas, and times it.
func RunRevokeAll(ctx context.Context, n int, scale float64, dir string) (*RevokeAllResult, error) {
	tps, inflight := 20*scale, int(10*scale)
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Delay: 20 * time.Millisecond, RateLimit: tps, MaxInFlight: inflight})
	if err != nil {
		return nil, err
	}
	defer emu.Close()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "revokeall.db"))
	if err != nil {
		return nil, err
	}
	defer store.Close()
	pol, err := policy.Parse("rules.yaml", []byte(policyYAML))
	if err != nil {
		return nil, err
	}
	accts := make([]catalog.Account, n)
	for i := range accts {
		accts[i] = catalog.Account{ID: fmt.Sprintf("%012d", 200000000000+i)}
	}
	prov, err := readOnlyProvider(ctx, emu, 20*time.Millisecond, tps, inflight)
	if err != nil {
		return nil, err
	}
	b := broker.New(store,
		directory.NewStatic([]directory.User{{Email: "oncall@example.com", Identities: map[string]string{"aws": "9067e8a1b2-a1b2c3d4-0000-4000-8000-0000000a11ce"}}}),
		catalog.New(map[string]drawbridge.ProviderCatalog{"aws": catalog.NewAccounts(accts, []string{"ReadOnlyAccess"})}, "aws"),
		map[string]drawbridge.Provider{"aws": prov}, pol, clock.Real{}, nil)
	res := &RevokeAllResult{N: n}
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var seedErr error
	sem := make(chan struct{}, 16)
	for i := range accts {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r, err := b.Submit(ctx, broker.SubmitInput{Requester: "oncall@example.com",
				Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: accts[i].ID, Role: "ReadOnlyAccess"},
				Duration:    time.Hour, Reason: "revoke-all harness"}, drawbridge.Caller{Roles: []drawbridge.Role{drawbridge.RoleAdmin}})
			if err == nil && r.State != drawbridge.StateActive {
				err = fmt.Errorf("seed %d: %s is %s (%s)", i, r.ID, r.State, r.LastError)
			}
			if err != nil {
				mu.Lock()
				seedErr = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if seedErr != nil {
		return nil, seedErr
	}
	res.Seed = time.Since(start)
	start = time.Now()
	steps, err := b.RevokeAll(ctx, broker.RevokeScope{Requester: "oncall@example.com"}, "emergency", 0, drawbridge.Caller{Principal: "operator:harness", Roles: []drawbridge.Role{drawbridge.RoleAdmin}})
	if err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	for _, s := range steps {
		if s.Err != nil || s.Request.State != drawbridge.StateRevoked {
			res.Failed++
		}
	}
	if len(steps) != n {
		return nil, fmt.Errorf("revoke --all handled %d grants, want %d", len(steps), n)
	}
	if left := len(emu.Assignments()); left != 0 {
		return nil, fmt.Errorf("%d assignments left after revoke --all", left)
	}
	return res, nil
}
