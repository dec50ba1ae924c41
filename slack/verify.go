package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/clock"
)

// Window is how far a request's timestamp may be from the server's clock
// (Slack's own rule: five minutes).
const Window = 300 * time.Second

// Reasons a request is refused before anything reads it; each is a label
// of the rejection metric and the detail of the audit event.
const (
	RejectMissingHeaders = "missing_headers"
	RejectBadTimestamp   = "bad_timestamp"
	RejectStale          = "stale"
	RejectBadSignature   = "bad_signature"
	RejectReplay         = "replay"
	RejectTooLarge       = "too_large"
)

// Rejection is a request that failed verification. Its message is what
// the sender is told: it never says what the expected signature was.
type Rejection struct {
	Reason string
	Msg    string
}

func (r *Rejection) Error() string { return r.Msg }

// Verifier checks Slack's request signature: v0 = HMAC-SHA256 of
// "v0:{timestamp}:{raw body}" under the app's signing secret. It is ours
// rather than slack-go's because that one reads the wall clock (the window
// cannot be tested exactly) and keeps no memory of what it accepted:
// here the clock is injected and every accepted signature is remembered
// in the store until its window closes, so a captured request cannot be
// replayed to another replica or after a restart.
type Verifier struct {
	// Secrets are the signing secrets accepted: the app's, and during a
	// rotation the next one too.
	Secrets []string
	Clock   clock.Clock
	// Replay remembers accepted signatures.
	Replay drawbridge.ReplayGuard
}

// Verify checks the headers of a request whose raw body is body. A nil
// error means the request came from Slack within the window and was not
// seen before; otherwise the error is a *Rejection.
func (v *Verifier) Verify(ctx context.Context, h http.Header, body []byte) error {
	ts, sig := h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return &Rejection{RejectMissingHeaders, "missing X-Slack-Request-Timestamp or X-Slack-Signature"}
	}
	// Digits only: ParseInt alone would take a sign, and "+1531420618"
	// signs a different base string than the timestamp it means.
	if len(ts) > 12 || strings.Trim(ts, "0123456789") != "" {
		return &Rejection{RejectBadTimestamp, "X-Slack-Request-Timestamp is not a unix time"}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return &Rejection{RejectBadTimestamp, "X-Slack-Request-Timestamp is not a unix time"}
	}
	at := time.Unix(sec, 0)
	now := v.Clock.Now()
	if d := now.Sub(at); d > Window || d < -Window {
		return &Rejection{RejectStale, "X-Slack-Request-Timestamp is more than 5 minutes from the server's clock"}
	}
	got, ok := strings.CutPrefix(sig, "v0=")
	mac, err := hex.DecodeString(got)
	if !ok || err != nil || len(mac) != sha256.Size {
		return &Rejection{RejectBadSignature, "X-Slack-Signature is not a v0 signature"}
	}
	valid := false
	for _, secret := range v.Secrets {
		// Every secret is tried, so the time taken does not say which
		// one matched.
		if hmac.Equal(mac, Sign(secret, ts, body)) {
			valid = true
		}
	}
	if !valid {
		return &Rejection{RejectBadSignature, "the request signature does not match"}
	}
	if v.Replay != nil {
		// Remembered until the window of its timestamp closes: after that
		// the timestamp check refuses it anyway.
		fresh, err := v.Replay.FirstUse(ctx, "slack:"+got, now, at.Add(Window+time.Second))
		if err != nil {
			return fmt.Errorf("slack replay check: %w", err)
		}
		if !fresh {
			return &Rejection{RejectReplay, "this request was already received"}
		}
	}
	return nil
}

// Sign returns the v0 HMAC of a request: what X-Slack-Signature carries
// after "v0=", hex-encoded.
func Sign(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + timestamp + ":"))
	m.Write(body)
	return m.Sum(nil)
}

// SignatureHeader returns the X-Slack-Signature of body at timestamp
// (for drawbridge dev's examples and tests that speak as Slack).
func SignatureHeader(secret, timestamp string, body []byte) string {
	return "v0=" + hex.EncodeToString(Sign(secret, timestamp, body))
}
