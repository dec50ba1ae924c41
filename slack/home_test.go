package slack_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
	"github.com/drawbridge-jit/drawbridge/slack"
)

// postEvent sends an Events API body to /slack/events, signed at the fake
// clock's now unless unsigned.
func (f *fixture) postEvent(t *testing.T, body string, unsigned bool) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", slack.EventsPath, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if !unsigned {
		ts := strconv.FormatInt(f.env.Clock.Now().Unix(), 10)
		r.Header.Set("X-Slack-Request-Timestamp", ts)
		r.Header.Set("X-Slack-Signature", slack.SignatureHeader(secret, ts, []byte(body)))
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func homeOpened(teamID, user string) string {
	b, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": teamID, "api_app_id": app, "event_id": "Ev" + user,
		"event": map[string]any{"type": "app_home_opened", "user": user, "channel": "D" + user, "tab": "home"}})
	return string(b)
}

// Slack's URL verification of /slack/events gets its challenge back, and
// only when signed.
func TestEventsURLVerification(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	body := `{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	w := f.postEvent(t, body, false)
	if w.Code != 200 || w.Body.String() != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("signed: %d %q", w.Code, w.Body)
	}
	if w := f.postEvent(t, body, true); w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), "3eZb") {
		t.Fatalf("unsigned: %d %q", w.Code, w.Body)
	}
}

// app_home_opened publishes the user's App Home: Alice sees her pending
// request; Carol, an approver of its rule, sees it waiting for her with
// the buttons, and her Approve click there approves it, refreshes her
// home and answers her in a DM. Another workspace's event publishes
// nothing.
func TestAppHome(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	id := reqID(t, f.command(t, alice, "111122223333 AdministratorAccess 1 INC-7"))

	open := func(user string) map[string]string {
		t.Helper()
		n := len(f.api.Calls())
		if w := f.postEvent(t, homeOpened(team, user), false); w.Code != 200 {
			t.Fatalf("event: %d %s", w.Code, w.Body)
		}
		f.h.Wait()
		pub := f.callsOf(n, "views.publish")
		if len(pub) != 1 || pub[0].Params["user_id"] != user {
			t.Fatalf("views.publish for %s: %+v", user, pub)
		}
		return pub[0].Params
	}
	home := open(alice)["view"]
	if !strings.Contains(home, "Your requests waiting for approval") || !strings.Contains(home, id) || strings.Contains(home, slack.ActionApprove) {
		t.Fatalf("alice's home: %s", home)
	}
	home = open(carol)["view"]
	if !strings.Contains(home, "Waiting for your approval") || !strings.Contains(home, slack.ActionApprove) || !strings.Contains(home, id) {
		t.Fatalf("carol's home: %s", home)
	}
	if home := open("U45678901")["view"]; strings.Contains(home, id) {
		t.Fatalf("dave, who approves nothing, sees %s: %s", id, home)
	}

	// Carol clicks Approve in her App Home: no response_url, no channel.
	n := len(f.api.Calls())
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "team": map[string]any{"id": team}, "api_app_id": app,
		"user": map[string]any{"id": carol, "team_id": team}, "trigger_id": "t.home",
		"view":    map[string]any{"type": "home", "id": "VHOME"},
		"actions": []map[string]any{{"action_id": slack.ActionApprove, "value": id, "type": "button", "block_id": "review_" + id}},
	})
	if w := f.post(t, "/slack/interactions", url.Values{"payload": {string(payload)}}.Encode(), nil); w.Code != 200 {
		t.Fatalf("click: %d %s", w.Code, w.Body)
	}
	f.h.Wait()
	if r := f.env.Get(t, id); r.State != drawbridge.StateApproved {
		t.Fatalf("after carol's click: %s", r.State)
	}
	var told, refreshed bool
	for _, c := range f.api.Calls()[n:] {
		told = told || c.Method == "chat.postMessage" && c.Params["channel"] == carol && strings.Contains(c.Params["text"], "You approved "+id)
		refreshed = refreshed || c.Method == "views.publish" && c.Params["user_id"] == carol && !strings.Contains(c.Params["view"], slack.ActionApprove)
	}
	if !told || !refreshed {
		t.Fatalf("carol told %v, home refreshed %v: %+v", told, refreshed, f.api.Calls()[n:])
	}

	n = len(f.api.Calls())
	if w := f.postEvent(t, homeOpened("T0OTHER", carol), false); w.Code != 200 {
		t.Fatalf("foreign event: %d", w.Code)
	}
	f.h.Wait()
	if pub := f.callsOf(n, "views.publish"); len(pub) != 0 {
		t.Fatalf("published for another workspace: %+v", pub)
	}
	if len(f.auditActions(t)[slack.ActionForeignWorkspace]) != 1 {
		t.Fatal("the foreign event is not audited")
	}
}
