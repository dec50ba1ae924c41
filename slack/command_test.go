package slack_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
	"github.com/drawbridge-jit/drawbridge/slack"
	slackemu "github.com/drawbridge-jit/drawbridge/slack/emulator"
)

// A Slack user nobody in the directory is told so, audited, and nothing
// else happens; a user of another workspace or app is refused and audited.
func TestUnmappedAndForeign(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	text := f.command(t, "U0STRANGER", "123456789012 ReadOnlyAccess 0.5")
	if !strings.Contains(text, "not linked") || !strings.Contains(text, "slack_id: U0STRANGER") {
		t.Errorf("unmapped: %s", text)
	}
	for _, body := range []string{
		strings.Replace(commandBody(alice, "123456789012 ReadOnlyAccess 0.5"), "team_id="+team, "team_id=T0OTHER", 1),
		strings.Replace(commandBody(alice, "123456789012 ReadOnlyAccess 0.5"), "api_app_id="+app, "api_app_id=A0OTHER", 1),
	} {
		w := f.post(t, "/slack/commands", body, nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "does not serve your workspace") {
			t.Errorf("foreign: %d %s", w.Code, w.Body)
		}
	}
	f.h.Workspace.EnterpriseID = "E0GRID"
	if w := f.post(t, "/slack/commands", commandBody(alice, "list"), nil); !strings.Contains(w.Body.String(), "does not serve your workspace") {
		t.Errorf("no enterprise id on a Grid install: %s", w.Body)
	}
	if n := len(f.requests(t)); n != 0 {
		t.Fatalf("%d requests recorded", n)
	}
	acts := f.auditActions(t)
	if len(acts[slack.ActionUnmappedUser]) != 1 || len(acts[slack.ActionForeignWorkspace]) != 3 {
		t.Fatalf("audited: %d unmapped, %d foreign", len(acts[slack.ActionUnmappedUser]), len(acts[slack.ActionForeignWorkspace]))
	}
}

// With email_domains, a Slack user without a linked identity is the
// person whose e-mail users.info reports — only on an allowed domain, and
// only a human member of the workspace.
func TestEmailMapping(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	f.h.EmailDomains = []string{"example.com"}
	f.api.AddUser(slackemu.User{ID: "U0ALICE2", TeamID: team, Email: "Alice@Example.com"})
	f.api.AddUser(slackemu.User{ID: "U0EVIL", TeamID: team, Email: "alice@example.com.evil.test"})
	f.api.AddUser(slackemu.User{ID: "U0GUEST", TeamID: "T0OTHER", Email: "alice@example.com"})
	f.api.AddUser(slackemu.User{ID: "U0BOT", TeamID: team, Email: "alice@example.com", Bot: true})
	text := f.command(t, "U0ALICE2", "123456789012 ReadOnlyAccess 0.5")
	if r := f.env.Get(t, reqID(t, text)); r.Requester != "alice@example.com" {
		t.Fatalf("mapped to %s", r.Requester)
	}
	for _, u := range []string{"U0EVIL", "U0GUEST", "U0BOT", "U0NOBODY"} {
		if text := f.command(t, u, "123456789012 ReadOnlyAccess 0.5"); !strings.Contains(text, "not linked") {
			t.Errorf("%s: %s", u, text)
		}
	}
	if n := len(f.requests(t)); n != 1 {
		t.Fatalf("%d requests", n)
	}
}

// Malformed input gets what was wrong, the form and what the caller may
// request; status, list, extend, cancel and help work on the caller's own
// requests only.
func TestCommands(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	text := f.command(t, alice, "123456789012 ReadOnlyAccess")
	for _, want := range []string{"missing hours after 123456789012 ReadOnlyAccess", "The form is `/boundary [request] &lt;resource&gt;", "You may request:", "ReadOnlyAccess on *, up to 8h"} {
		if !strings.Contains(text, want) && !strings.Contains(text, strings.ReplaceAll(strings.ReplaceAll(want, "&lt;", "<"), "&gt;", ">")) {
			t.Errorf("malformed: %q lacks %q", text, want)
		}
	}
	if text := f.command(t, alice, "999999999999 ReadOnlyAccess 1"); !strings.Contains(text, "You may request:") {
		t.Errorf("unknown account: %s", text)
	}
	if text := f.command(t, alice, "help"); !strings.Contains(text, "/boundary status <request-id>") || !strings.Contains(text, "You may request:") {
		t.Errorf("help: %s", text)
	}
	pending := reqID(t, f.command(t, alice, "111122223333 AdministratorAccess 1 INC-1 \"deploy fix\""))
	if text := f.command(t, alice, "status "+pending); !strings.Contains(text, "PENDING_APPROVAL") {
		t.Errorf("status: %s", text)
	}
	if text := f.command(t, "U45678901", "status "+pending); !strings.Contains(text, "not found") {
		t.Errorf("dave sees alice's request: %s", text)
	}
	if text := f.command(t, "U45678901", "cancel "+pending); !strings.Contains(text, "not found") {
		t.Errorf("dave cancels alice's request: %s", text)
	}
	active := reqID(t, f.command(t, alice, "123456789012 ReadOnlyAccess 1"))
	f.env.HandleDue(t)
	if text := f.command(t, alice, "list"); !strings.Contains(text, pending) || !strings.Contains(text, active) {
		t.Errorf("list: %s", text)
	}
	if text := f.command(t, alice, "extend "+active+" 0.5"); !strings.Contains(text, "Received: extension") {
		t.Errorf("extend: %s", text)
	}
	if text := f.command(t, alice, "extend "+active+" soon"); !strings.Contains(text, "extend <request-id> <hours>") {
		t.Errorf("extend with bad hours: %s", text)
	}
	if text := f.command(t, alice, "cancel "+pending); !strings.Contains(text, "Cancelled "+pending) {
		t.Errorf("cancel: %s", text)
	}
	if r := f.env.Get(t, pending); r.State != drawbridge.StateCancelled || r.Reason != "deploy fix" {
		t.Errorf("after cancel: %s %q", r.State, r.Reason)
	}
	// Markup in free text is never obeyed in Slack.
	text = f.command(t, alice, `111122223333 AdministratorAccess 1 INC-2 "<!channel> look"`)
	if r := f.env.Get(t, reqID(t, text)); r.Reason != "<!channel> look" {
		t.Errorf("reason %q", r.Reason)
	}
	if text := f.command(t, alice, "list"); strings.Contains(text, "<!channel>") {
		t.Errorf("list echoes markup: %s", text)
	}
}

// blockingDirectory holds every lookup until release is closed: a
// directory (or Identity Store) that is slow to answer.
type blockingDirectory struct {
	drawbridge.Directory
	release chan struct{}
}

func (d blockingDirectory) Resolve(ctx context.Context, who string) (*drawbridge.Principal, error) {
	<-d.release
	return d.Directory.Resolve(ctx, who)
}

// When the work behind a command takes longer than AckWithin, Slack is
// answered "received" at once and the outcome follows on response_url.
func TestSlowCommandAnswersOnResponseURL(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	release := make(chan struct{})
	f.env.Broker.Directory = blockingDirectory{f.env.Broker.Directory, release}
	body := url.Values{"team_id": {team}, "api_app_id": {app}, "user_id": {alice}, "command": {"/boundary"},
		"text": {"123456789012 ReadOnlyAccess 0.5"}, "response_url": {f.api.ResponseURL("c1")}, "trigger_id": {"9.9.9"}}.Encode()
	answered := make(chan *httptest.ResponseRecorder)
	go func() { answered <- f.post(t, "/slack/commands", body, nil) }()
	for i := 0; f.env.Clock.Waiters() == 0; i++ {
		if i == 30000 {
			t.Fatal("the handler never waited")
		}
		time.Sleep(time.Millisecond)
	}
	f.env.Clock.Advance(slack.DefaultAckWithin)
	w := <-answered
	if !strings.Contains(w.Body.String(), "Received; working on it") {
		t.Fatalf("ack: %s", w.Body)
	}
	posted := f.api.Recorded()
	close(release)
	<-posted
	calls := f.api.Calls()
	if len(calls) != 1 || calls[0].Method != "response_url" || !strings.Contains(calls[0].Params["text"], "Received: req_") ||
		calls[0].Params["response_type"] != "ephemeral" {
		t.Fatalf("response_url got %+v", calls)
	}
}
