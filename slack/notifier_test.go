package slack_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
	"github.com/drawbridge-jit/drawbridge/slack"
)

// The requester is told in a DM when access is active, before it ends
// (with an Extend button that runs the same policy as `extend`), and when
// it ends; a Slack API that fails makes the delivery fail, so the worker
// retries it.
func TestDMs(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	f.h.AccessURL = "https://example.awsapps.com/start"
	id := reqID(t, f.command(t, alice, "123456789012 ReadOnlyAccess 1"))
	f.env.HandleDue(t)
	notify := func(typ string) (text, blocks string) {
		t.Helper()
		n := len(f.api.Calls())
		if err := f.h.Notify(f.env.Ctx, drawbridge.Notification{Type: typ, RequestID: id, Principal: "alice@example.com"}); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		calls := f.api.Calls()[n:]
		if len(calls) != 1 || calls[0].Method != "chat.postMessage" || calls[0].Params["channel"] != alice {
			t.Fatalf("%s: %+v", typ, calls)
		}
		return calls[0].Params["text"], calls[0].Params["blocks"]
	}
	if text, _ := notify(drawbridge.NotifyGrantActive); !strings.Contains(text, "is active until") || !strings.Contains(text, f.h.AccessURL) {
		t.Errorf("active: %s", text)
	}
	text, blocks := notify(drawbridge.NotifyGrantExpiring)
	if !strings.Contains(text, "ends at") || !strings.Contains(blocks, slack.ActionExtend) || !strings.Contains(blocks, id) {
		t.Errorf("expiring: %s %s", text, blocks)
	}
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "team": map[string]any{"id": team}, "api_app_id": app,
		"user": map[string]any{"id": alice, "team_id": team}, "response_url": f.api.ResponseURL("ext"),
		"actions": []map[string]any{{"action_id": slack.ActionExtend, "value": id, "type": "button", "block_id": "extend"}},
	})
	if w := f.post(t, "/slack/interactions", url.Values{"payload": {string(payload)}}.Encode(), nil); w.Code != 200 {
		t.Fatalf("click: %d %s", w.Code, w.Body)
	}
	f.h.Wait()
	if got := f.answer(t, "ext"); !strings.Contains(got, "Extension req_") || !strings.Contains(got, "approved") {
		t.Errorf("extend click: %s", got)
	}
	f.h.Wait()
	if _, err := f.env.Broker.Revoke(f.env.Ctx, id, "done", drawbridge.Operator("admin")); err != nil {
		t.Fatal(err)
	}
	if text, _ := notify(drawbridge.NotifyGrantRevoked); !strings.Contains(text, "was revoked") {
		t.Errorf("revoked: %s", text)
	}
	f.api.Fail("ratelimited")
	if err := f.h.Notify(f.env.Ctx, drawbridge.Notification{Type: drawbridge.NotifyGrantExpired, RequestID: id}); err == nil || !strings.Contains(err.Error(), "ratelimited") {
		t.Fatalf("a failing Slack API: %v", err)
	}
}
