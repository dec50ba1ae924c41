package aws

import (
	"sync"
	"time"
)

// negativeTTL caps how long a "not found" answer is reused, so that a person
// or account added in AWS becomes usable within a minute even with a long
// cache TTL.
const negativeTTL = time.Minute

// ttlCache remembers values, and "not found" errors, for a while. A
// negative TTL disables it.
type ttlCache[K comparable, V any] struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[K]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v   V
	err error
	exp time.Time
}

func newTTLCache[K comparable, V any](ttl time.Duration, now func() time.Time) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, now: now, m: map[K]cacheEntry[V]{}}
}

// get returns the fresh entry for k, if any.
func (c *ttlCache[K, V]) get(k K) (v V, err error, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !c.now().Before(e.exp) {
		return v, nil, false
	}
	return e.v, e.err, true
}

// put stores a value, or a not-found error for at most negativeTTL.
func (c *ttlCache[K, V]) put(k K, v V, notFound error) {
	if c.ttl < 0 {
		return
	}
	ttl := c.ttl
	if notFound != nil {
		ttl = min(ttl, negativeTTL)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	// Drop expired entries now and then, so that the map stays as large
	// as the set of people (or accounts) seen within one TTL.
	if len(c.m) >= 1024 && len(c.m)%1024 == 0 {
		for k, e := range c.m {
			if !now.Before(e.exp) {
				delete(c.m, k)
			}
		}
	}
	c.m[k] = cacheEntry[V]{v: v, err: notFound, exp: now.Add(ttl)}
}
