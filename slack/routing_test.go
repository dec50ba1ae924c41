package slack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
	"github.com/drawbridge-jit/drawbridge/slack"
	slackemu "github.com/drawbridge-jit/drawbridge/slack/emulator"
)

// routedPolicy has one rule per way of putting a request to approvers:
// a team channel with a reminder and an escalation, DMs to the approvers
// it names, and the dashboard only (approval.in_slack: false).
const routedPolicy = `version: 1
rules:
  - name: team-db
    match: {provider: aws, accounts: ["123456789012"], permission_sets: [AdministratorAccess], requesters: ["*"]}
    approval: {approvers: ["group:sre-leads"], timeout: 2h, slack_channel: C0TEAMDB, remind_after: 20m, escalate_to: C0ESCALATE}
    max_duration: 2h
    decision: require_approval
  - name: by-dm
    match: {provider: aws, accounts: ["111122223333"], permission_sets: [AdministratorAccess], requesters: ["*"]}
    approval: {approvers: ["user:carol@example.com", "user:bob@example.com", "user:alice@example.com"], timeout: 2h}
    max_duration: 2h
    decision: require_approval
  - name: step-up
    match: {provider: aws, accounts: ["111122223333"], permission_sets: [PowerUserAccess], requesters: ["*"]}
    approval: {approvers: ["group:sre-leads"], timeout: 2h, in_slack: false}
    max_duration: 2h
    decision: require_approval
`

// calls returns the recorded calls of method after the first n.
func (f *fixture) callsOf(n int, method string) []slackemu.Call {
	var out []slackemu.Call
	calls := f.api.Calls()
	for _, c := range calls[min(n, len(calls)):] {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// A rule's approval.slack_channel takes its requests to that channel, not
// the default; after remind_after a reminder goes in the message's thread,
// once; after twice that the request goes to escalate_to; and a decision
// rewrites both messages.
func TestApprovalToRuleChannelWithReminder(t *testing.T) {
	f := newFixture(t, testenv.Options{Policy: routedPolicy})
	f.h.ApprovalChannel = approvalChannel
	f.deliver(t)
	id := reqID(t, f.command(t, alice, "123456789012 AdministratorAccess 1"))
	posted := f.waitCall(t, 0, "chat.postMessage")
	f.waitDelivered(t, drawbridge.NotifyPendingApproval, id)
	if posted.Params["channel"] != "C0TEAMDB" || !strings.Contains(blocksText(t, posted), slack.ActionApprove) {
		t.Fatalf("approval message went to %s: %s", posted.Params["channel"], posted.Params["blocks"])
	}
	f.env.Clock.Advance(19 * time.Minute)
	n := len(f.api.Calls())
	if err := f.h.Remind(f.env.Ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.callsOf(n, "chat.postMessage"); len(got) != 0 {
		t.Fatalf("reminded before remind_after: %+v", got)
	}
	f.env.Clock.Advance(time.Minute)
	for range 2 { // the second sweep finds the reminder done
		if err := f.h.Remind(f.env.Ctx); err != nil {
			t.Fatal(err)
		}
	}
	rem := f.callsOf(n, "chat.postMessage")
	if len(rem) != 1 || rem[0].Params["channel"] != "C0TEAMDB" || rem[0].Params["thread_ts"] != posted.Params["ts"] && rem[0].Params["thread_ts"] == "" ||
		!strings.Contains(rem[0].Params["text"], id+" has waited 20m for approval (0 of 1 so far)") {
		t.Fatalf("reminders: %+v", rem)
	}
	if rem[0].Params["thread_ts"] == "" {
		t.Fatalf("reminder not in the thread: %+v", rem[0].Params)
	}
	n = len(f.api.Calls())
	f.env.Clock.Advance(20 * time.Minute)
	for range 2 {
		if err := f.h.Remind(f.env.Ctx); err != nil {
			t.Fatal(err)
		}
	}
	esc := f.callsOf(n, "chat.postMessage")
	if len(esc) != 1 || esc[0].Params["channel"] != "C0ESCALATE" || !strings.Contains(blocksText(t, esc[0]), slack.ActionApprove) {
		t.Fatalf("escalation: %+v", esc)
	}
	acts := f.auditActions(t)
	if len(acts[slack.ActionApprovalReminded]) != 1 || len(acts[slack.ActionApprovalEscalated]) != 1 {
		t.Fatalf("audit: %d reminded, %d escalated", len(acts[slack.ActionApprovalReminded]), len(acts[slack.ActionApprovalEscalated]))
	}
	n = len(f.api.Calls())
	f.click(t, carol, slack.ActionApprove, id, "carol")
	if got := f.answer(t, "carol"); !strings.Contains(got, "You approved "+id) {
		t.Fatalf("carol: %q", got)
	}
	f.h.Wait()
	for {
		recorded := f.api.Recorded()
		if upd := f.callsOf(n, "chat.update"); len(upd) >= 2 {
			chans := map[string]bool{}
			for _, u := range upd {
				if !strings.Contains(blocksText(t, u), "Approved by carol@example.com") {
					t.Fatalf("update: %s", u.Params["blocks"])
				}
				chans[u.Params["channel"]] = true
			}
			if !chans["C0TEAMDB"] || !chans["C0ESCALATE"] {
				t.Fatalf("updated %v", chans)
			}
			break
		}
		<-recorded
	}
}

// Without a channel (neither the rule's nor slack.approval_channel), each
// approver the rule names as a person gets the message as a DM — never the
// requester — and a decision updates every one of them.
func TestApprovalDMsWithoutChannel(t *testing.T) {
	f := newFixture(t, testenv.Options{Policy: routedPolicy})
	f.deliver(t)
	id := reqID(t, f.command(t, alice, "111122223333 AdministratorAccess 1"))
	var dms []slackemu.Call
	for len(dms) < 2 {
		recorded := f.api.Recorded()
		if dms = f.callsOf(0, "chat.postMessage"); len(dms) < 2 {
			<-recorded
		}
	}
	f.h.Wait()
	to := map[string]bool{}
	for _, c := range f.callsOf(0, "chat.postMessage") {
		to[c.Params["channel"]] = true
		if !strings.Contains(blocksText(t, c), slack.ActionApprove) {
			t.Errorf("DM to %s lacks the buttons", c.Params["channel"])
		}
	}
	if len(to) != 2 || !to[carol] || !to[bob] {
		t.Fatalf("approval DMs went to %v, want carol and bob", to)
	}
	n := len(f.api.Calls())
	f.click(t, bob, slack.ActionApprove, id, "bob")
	if got := f.answer(t, "bob"); !strings.Contains(got, "You approved "+id) {
		t.Fatalf("bob: %q", got)
	}
	for {
		recorded := f.api.Recorded()
		if upd := f.callsOf(n, "chat.update"); len(upd) >= 2 {
			break
		}
		<-recorded
	}
}

// approval.in_slack: false: the message links to the dashboard's step-up
// approval page instead of buttons, and a click on a stale Approve or Deny
// button is refused with that link and changes nothing.
func TestApprovalOnDashboardOnly(t *testing.T) {
	f := newFixture(t, testenv.Options{Policy: routedPolicy})
	f.h.ApprovalChannel = approvalChannel
	f.h.DashboardURL = "https://drawbridge.example.com/"
	f.deliver(t)
	id := reqID(t, f.command(t, alice, "111122223333 PowerUserAccess 1"))
	msg := blocksText(t, f.waitCall(t, 0, "chat.postMessage"))
	page := "https://drawbridge.example.com/dashboard/requests/" + id + "/approve"
	if strings.Contains(msg, slack.ActionApprove) || strings.Contains(msg, slack.ActionDeny) || !strings.Contains(msg, page) {
		t.Fatalf("message: %s", msg)
	}
	for _, act := range []string{slack.ActionApprove, slack.ActionDeny} {
		f.click(t, carol, act, id, act)
		if got := f.answer(t, act); !strings.Contains(got, "Requests under rule step-up are approved or denied on the dashboard, after a fresh sign-in: "+page) {
			t.Errorf("%s: %q", act, got)
		}
	}
	f.h.Wait()
	if r := f.env.Get(t, id); r.State != drawbridge.StatePendingApproval || len(r.Approvals) != 0 {
		t.Fatalf("after clicks: %s %v", r.State, r.Approvals)
	}
	if v := f.callsOf(0, "views.open"); len(v) != 0 {
		t.Fatalf("deny modal opened: %+v", v)
	}
}

// Without server.public_url there is no absolute link to give: the
// message names the dashboard page's path as text rather than a link
// Slack cannot open.
func TestDashboardPathWithoutPublicURL(t *testing.T) {
	f := newFixture(t, testenv.Options{Policy: routedPolicy})
	f.h.ApprovalChannel = approvalChannel
	f.deliver(t)
	id := reqID(t, f.command(t, alice, "111122223333 PowerUserAccess 1"))
	msg := blocksText(t, f.waitCall(t, 0, "chat.postMessage"))
	if want := "open `/dashboard/requests/" + id + "/approve` there"; !strings.Contains(msg, want) || strings.Contains(msg, "\\u003c/dashboard") {
		t.Fatalf("message: %s, want %q and no link", msg, want)
	}
}
