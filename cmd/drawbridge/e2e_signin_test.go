package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestDevSignIn runs the real redirect flow against `drawbridge dev`:
// login → the built-in identity provider's picker page listing the
// sample directory's people → pick Bob → callback → a session cookie
// (HttpOnly, SameSite=Lax) and back to the dashboard. The API under /v1
// keeps taking bearer tokens only: the session cookie opens nothing there.
func TestDevSignIn(t *testing.T) {
	addr := freeAddr(t)
	data := t.TempDir()
	startServer(t, addr, "dev", "--listen", addr, "--data", data)
	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, _ := get(base + "/v1/auth/oidc/login?return_to=/dashboard")
	authz, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || authz.Query().Get("code_challenge_method") != "S256" || authz.Query().Get("nonce") == "" {
		t.Fatalf("login: %d to %s", resp.StatusCode, authz)
	}
	resp, page := get(authz.String())
	if resp.StatusCode != 200 || !strings.Contains(page, "Bob Lead") || !strings.Contains(page, "Alice Engineer") {
		t.Fatalf("picker page: %d %s", resp.StatusCode, page)
	}
	q := authz.Query()
	q.Set("login_hint", "bob@example.com")
	authz.RawQuery = q.Encode()
	resp, _ = get(authz.String())
	resp, page = get(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/dashboard" {
		t.Fatalf("callback: %d %s", resp.StatusCode, page)
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "drawbridge_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", session)
	}
	if resp, body := get(base + "/v1/requests"); resp.StatusCode != 401 {
		t.Fatalf("/v1 with only a session cookie: %d %s", resp.StatusCode, body)
	}

	// Alice is put in the provider's group oncall while the server runs;
	// her next sign-in computes the managed group oncall, recorded with
	// its source in the audit trail.
	idp := authz.Scheme + "://" + authz.Host
	req, _ := http.NewRequest("PUT", idp+"/users/alice@example.com/groups", strings.NewReader(`["oncall"]`))
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT groups at the provider: %v %v", resp, err)
	}
	resp, _ = get(base + "/v1/auth/oidc/login")
	authz, _ = url.Parse(resp.Header.Get("Location"))
	q = authz.Query()
	q.Set("login_hint", "alice@example.com")
	authz.RawQuery = q.Encode()
	resp, _ = get(authz.String())
	if resp, page := get(resp.Header.Get("Location")); resp.StatusCode != 302 {
		t.Fatalf("alice's callback: %d %s", resp.StatusCode, page)
	}
	res := exe(t, data, nil, "--config", data+"/drawbridge.yaml", "audit", "export", "--format", "jsonl")
	var found bool
	for _, line := range strings.Split(res.stdout, "\n") {
		if strings.Contains(line, `"actor":"alice@example.com"`) && strings.Contains(line, `"action":"oidc_sign_in"`) &&
			strings.Contains(line, `"managed_groups":"oncall"`) && strings.Contains(line, `"managed_groups_source":"oidc:`+idp+`"`) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no oidc_sign_in event for alice with managed group oncall in:\n%s%s", res.stdout, res.stderr)
	}
}
