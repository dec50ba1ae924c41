package outbound_test

import (
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/outbound"
)

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"example.com": false, "10.0.0.1": false, "": false, "localhost.example.com": false,
	} {
		if got := outbound.Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		h    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"9999999", outbound.MaxRetryAfter, true},
		{"-5", 0, false},
		{"Mon, 30 Nov 2026 12:01:30 GMT", 90 * time.Second, true},
		{"Mon, 30 Nov 2026 11:00:00 GMT", 0, true},
		{"soon", 0, false},
	}
	for _, c := range cases {
		got, ok := outbound.RetryAfter(c.h, now)
		if got != c.want || ok != c.ok {
			t.Errorf("RetryAfter(%q) = %s, %v; want %s, %v", c.h, got, ok, c.want, c.ok)
		}
	}
}
