package main

// End to end through the webhook provider (docs/providers.md): the example
// config's hooks provider pointed at a loopback receiver in this test
// process, which stands for the system behind it. Requests go through the
// CLI and the HTTP API of a running server.

import (
	"context"
	"encoding/json"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/signature"
	"github.com/drawbridge-jit/drawbridge/webhook"
)

// exampleHooksSecret is the example config's signing secret for hooks.
const exampleHooksSecret = "sandbox-hooks-secret-not-for-production"

// hooksReceiver verifies each event's signature with the example secret,
// records it, and answers from its script (200 with a receipt once the
// script is used up).
type hooksReceiver struct {
	mu     sync.Mutex
	events []webhook.Event
	bad    []string // why events were refused
	script []hooksAnswer
	got    chan webhook.Event
}

type hooksAnswer struct {
	status int
	body   string
}

func newHooksReceiver(t *testing.T) (*hooksReceiver, string) {
	rc := &hooksReceiver{got: make(chan webhook.Event, 64)}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/drawbridge"
}

func (rc *hooksReceiver) ServeHTTP(w nethttp.ResponseWriter, r *nethttp.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	err := signature.Verify(r.Header.Get(signature.Header), body, time.Now(), signature.DefaultTolerance, []byte(exampleHooksSecret))
	var ev webhook.Event
	if err == nil {
		err = json.Unmarshal(body, &ev)
	}
	if err != nil {
		rc.bad = append(rc.bad, err.Error())
		nethttp.Error(w, err.Error(), nethttp.StatusUnauthorized)
		return
	}
	rc.events = append(rc.events, ev)
	rc.got <- ev
	ans := hooksAnswer{200, `{"grant_ref":"rcpt-` + ev.RequestID + `"}`}
	if len(rc.script) > 0 {
		ans, rc.script = rc.script[0], rc.script[1:]
	}
	w.WriteHeader(ans.status)
	io.WriteString(w, ans.body)
}

// answer scripts the next answers.
func (rc *hooksReceiver) answer(as ...hooksAnswer) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.script = append(rc.script, as...)
}

// next waits for the next event (bounded).
func (rc *hooksReceiver) next(t *testing.T) webhook.Event {
	t.Helper()
	select {
	case ev := <-rc.got:
		return ev
	case <-time.After(15 * time.Second):
		t.Fatal("no event reached the receiver within 15s")
		return webhook.Event{}
	}
}

// none fails the test when an event arrived that it did not expect.
func (rc *hooksReceiver) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-rc.got:
		t.Fatalf("unexpected %s event for %s", ev.Type, ev.RequestID)
	default:
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		t.Fatalf("events refused by the receiver: %v", rc.bad)
	}
}

func TestWebhookProviderEndToEnd(t *testing.T) {
	t.Parallel()
	cfg, addr := serveSandbox(t, emulator.SandboxOptions(), "")
	rc, url := newHooksReceiver(t)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "url: http://127.0.0.1:4567/drawbridge", "url: "+url, 1)
	if text == string(data) {
		t.Fatal("the example config has no hooks provider at http://127.0.0.1:4567/drawbridge")
	}
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	token := createToken(t, cfg, "--principal", "alice@example.com", "--role", "requester")
	srv := startServer(t, addr, "--config", cfg, "serve")
	api := "http://" + addr + "/v1/requests"
	get := func(id string) map[string]any {
		t.Helper()
		code, body := curl(t, "GET", api+"/"+id, token, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", id, code, body)
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	wantGrant := func(ev webhook.Event, r map[string]any) {
		t.Helper()
		if ev.Type != "grant" || ev.RequestID != r["id"] || ev.Provider != "hooks" || ev.Resource != "payroll-db" || ev.Role != "reader" ||
			ev.Principal.ID != "alice@example.com" || ev.Principal.Identities["slack"] != "U12345678" || ev.ExpiresAt == nil {
			t.Fatalf("grant event %+v for %v", ev, r["id"])
		}
	}

	// HTTP: the receiver fails the first delivery with a 500; the engine
	// sends it again and the grant becomes ACTIVE, ending when the event
	// said.
	rc.answer(hooksAnswer{500, `{"error":"payroll-db primary is failing over"}`})
	code, body := curl(t, "POST", api, token, `{"provider":"hooks","resource":"payroll-db","role":"reader","duration":"30m","reason":"month-end close"}`)
	if code != 201 || !strings.Contains(string(body), "failing over") {
		t.Fatalf("submit with a failing receiver: %d %s", code, body)
	}
	var r map[string]any
	json.Unmarshal(body, &r)
	first, second := rc.next(t), rc.next(t)
	wantGrant(first, r)
	wantGrant(second, r)
	if first.Reason != "month-end close" {
		t.Errorf("grant reason %q", first.Reason)
	}
	eventually(t, func() bool { return get(r["id"].(string))["state"] == "ACTIVE" })
	r = get(r["id"].(string))
	if exp, _ := time.Parse(time.RFC3339Nano, r["expires_at"].(string)); !exp.Equal(*second.ExpiresAt) {
		t.Errorf("request expires %v, the receiver was told %v", r["expires_at"], second.ExpiresAt)
	}
	code, body = curl(t, "POST", api+"/"+r["id"].(string)+"/revoke", token, `{"reason":"done"}`)
	if code != 200 || !strings.Contains(string(body), `"state":"REVOKED"`) {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if ev := rc.next(t); ev.Type != "revoke" || ev.RequestID != r["id"] || ev.GrantRef != "rcpt-"+r["id"].(string) || ev.Reason != "done" {
		t.Fatalf("revoke event %+v", ev)
	}

	// HTTP: a 403 is permanent: FAILED, with the receiver's message.
	rc.answer(hooksAnswer{403, `{"error":"payroll-db is frozen for the audit"}`})
	code, body = curl(t, "POST", api, token, `{"provider":"hooks","resource":"payroll-db","role":"reader","duration":"30m"}`)
	if code != 201 || !strings.Contains(string(body), `"state":"FAILED"`) || !strings.Contains(string(body), "payroll-db is frozen for the audit") {
		t.Fatalf("submit refused by the receiver: %d %s", code, body)
	}
	rc.next(t)

	// CLI (local mode, beside the server): grant, status, revoke.
	res := exe(t, t.TempDir(), nil, "--config", cfg, "--output", "json", "request", "alice@example.com", "hooks:payroll-db", "reader", "0.5")
	if res.code != 0 {
		t.Fatalf("CLI request:\n%s", res)
	}
	r = decode(t, res.stdout)
	wantGrant(rc.next(t), r)
	if r["state"] != "ACTIVE" {
		t.Fatalf("CLI request %v is %v", r["id"], r["state"])
	}
	if res := exe(t, t.TempDir(), nil, "--config", cfg, "revoke", r["id"].(string)); res.code != 0 {
		t.Fatalf("CLI revoke:\n%s", res)
	}
	if ev := rc.next(t); ev.Type != "revoke" || ev.RequestID != r["id"] {
		t.Fatalf("revoke event %+v", ev)
	}
	// CLI: a 403 ends FAILED (exit 1) with the receiver's message.
	rc.answer(hooksAnswer{403, "payroll-db refuses grants on Sundays"})
	res = exe(t, t.TempDir(), nil, "--config", cfg, "request", "alice@example.com", "hooks:payroll-db", "reader", "0.5")
	if res.code != exitRuntime || !strings.Contains(res.stderr, "FAILED") || !strings.Contains(res.stderr, "payroll-db refuses grants on Sundays") {
		t.Fatalf("CLI request refused by the receiver:\n%s", res)
	}
	rc.next(t)
	srv.stop(t, os.Interrupt)
	rc.none(t)
}

// `drawbridge sandbox` serves, beside the emulator, a receiver for the
// example config's hooks provider: it prints the events it can verify with
// the example secret and refuses the others.
func TestSandboxHooksReceiver(t *testing.T) {
	t.Parallel()
	emuAddr, hooksAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(binary, "sandbox", "--listen", emuAddr, "--hooks-listen", hooksAddr)
	out := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	eventually(t, func() bool { return strings.Contains(out.String(), "webhook receiver listening on http://"+hooksAddr) })

	p, err := webhook.New(webhook.Config{Name: "hooks", URL: "http://" + hooksAddr + "/drawbridge", Secrets: [][]byte{[]byte(exampleHooksSecret)}})
	if err != nil {
		t.Fatal(err)
	}
	spec := drawbridge.GrantSpec{RequestID: "req_0190f0c3a3b27e4e8e2f5c1d2b3a4f5e", Principal: &drawbridge.Principal{ID: "alice@example.com"},
		Assignment: drawbridge.Assignment{Entitlement: drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"}}}
	if _, err := p.Grant(context.Background(), spec); err != nil {
		t.Fatalf("grant to the sandbox receiver: %v", err)
	}
	eventually(t, func() bool {
		return strings.Contains(out.String(), "hooks receiver: grant payroll-db/reader for alice@example.com (no end) (req_0190f0c3a3b27e4e8e2f5c1d2b3a4f5e), signature ok")
	})
	forged, _ := webhook.New(webhook.Config{Name: "hooks", URL: "http://" + hooksAddr + "/drawbridge", Secrets: [][]byte{[]byte("not-the-sandbox-secret")}})
	if _, err := forged.Grant(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "no signature matches") {
		t.Fatalf("grant signed with another secret: %v", err)
	}
	if n := strings.Count(out.String(), "hooks receiver:"); n != 1 {
		t.Errorf("the receiver printed %d events, want only the verified one:\n%s", n, out)
	}
}
