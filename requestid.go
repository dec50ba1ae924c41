package drawbridge

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Request ids sort like their creation times: a UUIDv7 in lowercase hex
// begins with 48 bits of Unix milliseconds. A store uses that to answer a
// window of creation times (RequestFilter.CreatedFrom/CreatedTo) by
// reading a range of ids, newest first, instead of every newer row. The
// id's clock and CreatedAt are not the same reading (the id is taken from
// the wall clock, CreatedAt from the broker's clock, a fake one in tests;
// an imported or hand-written id may carry no time at all), so a store
// records the largest difference it has stored, its skew, and widens the
// range by it: the range is then a superset of the window, never a subset,
// and CreatedAt still decides.

// NoIDSkew is the skew of an id that carries no creation time: a store
// holding one cannot bound windows by id.
const NoIDSkew = math.MaxInt64

// maxBoundSkew is the largest skew, in milliseconds, that still bounds a
// window (about 35 years); beyond it the range would be the whole table.
const maxBoundSkew = 1 << 40

// RequestIDSkew returns how far, in milliseconds, the time id carries is
// from created: NoIDSkew when id is not a request id.
func RequestIDSkew(id string, created time.Time) int64 {
	if !ValidRequestID(id) {
		return NoIDSkew
	}
	ms, err := strconv.ParseInt(id[len(RequestIDPrefix):len(RequestIDPrefix)+12], 16, 64)
	if err != nil {
		return NoIDSkew
	}
	d := created.UnixMilli() - ms
	if d < 0 {
		d = -d
	}
	return d
}

// RequestIDRange returns the range of ids [lo, hi) that holds every
// request created in [from, to) when no stored id is more than skew
// milliseconds from its creation time. An empty lo or hi is no bound; ok
// is false when skew leaves nothing to bound.
func RequestIDRange(from, to time.Time, skew int64) (lo, hi string, ok bool) {
	if skew < 0 || skew > maxBoundSkew || from.IsZero() && to.IsZero() {
		return "", "", false
	}
	// One more millisecond each way: SQL's integer division truncates
	// where UnixMilli floors, for times before 1970.
	slack := skew + 1
	if !from.IsZero() {
		if ms := from.UnixMilli() - slack; ms > 0 {
			lo = requestIDFloor(ms)
		}
	}
	if !to.IsZero() {
		// created < to, so the creation millisecond is at most to's and
		// the id's at most skew after it: every id sorts below the first
		// id of the millisecond after that.
		if ms := to.UnixMilli() + slack + 1; ms < 1<<48 {
			hi = requestIDFloor(max(0, ms))
		}
	}
	return lo, hi, true
}

// requestIDFloor is the smallest request id whose time is ms: every id of
// that millisecond or later sorts at or after it.
func requestIDFloor(ms int64) string {
	return fmt.Sprintf("%s%012x", RequestIDPrefix, min(ms, 1<<48-1))
}
