package policy

import (
	"strings"
	"testing"
	"time"
)

// approvalPolicy is a require_approval rule whose approval block is
// written as given.
func approvalPolicy(block string) string {
	return edit("    max_duration: 1h\n    decision: allow",
		"    approval: {approvers: [\"group:sre-leads\", \"user:carol@example.com\"], timeout: 4h"+block+"}\n    max_duration: 1h\n    decision: require_approval")
}

// The Slack routing keys of an approval block: where the approval message
// goes, whether Slack may decide, when to remind and whom to escalate to.
func TestApprovalRouting(t *testing.T) {
	p, err := Parse("p.yaml", []byte(approvalPolicy(`, slack_channel: C0TEAM01, in_slack: false, remind_after: 30m, escalate_to: C0ESCAL01`)))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := p.Rule("r")
	if r.SlackChannel != "C0TEAM01" || r.ApprovalInSlack || r.RemindAfter != 30*time.Minute || r.EscalateTo != "C0ESCAL01" {
		t.Fatalf("rule: channel %q in_slack %v remind %s escalate %q", r.SlackChannel, r.ApprovalInSlack, r.RemindAfter, r.EscalateTo)
	}
	p, err = Parse("p.yaml", []byte(approvalPolicy(`, escalate_to: "user:Dana@Example.com", remind_after: 1h`)))
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := p.Rule("r"); !r.ApprovalInSlack || r.SlackChannel != "" || r.EscalateTo != "user:dana@example.com" {
		t.Fatalf("defaults: in_slack %v channel %q escalate %q", r.ApprovalInSlack, r.SlackChannel, r.EscalateTo)
	}

	for _, tc := range []struct{ block, want string }{
		{`, slack_channel: "#sre"`, `approval.slack_channel "#sre": give the channel's id (C…, channel details → About), not its name`},
		{`, in_slack: "no"`, `in_slack must be true or false`},
		{`, remind_after: 4h`, `approval.remind_after 4h is not shorter than approval.timeout 4h, so no reminder would ever be sent`},
		{`, remind_after: 0s`, `remind_after`},
		{`, escalate_to: C0ESCAL01`, `approval.escalate_to needs approval.remind_after: the escalation goes out when the request has waited twice remind_after`},
		{`, remind_after: 2h, escalate_to: C0ESCAL01`, `approval.escalate_to: the escalation would go out after 4h (twice remind_after), not before approval.timeout 4h; lower remind_after`},
		{`, remind_after: 1h, escalate_to: sre-oncall`, `approval.escalate_to "sre-oncall": give a channel id (C…, channel details → About) or "user:<email>"`},
		{`, remind_after: 1h, escalate_to: "user:nobody"`, `approval.escalate_to "user:nobody"`},
		{`, slack_chanel: C0TEAM01`, `unknown key "slack_chanel" in rule "r" approval (did you mean "slack_channel"?`},
	} {
		_, err := Parse("p.yaml", []byte(approvalPolicy(tc.block)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.block, err, tc.want)
		}
	}
}
