package slack_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/slack"
)

// Slack's published signing example
// (../shared/reference/slack-signing-example.txt) verifies with the clock
// at its timestamp.
const (
	vectorSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	vectorTS     = "1531420618"
	vectorSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	vectorBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)

func TestPublishedVector(t *testing.T) {
	at := time.Unix(1531420618, 0)
	v := &slack.Verifier{Secrets: []string{vectorSecret}, Clock: clock.NewFake(at)}
	if err := v.Verify(context.Background(), headers(vectorTS, vectorSig), []byte(vectorBody)); err != nil {
		t.Fatalf("published example refused: %v", err)
	}
	if got := slack.SignatureHeader(vectorSecret, vectorTS, []byte(vectorBody)); got != vectorSig {
		t.Fatalf("SignatureHeader = %s", got)
	}
	// The same example with a real clock is years old.
	v.Clock = clock.Real{}
	if reason(v.Verify(context.Background(), headers(vectorTS, vectorSig), []byte(vectorBody))) != slack.RejectStale {
		t.Fatal("the published example was accepted with today's clock")
	}
}

func headers(ts, sig string) http.Header {
	h := http.Header{}
	if ts != "" {
		h.Set("X-Slack-Request-Timestamp", ts)
	}
	if sig != "" {
		h.Set("X-Slack-Signature", sig)
	}
	return h
}

func reason(err error) string {
	var r *slack.Rejection
	if errors.As(err, &r) {
		return r.Reason
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return ""
}

// The window is exact: 300 s either way is accepted, 301 s refused.
func TestWindowAndForgeries(t *testing.T) {
	at := time.Unix(1531420618, 0)
	body := []byte(vectorBody)
	for _, tc := range []struct {
		name    string
		offset  time.Duration
		ts, sig string
		body    []byte
		secrets []string
		want    string
	}{
		{"now", 0, vectorTS, vectorSig, body, nil, ""},
		{"300s late", 300 * time.Second, vectorTS, vectorSig, body, nil, ""},
		{"300s early", -300 * time.Second, vectorTS, vectorSig, body, nil, ""},
		{"301s late", 301 * time.Second, vectorTS, vectorSig, body, nil, slack.RejectStale},
		{"301s early", -301 * time.Second, vectorTS, vectorSig, body, nil, slack.RejectStale},
		{"tampered body", 0, vectorTS, vectorSig, []byte(strings.Replace(vectorBody, "text=", "text=x", 1)), nil, slack.RejectBadSignature},
		{"forged signature", 0, vectorTS, "v0=" + strings.Repeat("ab", 32), body, nil, slack.RejectBadSignature},
		{"wrong secret", 0, vectorTS, slack.SignatureHeader("another", vectorTS, body), body, nil, slack.RejectBadSignature},
		{"other version", 0, vectorTS, "v1=" + vectorSig[3:], body, nil, slack.RejectBadSignature},
		{"short signature", 0, vectorTS, vectorSig[:40], body, nil, slack.RejectBadSignature},
		{"timestamp moved", 0, "1531420619", vectorSig, body, nil, slack.RejectBadSignature},
		{"signed timestamp", 0, "+1531420618", vectorSig, body, nil, slack.RejectBadTimestamp},
		{"no timestamp", 0, "", vectorSig, body, nil, slack.RejectMissingHeaders},
		{"no signature", 0, vectorTS, "", body, nil, slack.RejectMissingHeaders},
		{"rotated secret", 0, vectorTS, vectorSig, body, []string{"next-secret", vectorSecret}, ""},
	} {
		secrets := tc.secrets
		if secrets == nil {
			secrets = []string{vectorSecret}
		}
		v := &slack.Verifier{Secrets: secrets, Clock: clock.NewFake(at.Add(tc.offset))}
		err := v.Verify(context.Background(), headers(tc.ts, tc.sig), tc.body)
		if got := reason(err); got != tc.want {
			t.Errorf("%s: %q (%v), want %q", tc.name, got, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), vectorSig[3:]) {
			t.Errorf("%s: the message echoes the expected signature: %v", tc.name, err)
		}
	}
}

// A replay within the window is refused, remembered by the guard.
func TestReplay(t *testing.T) {
	at := time.Unix(1531420618, 0)
	mem := &memGuard{used: map[string]time.Time{}}
	v := &slack.Verifier{Secrets: []string{vectorSecret}, Clock: clock.NewFake(at), Replay: mem}
	if err := v.Verify(context.Background(), headers(vectorTS, vectorSig), []byte(vectorBody)); err != nil {
		t.Fatal(err)
	}
	if got := reason(v.Verify(context.Background(), headers(vectorTS, vectorSig), []byte(vectorBody))); got != slack.RejectReplay {
		t.Fatalf("replay: %q", got)
	}
	if exp := mem.used["slack:"+vectorSig[3:]]; !exp.Equal(at.Add(301 * time.Second)) {
		t.Fatalf("remembered until %s, want the end of the window", exp)
	}
}

type memGuard struct{ used map[string]time.Time }

func (m *memGuard) FirstUse(_ context.Context, key string, now, until time.Time) (bool, error) {
	if exp, ok := m.used[key]; ok && now.Before(exp) {
		return false, nil
	}
	m.used[key] = until
	return true, nil
}
