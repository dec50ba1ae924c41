package slack_test

import (
	"context"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
	"github.com/drawbridge-jit/drawbridge/slack"
)

// socket connects the handler to the emulator over Socket Mode with
// slack-go's real socketmode client, as serve does with slack.mode: socket.
func (f *fixture) socket(t *testing.T) {
	t.Helper()
	api := slackapi.New("xoxb-test", slackapi.OptionAppLevelToken("xapp-1-test"), slackapi.OptionAPIURL(f.api.APIURL()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	connected := f.api.SocketConnected()
	go func() { done <- f.h.RunSocket(ctx, socketmode.New(api)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunSocket: %v", err)
		}
	})
	select {
	case <-connected:
	case err := <-done:
		t.Fatalf("RunSocket ended before connecting: %v", err)
	}
}

// send sends one envelope and returns the payload of its ack.
func (f *fixture) send(t *testing.T, typ string, payload any) string {
	t.Helper()
	recorded := f.api.Recorded()
	n := len(f.api.Calls())
	env, err := f.api.SocketSend(typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	for {
		for _, c := range f.callsOf(n, "socket_ack") {
			if c.Params["envelope_id"] == env {
				return c.Params["payload"]
			}
		}
		<-recorded
		recorded = f.api.Recorded()
	}
}

// Over Socket Mode the same handlers serve the slash command (its answer
// is the ack's payload), the Approve click (which approves and rewrites
// the approval message) and app_home_opened (which publishes the App
// Home); another workspace's command is refused as over HTTP. No
// envelope carries a signature: the app-level token authenticates the
// connection.
func TestSocketMode(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	f.h.ApprovalChannel = approvalChannel
	f.deliver(t)
	f.socket(t)

	cmd := map[string]any{"team_id": team, "api_app_id": app, "user_id": alice, "command": "/boundary",
		"text": "111122223333 AdministratorAccess 1 INC-7", "response_url": f.api.ResponseURL("sock"), "trigger_id": "1.2.3"}
	ack := f.send(t, "slash_commands", cmd)
	if !strings.Contains(ack, `"response_type":"ephemeral"`) || !strings.Contains(ack, "is waiting for approval") {
		t.Fatalf("command ack: %s", ack)
	}
	id := reqID(t, ack)
	f.waitCall(t, 0, "chat.postMessage")
	f.waitDelivered(t, drawbridge.NotifyPendingApproval, id)

	n := len(f.api.Calls())
	click := map[string]any{
		"type": "block_actions", "team": map[string]any{"id": team}, "api_app_id": app,
		"user": map[string]any{"id": carol, "team_id": team}, "trigger_id": "t.sock",
		"response_url": f.api.ResponseURL("carol-sock"), "channel": map[string]any{"id": approvalChannel},
		"actions": []map[string]any{{"action_id": slack.ActionApprove, "value": id, "type": "button", "block_id": "review"}},
	}
	if ack := f.send(t, "interactive", click); ack != "" && ack != "null" {
		t.Fatalf("click ack: %s", ack)
	}
	if got := f.answer(t, "carol-sock"); !strings.Contains(got, "You approved "+id) {
		t.Fatalf("carol: %q", got)
	}
	upd := f.waitCall(t, n, "chat.update")
	if !strings.Contains(blocksText(t, upd), "Approved by carol@example.com") {
		t.Fatalf("update: %s", upd.Params["blocks"])
	}

	n = len(f.api.Calls())
	f.send(t, "events_api", map[string]any{"type": "event_callback", "team_id": team, "api_app_id": app,
		"event": map[string]any{"type": "app_home_opened", "user": alice, "tab": "home"}})
	f.h.Wait()
	if pub := f.callsOf(n, "views.publish"); len(pub) != 1 || pub[0].Params["user_id"] != alice || !strings.Contains(pub[0].Params["view"], "Your access") {
		t.Fatalf("views.publish: %+v", pub)
	}

	cmd["team_id"] = "T0OTHER"
	if ack := f.send(t, "slash_commands", cmd); !strings.Contains(ack, "does not serve your workspace") {
		t.Fatalf("foreign command ack: %s", ack)
	}
}

// A connection that breaks is opened again, and serves commands as before.
func TestSocketModeReconnects(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	f.socket(t)
	if err := f.api.SocketDrop(); err != nil {
		t.Fatal(err)
	}
	connected := f.api.SocketConnected()
	<-connected
	ack := f.send(t, "slash_commands", map[string]any{"team_id": team, "api_app_id": app, "user_id": alice, "command": "/boundary", "text": "123456789012 ReadOnlyAccess 0.5"})
	if !strings.Contains(ack, "Received: req_") {
		t.Fatalf("after reconnecting: %s", ack)
	}
}
