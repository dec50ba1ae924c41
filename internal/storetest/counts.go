package storetest

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
)

// CountRequests answers from counts the store keeps as it writes (a scrape
// must not count the whole table), so they must follow every write: creates
// and updates through two handles at once, state changes, revocation
// attempts that start and stop failing, rewrites that change nothing and
// lost races. After a random walk the counts equal a recount of every row.
func testCountRequestsFollowWrites(t *testing.T, s Stores) {
	ctx := context.Background()
	other := s.Reopen(t)
	handles := []drawbridge.Backend{s.Backend, other}
	states := []drawbridge.State{drawbridge.StatePendingApproval, drawbridge.StateApproved, drawbridge.StateProvisioning,
		drawbridge.StateActive, drawbridge.StateRevoking, drawbridge.StateExpired, drawbridge.StateRevoked, drawbridge.StateFailed}
	channels := []drawbridge.Channel{drawbridge.ChannelCLI, drawbridge.ChannelAPI, drawbridge.ChannelSlack}
	const writers, steps = 4, 60
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 14))
			var mine []*drawbridge.Request
			for i := range steps {
				h := handles[i%2]
				if len(mine) == 0 || rng.IntN(3) == 0 {
					r := NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
					r.State, r.Channel = states[rng.IntN(len(states))], channels[rng.IntN(len(channels))]
					if err := h.CreateRequest(ctx, r); err != nil {
						errs <- err
						return
					}
					mine = append(mine, r)
					continue
				}
				r := mine[rng.IntN(len(mine))]
				if rng.IntN(8) == 0 {
					// A lost race writes nothing, counts included.
					stale := *r
					stale.Version--
					stale.State = drawbridge.StateCancelled
					if err := h.UpdateRequest(ctx, &stale); !drawbridge.IsStale(err) {
						errs <- err
						return
					}
				}
				switch rng.IntN(3) {
				case 0:
					r.State = states[rng.IntN(len(states))]
				case 1:
					r.RevokeAttempts = rng.IntN(2) * (1 + rng.IntN(3))
				}
				if err := h.UpdateRequest(ctx, r); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	recount := map[[2]string]*drawbridge.RequestCount{}
	f := drawbridge.RequestFilter{Limit: drawbridge.MaxListLimit}
	for {
		rs, err := s.ListRequests(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			k := [2]string{string(r.State), string(r.Channel)}
			if recount[k] == nil {
				recount[k] = &drawbridge.RequestCount{State: r.State, Channel: r.Channel}
			}
			recount[k].N++
			if r.RevokeAttempts > 0 {
				recount[k].Failing++
			}
		}
		if len(rs) < f.Limit {
			break
		}
		f.Cursor = rs[len(rs)-1].ID
	}
	var want []drawbridge.RequestCount
	for _, c := range recount {
		want = append(want, *c)
	}
	byKey := func(a, b drawbridge.RequestCount) int {
		return strings.Compare(string(a.State)+" "+string(a.Channel), string(b.State)+" "+string(b.Channel))
	}
	slices.SortFunc(want, byKey)
	for _, h := range handles {
		got, err := h.CountRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, byKey)
		if !slices.Equal(got, want) {
			t.Fatalf("CountRequests = %+v\nrecount      %+v", got, want)
		}
	}
}
