package signature_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/signature"
)

var (
	at   = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	body = []byte(`{"type":"grant","request_id":"req_1"}`)
)

// The header is computable by a receiver from the documented formula alone:
// this is the same computation a receiver in another language does.
func TestSignMatchesDocumentedFormula(t *testing.T) {
	h := signature.Sign(body, at, []byte("s3cret"))
	m := hmac.New(sha256.New, []byte("s3cret"))
	fmt.Fprintf(m, "%d.%s", at.Unix(), body)
	want := fmt.Sprintf("t=%d,v1=%s", at.Unix(), hex.EncodeToString(m.Sum(nil)))
	if h != want {
		t.Fatalf("Sign = %q, want %q", h, want)
	}
}

func TestRotation(t *testing.T) {
	old, next := []byte("old"), []byte("new")
	h := signature.Sign(body, at, old, next)
	if n := strings.Count(h, "v1="); n != 2 {
		t.Fatalf("%q: want one v1 per secret", h)
	}
	for _, secrets := range [][][]byte{{old}, {next}, {[]byte("other"), next}} {
		if err := signature.Verify(h, body, at, signature.DefaultTolerance, secrets...); err != nil {
			t.Errorf("receiver with %q: %v", secrets, err)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	secret := []byte("s3cret")
	good := signature.Sign(body, at, secret)
	cases := []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"tampered body", good, []byte(`{"type":"revoke"}`), at, signature.ErrMismatch},
		{"wrong secret", signature.Sign(body, at, []byte("guess")), body, at, signature.ErrMismatch},
		{"replayed later", good, body, at.Add(6 * time.Minute), signature.ErrStale},
		{"from the future", good, body, at.Add(-6 * time.Minute), signature.ErrStale},
		{"timestamp swapped", strings.Replace(good, fmt.Sprint(at.Unix()), fmt.Sprint(at.Unix()+60), 1), body, at, signature.ErrMismatch},
		{"empty", "", body, at, signature.ErrMalformed},
		{"no v1", fmt.Sprintf("t=%d", at.Unix()), body, at, signature.ErrMalformed},
		{"short mac", fmt.Sprintf("t=%d,v1=abcd", at.Unix()), body, at, signature.ErrMalformed},
		{"two timestamps", good + ",t=1", body, at, signature.ErrMalformed},
		{"not unix", strings.Replace(good, fmt.Sprint(at.Unix()), "yesterday", 1), body, at, signature.ErrMalformed},
	}
	for _, c := range cases {
		err := signature.Verify(c.header, c.body, c.now, signature.DefaultTolerance, secret)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestUnknownSchemesIgnored(t *testing.T) {
	h := signature.Sign(body, at, []byte("k")) + ",v2=zzz"
	if err := signature.Verify(h, body, at, signature.DefaultTolerance, []byte("k")); err != nil {
		t.Fatal(err)
	}
}
