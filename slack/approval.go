package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
)

// Action ids of the approval message's buttons; their value is the
// request id.
const (
	ActionApprove = "drawbridge_approve"
	ActionDeny    = "drawbridge_deny"
	// callbackDeny is the deny modal's callback id; its private metadata
	// is the request id.
	callbackDeny = "drawbridge_deny_reason"
	denyBlock    = "reason"
	denyInput    = "reason_input"
)

// ActionApprovalPosted records where a request's approval message is
// (channel and ts), so every later event — whoever decided, in whatever
// channel, even after a restart — updates that message in place.
const ActionApprovalPosted = "slack_approval_posted"

// approvalBlocks renders the approval message of r as it stands: who asks
// for what, for how long and why, the rule and the quorum; while it is
// pending, the Approve and Deny buttons — or, for a rule with
// approval.in_slack: false, the link to the dashboard's approval page,
// which asks for a fresh sign-in — then who decided and when.
func (h *Handler) approvalBlocks(r *drawbridge.Request) []slackapi.Block {
	md := func(s string) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
	}
	head := slackapi.NewSectionBlock(md(fmt.Sprintf("*%s* asks for *%s* for *%s*", esc(r.Requester), esc(r.Entitlement.String()), duration.Format(r.Duration))), []*slackapi.TextBlockObject{
		md("*Reason*\n" + orDash(esc(r.Reason))),
		md("*Ticket*\n" + orDash(esc(r.Ticket))),
		md("*Rule*\n" + orDash(esc(r.Decision.Rule))),
		md(fmt.Sprintf("*Approvals*\n%d of %d", approvals(r), r.Decision.ApprovalsRequired)),
	}, nil)
	head.BlockID = "request"
	blocks := []slackapi.Block{head}
	if r.State == drawbridge.StatePendingApproval {
		if h.routing(r).inSlack {
			approve := slackapi.NewButtonBlockElement(ActionApprove, r.ID, slackapi.NewTextBlockObject(slackapi.PlainTextType, "Approve", false, false))
			approve.Style = slackapi.StylePrimary
			deny := slackapi.NewButtonBlockElement(ActionDeny, r.ID, slackapi.NewTextBlockObject(slackapi.PlainTextType, "Deny", false, false))
			deny.Style = slackapi.StyleDanger
			blocks = append(blocks, slackapi.NewActionBlock("review", approve, deny))
		} else {
			text := fmt.Sprintf("Rule %s is decided on the dashboard, after a fresh sign-in: <%s|approve or deny %s>", esc(r.Decision.Rule), h.approvePage(r.ID), r.ID)
			if h.DashboardURL == "" {
				// Without server.public_url a link would not open.
				text = fmt.Sprintf("Rule %s is decided on the Drawbridge dashboard, after a fresh sign-in: open `%s` there", esc(r.Decision.Rule), h.approvePage(r.ID))
			}
			link := slackapi.NewSectionBlock(md(text), nil, nil)
			link.BlockID = "review"
			blocks = append(blocks, link)
		}
	}
	blocks = append(blocks, slackapi.NewContextBlock("status", md(fmt.Sprintf("%s · %s", r.ID, esc(status(r))))))
	return blocks
}

// approvePage is the dashboard's step-up approval page of request id.
func (h *Handler) approvePage(id string) string {
	return strings.TrimRight(h.DashboardURL, "/") + "/dashboard/requests/" + url.PathEscape(id) + "/approve"
}

// route is how a request is put to its approvers in Slack, from its rule
// in the policy in force.
type route struct {
	// found is false when the policy in force has no rule of that name
	// (it was renamed or removed since the request was decided).
	found bool
	// channel is where the approval message goes: the rule's
	// approval.slack_channel, else slack.approval_channel; "" sends it to
	// each approver the rule names as "user:<email>" instead.
	channel string
	// approvers are the rule's "user:<email>" approvers, for DMs.
	approvers []string
	// inSlack is false when the rule says approval.in_slack: false, or
	// the rule is gone: no decision is taken in Slack then.
	inSlack     bool
	remindAfter time.Duration
	escalateTo  string
}

// routing reads r's rule from the policy in force — the policy the broker
// decides an approval with — so that a changed rule changes where new
// messages go and whether Slack may decide, at once.
func (h *Handler) routing(r *drawbridge.Request) route {
	rt := route{channel: h.ApprovalChannel}
	pol := h.Broker.Policy()
	if pol == nil {
		return rt
	}
	rule, ok := pol.Rule(r.Decision.Rule)
	if !ok {
		return rt
	}
	rt.found, rt.inSlack, rt.remindAfter, rt.escalateTo = true, rule.ApprovalInSlack, rule.RemindAfter, rule.EscalateTo
	if rule.SlackChannel != "" {
		rt.channel = rule.SlackChannel
	}
	for _, a := range rule.Approvers {
		if u, ok := strings.CutPrefix(a, "user:"); ok {
			rt.approvers = append(rt.approvers, u)
		}
	}
	return rt
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func approvals(r *drawbridge.Request) int {
	n := 0
	for _, a := range r.Approvals {
		if a.Approved {
			n++
		}
	}
	return n
}

// status is the message's last line: what became of the request, who
// decided and when.
func status(r *drawbridge.Request) string {
	at := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
	var who []string
	for _, a := range r.Approvals {
		verb := "approved"
		if !a.Approved {
			verb = "denied"
		}
		s := fmt.Sprintf("%s by %s at %s", verb, a.Approver, at(a.At))
		if a.Comment != "" {
			s += fmt.Sprintf(" (%q)", a.Comment)
		}
		who = append(who, s)
	}
	decided := strings.Join(who, "; ")
	switch r.State {
	case drawbridge.StatePendingApproval:
		if decided != "" {
			return "Waiting for approval: " + decided
		}
		return "Waiting for approval until " + at(r.ApprovalDeadline)
	case drawbridge.StateCancelled:
		if !r.ApprovalDeadline.IsZero() && !r.EndedAt.Before(r.ApprovalDeadline) {
			return "Timed out: nobody decided by " + at(r.ApprovalDeadline)
		}
		return "Cancelled by the requester at " + at(r.EndedAt)
	case drawbridge.StateDenied:
		return "Denied: " + decided
	}
	return fmt.Sprintf("%s — %s", upperFirst(decided), r.State)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// posted is one approval message: where it was sent (a channel id, or the
// Slack user id of a DM), the conversation Slack put it in, and its ts.
type posted struct{ to, channel, ts string }

// approvalMessages returns every approval message of request id: in the
// approval channel, in each approver's DMs, and the escalation.
func (h *Handler) approvalMessages(ctx context.Context, id string) ([]posted, error) {
	evs, err := h.Broker.Store.RequestEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []posted
	for _, ev := range evs {
		if ev.Action == ActionApprovalPosted {
			to := ev.Details["to"]
			if to == "" {
				to = ev.Details["channel"]
			}
			out = append(out, posted{to: to, channel: ev.Details["channel"], ts: ev.Details["ts"]})
		}
	}
	return out, nil
}

// postApproval puts r to its approvers: one message in the rule's channel
// (or slack.approval_channel), else a DM to each approver the rule names
// as a person, other than the requester. Each target gets it once: a
// redelivered event finds the targets already recorded.
func (h *Handler) postApproval(ctx context.Context, r *drawbridge.Request) error {
	rt := h.routing(r)
	if rt.channel != "" {
		return h.postApprovalTo(ctx, r, rt.channel, "")
	}
	for _, a := range rt.approvers {
		if a == r.Requester {
			continue
		}
		user, err := h.slackUser(ctx, a)
		if err != nil {
			return err
		}
		if user == "" {
			continue
		}
		if err := h.postApprovalTo(ctx, r, user, ""); err != nil {
			return err
		}
	}
	return nil
}

// postApprovalTo posts r's approval message to one channel or user, unless
// it was posted there before, and records where it is.
func (h *Handler) postApprovalTo(ctx context.Context, r *drawbridge.Request, to, why string) error {
	msgs, err := h.approvalMessages(ctx, r.ID)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.to == to {
			return nil
		}
	}
	channel, ts, err := h.API.PostMessageContext(ctx, to,
		slackapi.MsgOptionBlocks(h.approvalBlocks(r)...), slackapi.MsgOptionText(fallback(r), false))
	if err != nil {
		return fmt.Errorf("slack: post the approval message of %s to %s: %w", r.ID, to, err)
	}
	details := map[string]string{"to": to, "channel": channel, "ts": ts}
	if why != "" {
		details["why"] = why
	}
	ev := drawbridge.AuditEvent{Time: h.now(), Actor: "system:slack", Action: ActionApprovalPosted, RequestID: r.ID, Details: details}
	return h.Broker.Store.AppendAudit(ctx, ev)
}

// updateApproval rewrites every approval message of r as r now stands.
func (h *Handler) updateApproval(ctx context.Context, r *drawbridge.Request) error {
	msgs, err := h.approvalMessages(ctx, r.ID)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range msgs {
		if _, _, _, err := h.API.UpdateMessageContext(ctx, m.channel, m.ts,
			slackapi.MsgOptionBlocks(h.approvalBlocks(r)...), slackapi.MsgOptionText(fallback(r), false)); err != nil {
			errs = append(errs, fmt.Errorf("slack: update the approval message of %s in %s: %w", r.ID, m.channel, err))
		}
	}
	return errors.Join(errs...)
}

// fallback is the message's plain text, for notifications and screen
// readers.
func fallback(r *drawbridge.Request) string {
	return fmt.Sprintf("%s asks for %s for %s: %s", esc(r.Requester), esc(r.Entitlement.String()), duration.Format(r.Duration), esc(status(r)))
}
