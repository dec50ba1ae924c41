package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/notify/webhook"
	"github.com/drawbridge-jit/drawbridge/signature"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// A delivery is a signed JSON POST with the fields receivers rely on; a
// receiver that knows only the old or only the new secret (rotation)
// accepts it; a non-2xx answer is an error naming the status and the
// answer, never the URL's query (which may carry a credential).
func TestNotifySignedJSON(t *testing.T) {
	type got struct {
		hdr  nethttp.Header
		body []byte
	}
	seen := make(chan got, 1)
	status := nethttp.StatusNoContent
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- got{r.Header.Clone(), b}
		w.WriteHeader(status)
		io.WriteString(w, "receiver says no\n")
	}))
	defer srv.Close()
	clk := clock.NewFake(t0)
	n, err := webhook.New(srv.URL+"/hook?token=s3cr3t", []string{"old-secret", "new-secret"}, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	note := drawbridge.Notification{Type: drawbridge.NotifyGrantActive, Seq: 42, Time: t0, RequestID: "req_0123456789abcdef0123456789abcdef",
		Principal: "alice@example.com", Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess",
		State: drawbridge.StateActive, ExpiresAt: t0.Add(time.Hour)}
	if err := n.Notify(context.Background(), note); err != nil {
		t.Fatal(err)
	}
	d := <-seen
	for _, secret := range []string{"old-secret", "new-secret"} {
		if err := signature.Verify(d.hdr.Get(signature.Header), d.body, t0, signature.DefaultTolerance, []byte(secret)); err != nil {
			t.Errorf("a receiver with only %q refuses the body: %v", secret, err)
		}
	}
	if err := signature.Verify(d.hdr.Get(signature.Header), d.body, t0, signature.DefaultTolerance, []byte("wrong")); err == nil {
		t.Error("a wrong secret verifies")
	}
	if d.hdr.Get("Idempotency-Key") != "42" || d.hdr.Get("Drawbridge-Event") != "grant.active" || d.hdr.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", d.hdr)
	}
	var body map[string]any
	if err := json.Unmarshal(d.body, &body); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"type": "grant.active", "seq": 42.0, "request_id": note.RequestID, "principal": "alice@example.com",
		"provider": "aws", "resource": "123456789012", "role": "ReadOnlyAccess", "expires_at": "2026-03-02T10:00:00Z", "state": "ACTIVE"} {
		if body[k] != want {
			t.Errorf("body %s = %v, want %v", k, body[k], want)
		}
	}

	status = nethttp.StatusServiceUnavailable
	err = n.Notify(context.Background(), note)
	<-seen
	if err == nil || !strings.Contains(err.Error(), "HTTP 503: receiver says no") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %v: want HTTP 503 with the answer, without the query", err)
	}
	status = nethttp.StatusFound
	if err := n.Notify(context.Background(), note); err == nil {
		t.Error("a redirect counted as delivered")
	}
	<-seen
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		url     string
		secrets []string
		want    string
	}{
		{"ftp://example.com/x", []string{"s"}, "http(s)"},
		{"/relative", []string{"s"}, "http(s)"},
		{"https://example.com/x?k=v", nil, "secret"},
	} {
		_, err := webhook.New(tc.url, tc.secrets, nil, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "k=v") {
			t.Errorf("New(%q, %v) = %v, want an error about %s", tc.url, tc.secrets, err, tc.want)
		}
	}
}
