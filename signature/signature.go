// Package signature signs and verifies the bodies Drawbridge sends to
// webhooks (the webhook provider's grant and revoke events, the webhook
// notifier's notifications) with the header
//
//	Drawbridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">[,v1=…]
//
// One v1 value is sent per configured secret, so a receiver can move to a
// new secret without downtime: the sender signs with the old and the new
// secret while receivers switch, then drops the old one. A receiver accepts
// the body when any v1 value matches any secret it knows and the timestamp
// is recent (the timestamp is inside the MAC, so a replay cannot refresh it).
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header is the name of the HTTP header carrying the signature.
const Header = "Drawbridge-Signature"

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock before the body is refused as a possible replay.
const DefaultTolerance = 5 * time.Minute

// Sign returns the header value for body sent at t, with one v1 value per
// secret, in the order given. It panics on no secrets: a sender without a
// secret is a configuration error that config validation refuses first.
func Sign(body []byte, t time.Time, secrets ...[]byte) string {
	if len(secrets) == 0 {
		panic("signature: Sign needs at least one secret")
	}
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, s := range secrets {
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(mac(s, ts, body)))
	}
	return b.String()
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify, distinguishable with errors.Is.
var (
	ErrMalformed = errors.New("malformed " + Header + " header")
	ErrStale     = errors.New("signature timestamp outside the tolerance")
	ErrMismatch  = errors.New("no signature matches a known secret")
)

// Verify checks header against body: it must carry a timestamp within
// tolerance of now and at least one v1 value that is the MAC of
// "t.body" under one of secrets. Unknown schemes (v0=, v2=) are ignored, so
// a sender may add a new scheme before receivers understand it.
func Verify(header string, body []byte, now time.Time, tolerance time.Duration, secrets ...[]byte) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: %q is not key=value", ErrMalformed, part)
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: two timestamps", ErrMalformed)
			}
			ts = v
		case "v1":
			s, err := hex.DecodeString(v)
			if err != nil || len(s) != sha256.Size {
				return fmt.Errorf("%w: v1 is not a hex SHA-256 MAC", ErrMalformed)
			}
			sigs = append(sigs, s)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<unix>,v1=<hex>", ErrMalformed)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: t=%q is not unix seconds", ErrMalformed, ts)
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, now %s (tolerance %s)", ErrStale,
			time.Unix(unix, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), tolerance)
	}
	for _, secret := range secrets {
		want := mac(secret, ts, body)
		for _, s := range sigs {
			if hmac.Equal(s, want) {
				return nil
			}
		}
	}
	return ErrMismatch
}
