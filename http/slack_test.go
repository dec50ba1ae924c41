package http_test

import (
	nethttp "net/http"
	"net/http/httptest"
	"testing"

	dbhttp "github.com/drawbridge-jit/drawbridge/http"
)

// Slack's endpoints reach the Slack handler without a bearer token (Slack
// signs them instead); nothing else does, and without a Slack handler they
// are ordinary API paths that need a token.
func TestSlackPathsBypassBearerAuth(t *testing.T) {
	slackSaw := 0
	s := &dbhttp.Server{Slack: nethttp.HandlerFunc(func(w nethttp.ResponseWriter, _ *nethttp.Request) { slackSaw++ })}
	h := s.Handler()
	for _, p := range dbhttp.SlackPaths {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", p, nil))
		if w.Code != 200 {
			t.Errorf("POST %s: %d", p, w.Code)
		}
	}
	if slackSaw != len(dbhttp.SlackPaths) {
		t.Fatalf("the Slack handler saw %d of %d", slackSaw, len(dbhttp.SlackPaths))
	}
	for _, tc := range []struct{ method, path string }{{"GET", "/slack/commands"}, {"POST", "/slack/commandsx"}, {"POST", "/v1/requests"}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code != 401 {
			t.Errorf("%s %s: %d, want 401 (bearer auth)", tc.method, tc.path, w.Code)
		}
	}
	w := httptest.NewRecorder()
	(&dbhttp.Server{}).Handler().ServeHTTP(w, httptest.NewRequest("POST", "/webhook", nil))
	if w.Code != 401 || slackSaw != len(dbhttp.SlackPaths) {
		t.Errorf("no Slack configured: POST /webhook %d", w.Code)
	}
}
