// Package outbound holds the rules every adapter applies to the HTTP calls
// Drawbridge makes to other systems (webhook receivers, Microsoft Graph,
// Okta, notification receivers): which hosts may be reached over plain
// http, and how a server's "wait this long" answer is read. One copy, so
// the providers cannot drift apart on either.
package outbound

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Loopback reports whether host (a host name or IP, without a port) only
// reaches this machine: the one case where plain http is allowed, since
// nothing on it crosses a network.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MaxRetryAfter caps a Retry-After in seconds: a server cannot ask for
// more than a day (the core caps the wait further by its backoff).
const MaxRetryAfter = 24 * time.Hour

// RetryAfter parses a Retry-After header (RFC 9110: delay seconds, or an
// HTTP date) as a wait from now; ok is false when there is none.
func RetryAfter(h string, now time.Time) (wait time.Duration, ok bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil && s >= 0 {
		return time.Duration(min(s, int64(MaxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
