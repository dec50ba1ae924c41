package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A replay guard remembers a key until it expires, in the store: a second
// handle (another replica, the server after a restart) refuses the key the
// first one recorded, and a key is usable again only once it expired.
func testReplayGuard(t *testing.T, s Stores) {
	ctx := context.Background()
	until := T0.Add(5 * time.Minute)
	first := func(b interface {
		FirstUse(context.Context, string, time.Time, time.Time) (bool, error)
	}, key string, now time.Time, want bool) {
		t.Helper()
		got, err := b.FirstUse(ctx, key, now, until)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("FirstUse(%q) at %s = %v, want %v", key, now.Format(time.TimeOnly), got, want)
		}
	}
	first(s, "slack:v0=aa", T0, true)
	first(s, "slack:v0=aa", T0.Add(time.Minute), false)
	first(s, "slack:v0=bb", T0, true)
	other := s.Reopen(t)
	first(other, "slack:v0=aa", T0.Add(4*time.Minute), false)
	// At its expiry the key is forgotten: whoever presents it again is
	// told it is unused (the verifier refuses such a stale request anyway).
	first(other, "slack:v0=aa", until, true)
}

// Of many concurrent first uses of one key through two handles, exactly
// one wins.
func testReplayGuardRace(t *testing.T, s Stores) {
	ctx := context.Background()
	handles := []interface {
		FirstUse(context.Context, string, time.Time, time.Time) (bool, error)
	}{s, s.Reopen(t)}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := handles[i%2].FirstUse(ctx, "slack:v0=race", T0, T0.Add(5*time.Minute))
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d of 16 concurrent first uses won, want exactly 1", n)
	}
}
