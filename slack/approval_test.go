package slack_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
	"github.com/drawbridge-jit/drawbridge/slack"
	slackemu "github.com/drawbridge-jit/drawbridge/slack/emulator"
)

const approvalChannel = "C0APPROVALS"

// waitCall waits for the emulator to record a call of method after the
// calls already seen (n), returning it.
func (f *fixture) waitCall(t *testing.T, n int, method string) slackemu.Call {
	t.Helper()
	for {
		recorded := f.api.Recorded()
		calls := f.api.Calls()
		for _, c := range calls[min(n, len(calls)):] {
			if c.Method == method {
				return c
			}
		}
		<-recorded
	}
}

// click sends a button click by user on request id's approval message.
func (f *fixture) click(t *testing.T, user, action, id, responseID string) {
	t.Helper()
	payload := map[string]any{
		"type": "block_actions", "team": map[string]any{"id": team}, "api_app_id": app,
		"user":         map[string]any{"id": user, "team_id": team},
		"trigger_id":   "t." + responseID,
		"response_url": f.api.ResponseURL(responseID),
		"channel":      map[string]any{"id": approvalChannel},
		"actions":      []map[string]any{{"action_id": action, "value": id, "type": "button", "block_id": "review"}},
	}
	b, _ := json.Marshal(payload)
	if w := f.post(t, "/slack/interactions", url.Values{"payload": {string(b)}}.Encode(), nil); w.Code != 200 {
		t.Fatalf("click: %d %s", w.Code, w.Body)
	}
}

// answer waits for the ephemeral answer posted to response_url responseID.
func (f *fixture) answer(t *testing.T, responseID string) string {
	t.Helper()
	for {
		recorded := f.api.Recorded()
		for _, c := range f.api.Calls() {
			if c.Method == "response_url" && c.Params["response_url_id"] == responseID {
				if c.Params["response_type"] != "ephemeral" {
					t.Errorf("answer %s is %q, not ephemeral", responseID, c.Params["response_type"])
				}
				return c.Params["text"]
			}
		}
		<-recorded
	}
}

func blocksText(t *testing.T, c slackemu.Call) string {
	t.Helper()
	var blocks slackapi.Blocks
	if err := json.Unmarshal([]byte(c.Params["blocks"]), &blocks); err != nil {
		t.Fatalf("blocks %s: %v", c.Params["blocks"], err)
	}
	b, _ := json.Marshal(blocks)
	return string(b)
}

// A request that needs approval is posted to the approval channel with its
// details and buttons. Alice's own click (also from a second Slack account
// mapped to her by e-mail) and Dave's (not an approver) are refused with
// their reason and change nothing; Carol's approves, and the message is
// rewritten in place with who decided.
func TestApproveInSlack(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	f.h.ApprovalChannel = approvalChannel
	f.deliver(t)
	f.h.EmailDomains = []string{"example.com"}
	f.api.AddUser(slackemu.User{ID: "U0ALICE2", TeamID: team, Email: "alice@example.com"})
	id := reqID(t, f.command(t, alice, `111122223333 AdministratorAccess 1 INC-7 "db <!here> down"`))
	posted := f.waitCall(t, 0, "chat.postMessage")
	msg := blocksText(t, posted)
	for _, want := range []string{"alice@example.com", "aws:111122223333/AdministratorAccess", "*1h*", "INC-7", "prod-admin", "0 of 1",
		slack.ActionApprove, slack.ActionDeny, id, `db \u0026lt;!here\u0026gt; down`} {
		if !strings.Contains(msg, want) {
			t.Errorf("approval message lacks %s: %s", want, msg)
		}
	}
	if posted.Params["channel"] != approvalChannel {
		t.Errorf("posted to %s", posted.Params["channel"])
	}
	for _, tc := range []struct{ user, resp, want string }{
		{alice, "self", "alice@example.com cannot approve their own request"},
		{"U0ALICE2", "self2", "alice@example.com cannot approve their own request"},
		{"U45678901", "dave", "dave@example.com is not an approver for rule \"prod-admin\""},
	} {
		f.click(t, tc.user, slack.ActionApprove, id, tc.resp)
		if got := f.answer(t, tc.resp); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.user, got, tc.want)
		}
	}
	f.h.Wait()
	if r := f.env.Get(t, id); r.State != drawbridge.StatePendingApproval || len(r.Approvals) != 0 {
		t.Fatalf("after refused clicks: %s %v", r.State, r.Approvals)
	}
	n := len(f.api.Calls())
	f.click(t, carol, slack.ActionApprove, id, "carol")
	if got := f.answer(t, "carol"); !strings.Contains(got, "You approved "+id) {
		t.Errorf("carol: %q", got)
	}
	upd := f.waitCall(t, n, "chat.update")
	if upd.Params["ts"] != "" && upd.Params["channel"] != approvalChannel {
		t.Errorf("updated %s", upd.Params["channel"])
	}
	if got := blocksText(t, upd); !strings.Contains(got, "Approved by carol@example.com") || strings.Contains(got, slack.ActionApprove) {
		t.Errorf("updated message: %s", got)
	}
	if r := f.env.Get(t, id); r.State != drawbridge.StateApproved {
		t.Fatalf("after carol: %s", r.State)
	}
}

// On a quorum of two, the same approver's second click is refused: a
// quorum counts people.
func TestDoubleClickOnQuorum(t *testing.T) {
	f := newFixture(t, testenv.Options{Policy: `version: 1
rules:
  - name: two-leads
    match: {provider: aws, accounts: ["*"], permission_sets: [AdministratorAccess], requesters: ["*"]}
    approval: {approvers: ["group:sre-leads"], count: 2, timeout: 1h}
    max_duration: 2h
    decision: require_approval
`})
	f.h.ApprovalChannel = approvalChannel
	f.deliver(t)
	id := reqID(t, f.command(t, alice, "111122223333 AdministratorAccess 1"))
	f.click(t, bob, slack.ActionApprove, id, "b1")
	if got := f.answer(t, "b1"); !strings.Contains(got, "PENDING_APPROVAL") {
		t.Errorf("first click: %q", got)
	}
	f.click(t, bob, slack.ActionApprove, id, "b2")
	if got := f.answer(t, "b2"); !strings.Contains(got, "bob@example.com has already reviewed "+id) {
		t.Errorf("second click: %q", got)
	}
	f.h.Wait()
	if r := f.env.Get(t, id); r.State != drawbridge.StatePendingApproval || len(r.Approvals) != 1 {
		t.Fatalf("after a double click: %s, %d approvals", r.State, len(r.Approvals))
	}
}

// Deny opens a modal asking why; submitting it denies with that reason,
// and the message says so.
func TestDenyModal(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	f.h.ApprovalChannel = approvalChannel
	f.deliver(t)
	id := reqID(t, f.command(t, alice, "111122223333 AdministratorAccess 1 INC-9"))
	f.waitCall(t, 0, "chat.postMessage")
	n := len(f.api.Calls())
	f.click(t, carol, slack.ActionDeny, id, "deny")
	open := f.waitCall(t, n, "views.open")
	var view slackapi.ModalViewRequest
	if err := json.Unmarshal([]byte(open.Params["view"]), &view); err != nil {
		t.Fatal(err)
	}
	if open.Params["trigger_id"] != "t.deny" || !strings.HasPrefix(view.PrivateMetadata, id+"\n") {
		t.Fatalf("views.open %+v", open.Params)
	}
	submit := map[string]any{
		"type": "view_submission", "team": map[string]any{"id": team}, "api_app_id": app,
		"user": map[string]any{"id": carol, "team_id": team},
		"view": map[string]any{"callback_id": view.CallbackID, "private_metadata": view.PrivateMetadata,
			"state": map[string]any{"values": map[string]any{"reason": map[string]any{"reason_input": map[string]any{"type": "plain_text_input", "value": "not during the freeze"}}}}},
	}
	b, _ := json.Marshal(submit)
	n = len(f.api.Calls())
	if w := f.post(t, "/webhook", url.Values{"payload": {string(b)}}.Encode(), nil); w.Code != 200 {
		t.Fatalf("submit: %d %s", w.Code, w.Body)
	}
	upd := f.waitCall(t, n, "chat.update")
	if got := blocksText(t, upd); !strings.Contains(got, "Denied: denied by carol@example.com") || !strings.Contains(got, "not during the freeze") {
		t.Errorf("updated message: %s", got)
	}
	f.h.Wait()
	if r := f.env.Get(t, id); r.State != drawbridge.StateDenied || r.Approvals[0].Comment != "not during the freeze" {
		t.Fatalf("after the modal: %s %+v", r.State, r.Approvals)
	}
}

// A decision made elsewhere (the CLI, the API) rewrites the approval
// message when its notification is delivered: the update is the event's
// delivery, not a poll, so it follows the decision at once.
func TestDecisionElsewhereUpdatesMessage(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	f.h.ApprovalChannel = approvalChannel
	f.deliver(t)
	id := reqID(t, f.command(t, alice, "111122223333 AdministratorAccess 1 INC-9"))
	f.waitCall(t, 0, "chat.postMessage")
	n := len(f.api.Calls())
	// carol approves in the CLI (operator mode, as `drawbridge approve`):
	// the request.approved event's delivery rewrites the message.
	if _, err := f.env.Broker.Approve(f.env.Ctx, id, "carol@example.com", "from the CLI", drawbridge.Operator("carol")); err != nil {
		t.Fatal(err)
	}
	upd := f.waitCall(t, n, "chat.update")
	if !strings.Contains(blocksText(t, upd), "Approved by carol@example.com") || upd.Params["channel"] != approvalChannel {
		t.Fatalf("update %+v", upd.Params)
	}
	// and alice is told in a DM.
	for {
		recorded := f.api.Recorded()
		var dm *slackemu.Call
		for _, c := range f.api.Calls()[n:] {
			if c.Method == "chat.postMessage" && c.Params["channel"] == alice {
				dm = &c
			}
		}
		if dm != nil {
			if !strings.Contains(dm.Params["text"], "Your request aws:111122223333/AdministratorAccess ("+id) || !strings.Contains(dm.Params["text"], "was approved") {
				t.Errorf("DM: %s", dm.Params["text"])
			}
			break
		}
		<-recorded
	}
	// A redelivered event is harmless: the message is posted once.
	posts := 0
	if err := f.h.Notify(f.env.Ctx, drawbridge.Notification{Type: drawbridge.NotifyPendingApproval, RequestID: id}); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.api.Calls() {
		if c.Method == "chat.postMessage" && c.Params["channel"] == approvalChannel {
			posts++
		}
	}
	if posts != 1 {
		t.Fatalf("%d approval messages", posts)
	}
}

// When the deciding rule needs a ticket the command did not give, a modal
// asks for it instead of recording a request certain to be denied; its
// submission records the request with the ticket and answers on the
// command's response_url.
func TestDetailsModal(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	body := url.Values{"team_id": {team}, "api_app_id": {app}, "user_id": {alice}, "command": {"/boundary"},
		"text": {`111122223333 AdministratorAccess 1 "db down"`}, "response_url": {f.api.ResponseURL("cmd")}, "trigger_id": {"t.cmd"}}.Encode()
	w := f.post(t, "/slack/commands", body, nil)
	if !strings.Contains(w.Body.String(), "Rule prod-admin needs a ticket") {
		t.Fatalf("answer: %s", w.Body)
	}
	open := f.waitCall(t, 0, "views.open")
	var view slackapi.ModalViewRequest
	if err := json.Unmarshal([]byte(open.Params["view"]), &view); err != nil {
		t.Fatal(err)
	}
	if open.Params["trigger_id"] != "t.cmd" || !strings.Contains(open.Params["view"], "^(INC|CHG)-[0-9]+$") {
		t.Fatalf("views.open %+v", open.Params)
	}
	if n := len(f.requests(t)); n != 0 {
		t.Fatalf("%d requests recorded before the ticket was given", n)
	}
	submit, _ := json.Marshal(map[string]any{
		"type": "view_submission", "team": map[string]any{"id": team}, "api_app_id": app,
		"user": map[string]any{"id": alice, "team_id": team},
		"view": map[string]any{"callback_id": view.CallbackID, "private_metadata": view.PrivateMetadata,
			"state": map[string]any{"values": map[string]any{"ticket": map[string]any{"ticket_input": map[string]any{"type": "plain_text_input", "value": "INC-5"}}}}},
	})
	if w := f.post(t, "/slack/interactions", url.Values{"payload": {string(submit)}}.Encode(), nil); w.Code != 200 {
		t.Fatalf("submit: %d %s", w.Code, w.Body)
	}
	got := f.answer(t, "cmd")
	if !strings.Contains(got, "waiting for approval") {
		t.Fatalf("answer: %s", got)
	}
	f.h.Wait()
	if r := f.env.Get(t, reqID(t, got)); r.Ticket != "INC-5" || r.Reason != "db down" || r.State != drawbridge.StatePendingApproval {
		t.Fatalf("recorded %q %q %s", r.Ticket, r.Reason, r.State)
	}
}
