package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/signature"
	"github.com/drawbridge-jit/drawbridge/webhook"
)

var (
	oldSecret = []byte("old-secret-0123456789abcdef")
	newSecret = []byte("new-secret-0123456789abcdef")
	now       = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

// receiver is a loopback receiver that verifies each event with the
// secrets it knows and answers what answer says.
type receiver struct {
	t       *testing.T
	secrets [][]byte
	answer  func(w http.ResponseWriter, ev webhook.Event)

	mu     sync.Mutex
	events []webhook.Event
	sigs   []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Errorf("read body: %v", err)
		return
	}
	sig := r.Header.Get(signature.Header)
	if err := signature.Verify(sig, body, now, signature.DefaultTolerance, rc.secrets...); err != nil {
		http.Error(w, "bad signature: "+err.Error(), http.StatusUnauthorized)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		rc.t.Errorf("content type %q", ct)
	}
	var ev webhook.Event
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		rc.t.Errorf("event does not decode as webhook.Event: %v: %s", err, body)
	}
	rc.mu.Lock()
	rc.events = append(rc.events, ev)
	rc.sigs = append(rc.sigs, sig)
	rc.mu.Unlock()
	if rc.answer != nil {
		rc.answer(w, ev)
	}
}

func start(t *testing.T, rc *receiver, secrets ...[]byte) *webhook.Provider {
	t.Helper()
	rc.t = t
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	p, err := webhook.New(webhook.Config{Name: "hooks", URL: srv.URL, Secrets: secrets, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type staticDir map[string]*drawbridge.Principal

func (d staticDir) Resolve(_ context.Context, who string) (*drawbridge.Principal, error) {
	if p, ok := d[who]; ok {
		return p, nil
	}
	return nil, drawbridge.Errorf(drawbridge.ENOTFOUND, "unknown person %s", who)
}

var alice = &drawbridge.Principal{ID: "alice@example.com", Name: "Alice", Identities: map[string]string{
	"slack": "U12345678", "aws": "9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001"}}

func grantSpec() drawbridge.GrantSpec {
	return drawbridge.GrantSpec{
		RequestID:  "req_0190f0c3a3b27e4e8e2f5c1d2b3a4f5e",
		Assignment: drawbridge.Assignment{Entitlement: drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"}, PrincipalRef: alice.ID},
		Principal:  alice, Until: now.Add(30 * time.Minute), Reason: "month-end close", Ticket: "CHG-42",
	}
}

// A grant and its revoke arrive signed with every configured secret (a
// receiver that knows only the new one, or only the old one, accepts
// them), carrying the request id, the person with their linked
// identities, the entitlement, the end, reason and ticket; the receiver's
// grant_ref comes back in the revoke.
func TestGrantAndRevokeArriveSigned(t *testing.T) {
	for _, known := range [][]byte{oldSecret, newSecret} {
		rc := &receiver{secrets: [][]byte{known}, answer: func(w http.ResponseWriter, ev webhook.Event) {
			if ev.Type == webhook.TypeGrant {
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, `{"grant_ref":"rcpt-7"}`)
			}
		}}
		p := start(t, rc, newSecret, oldSecret)
		spec := grantSpec()
		res, err := p.Grant(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		if res.GrantRef != "rcpt-7" || res.Details["status"] != "201 Created" {
			t.Errorf("grant result %+v", res)
		}
		if _, err := p.Revoke(context.Background(), drawbridge.RevokeSpec{RequestID: spec.RequestID, Assignment: spec.Assignment,
			GrantRef: res.GrantRef, Requester: alice.ID, Until: spec.Until, Reason: "expired", Ticket: "CHG-42"}); err != nil {
			t.Fatal(err)
		}
		if len(rc.events) != 2 || strings.Count(rc.sigs[0], "v1=") != 2 {
			t.Fatalf("events %d, signature %q: want two events signed with both secrets", len(rc.events), rc.sigs[0])
		}
		g, r := rc.events[0], rc.events[1]
		want := webhook.Event{Type: "grant", RequestID: spec.RequestID, Provider: "hooks", Resource: "payroll-db", Role: "reader",
			Reason: "month-end close", Ticket: "CHG-42",
			Principal: webhook.Principal{ID: alice.ID, Name: "Alice", Identities: map[string]string{"slack": "U12345678", "aws": "9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001"}}}
		if g.ExpiresAt == nil || !g.ExpiresAt.Equal(spec.Until) {
			t.Errorf("grant expires_at %v, want %v", g.ExpiresAt, spec.Until)
		}
		g.ExpiresAt = nil
		if !equalEvents(g, want) {
			t.Errorf("grant event\n got %+v\nwant %+v", g, want)
		}
		if r.Type != "revoke" || r.RequestID != spec.RequestID || r.GrantRef != "rcpt-7" || r.Reason != "expired" || r.Principal.ID != alice.ID {
			t.Errorf("revoke event %+v", r)
		}
	}
}

func equalEvents(a, b webhook.Event) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// With a directory, a revoke event names the person's linked identities
// too; when the directory cannot resolve them, the event still goes out
// with the canonical id: a removal never waits for the directory.
func TestRevokeEventIdentities(t *testing.T) {
	rc := &receiver{secrets: [][]byte{newSecret}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	rc.t = t
	for _, dir := range []staticDir{{alice.ID: alice}, {}} {
		p, err := webhook.New(webhook.Config{Name: "hooks", URL: srv.URL, Secrets: [][]byte{newSecret}, Directory: dir, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		spec := grantSpec()
		if _, err := p.Revoke(context.Background(), drawbridge.RevokeSpec{RequestID: spec.RequestID, Assignment: spec.Assignment, Requester: alice.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if got := rc.events[0].Principal.Identities["slack"]; got != alice.Identities["slack"] {
		t.Errorf("revoke event identities %v", rc.events[0].Principal.Identities)
	}
	if p := rc.events[1].Principal; p.ID != alice.ID || len(p.Identities) != 0 || rc.events[1].ExpiresAt != nil {
		t.Errorf("revoke event without directory: %+v", rc.events[1])
	}

	// A directory that does not answer delays the removal by
	// DirectoryTimeout at most.
	p, err := webhook.New(webhook.Config{Name: "hooks", URL: srv.URL, Secrets: [][]byte{newSecret}, Now: func() time.Time { return now },
		Directory: stuckDir{}, DirectoryTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := p.Revoke(ctx, drawbridge.RevokeSpec{RequestID: "req_x", Assignment: grantSpec().Assignment, Requester: alice.ID}); err != nil {
		t.Fatalf("revoke with a stuck directory: %v", err)
	}
	if len(rc.events) != 3 || rc.events[2].Principal.ID != alice.ID {
		t.Fatalf("revoke with a stuck directory sent %+v", rc.events[2:])
	}
}

// stuckDir never answers before its context ends.
type stuckDir struct{}

func (stuckDir) Resolve(ctx context.Context, _ string) (*drawbridge.Principal, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// The receiver's answer decides: 2xx done, 409 already done, 429 and 5xx
// retried (honouring Retry-After; a 429 is a refusal before acting), a
// redirect or any other 4xx permanent with the receiver's message kept.
func TestReceiverAnswers(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantErr    string // "" = success
		permanent  bool
		rejected   bool
		retryAfter time.Duration // 0 = no hint
		details    string
	}{
		{name: "200", status: 200, details: "200 OK"},
		{name: "204", status: 204, details: "204 No Content"},
		{name: "409 already done", status: 409, body: `{"message":"grant exists"}`, details: "409 Conflict (already done)"},
		{name: "429 retry-after seconds", status: 429, header: map[string]string{"Retry-After": "7"}, body: "slow down",
			wantErr: "429 Too Many Requests: slow down", rejected: true, retryAfter: 7 * time.Second},
		{name: "503 retry-after date", status: 503, header: map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)},
			wantErr: "503 Service Unavailable", retryAfter: 90 * time.Second},
		{name: "500 no hint", status: 500, body: `{"error":"database down"}`, wantErr: "500 Internal Server Error: database down"},
		{name: "403 message", status: 403, body: `{"error":{"message":"payroll-db refuses contractors"}}`,
			wantErr: "receiver refused (403 Forbidden): payroll-db refuses contractors", permanent: true},
		{name: "400 text", status: 400, body: "unknown role reader\n", wantErr: "(400 Bad Request): unknown role reader", permanent: true},
		{name: "control characters", status: 422, body: "bad\x1b[31m\u202eevil", wantErr: `bad\x1b[31m\u202eevil`, permanent: true},
		{name: "long message clipped at a character", status: 400, body: strings.Repeat("é", 600), wantErr: strings.Repeat("é", 250) + "…", permanent: true},
		{name: "redirect", status: 307, header: map[string]string{"Location": "https://elsewhere.example/"}, wantErr: "redirects are not followed", permanent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &receiver{secrets: [][]byte{newSecret}, answer: func(w http.ResponseWriter, _ webhook.Event) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}}
			p := start(t, rc, newSecret)
			res, err := p.Grant(context.Background(), grantSpec())
			if tc.wantErr == "" {
				if err != nil || res.Details["status"] != tc.details {
					t.Fatalf("grant: %+v, %v; want success with status %q", res, err, tc.details)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("grant error %v, want one containing %q", err, tc.wantErr)
			}
			if drawbridge.IsPermanent(err) != tc.permanent || drawbridge.IsRejected(err) != tc.rejected {
				t.Errorf("permanent %v rejected %v, want %v %v", drawbridge.IsPermanent(err), drawbridge.IsRejected(err), tc.permanent, tc.rejected)
			}
			d, ok := drawbridge.RetryAfterHint(err)
			if ok != (tc.retryAfter != 0) || d != tc.retryAfter {
				t.Errorf("retry-after %v (%v), want %v", d, ok, tc.retryAfter)
			}
			if len(rc.events) != 1 {
				t.Errorf("%d events sent; a redirect must not be followed", len(rc.events))
			}
		})
	}
}

// A receiver that does not answer within the timeout is a retryable
// failure: it may have acted, so the event is sent again later.
func TestReceiverTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	p, err := webhook.New(webhook.Config{Name: "hooks", URL: srv.URL, Secrets: [][]byte{newSecret}, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Grant(context.Background(), grantSpec())
	if err == nil || drawbridge.IsPermanent(err) || drawbridge.IsRejected(err) || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("grant to a receiver that never answers: %v; want a retryable error that is no rejection", err)
	}
	// An unreachable receiver: retryable too, and nothing can have been
	// acted on (so expiry does not count from this attempt).
	p, _ = webhook.New(webhook.Config{Name: "hooks", URL: "http://127.0.0.1:1/", Secrets: [][]byte{newSecret}})
	if _, err := p.Grant(context.Background(), grantSpec()); err == nil || drawbridge.IsPermanent(err) || !drawbridge.IsRejected(err) {
		t.Fatalf("grant to a closed port: %v; want a retryable rejection", err)
	}
}

func TestCheckURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://grants.internal.example/drawbridge": "",
		"http://127.0.0.1:9000/hook":                 "",
		"http://[::1]:9000/hook":                     "",
		"http://localhost:9000/hook":                 "",
		"http://grants.internal.example/drawbridge":  "plain http",
		"ftp://grants.internal.example/":             "not an http(s) URL",
		"":                                           "url is required",
		"https://user:pw@grants.internal.example/":   "credentials",
	} {
		err := webhook.CheckURL(raw)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("CheckURL(%q) = %v, want %q", raw, err, want)
		}
	}
	if _, err := webhook.New(webhook.Config{Name: "hooks", URL: "https://x.example/"}); err == nil || !strings.Contains(err.Error(), "no secret") {
		t.Errorf("New without secrets: %v", err)
	}
}
