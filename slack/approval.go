package slack

import (
	"context"
	"fmt"
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
// for what, for how long and why, the rule and the quorum; the buttons
// while it is pending, then who decided and when.
func approvalBlocks(r *drawbridge.Request) []slackapi.Block {
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
		approve := slackapi.NewButtonBlockElement(ActionApprove, r.ID, slackapi.NewTextBlockObject(slackapi.PlainTextType, "Approve", false, false))
		approve.Style = slackapi.StylePrimary
		deny := slackapi.NewButtonBlockElement(ActionDeny, r.ID, slackapi.NewTextBlockObject(slackapi.PlainTextType, "Deny", false, false))
		deny.Style = slackapi.StyleDanger
		blocks = append(blocks, slackapi.NewActionBlock("review", approve, deny))
	}
	blocks = append(blocks, slackapi.NewContextBlock("status", md(fmt.Sprintf("%s · %s", r.ID, esc(status(r))))))
	return blocks
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

// approvalMessage returns where r's approval message was posted, if it was.
func (h *Handler) approvalMessage(ctx context.Context, id string) (channel, ts string, err error) {
	evs, err := h.Broker.Store.RequestEvents(ctx, id)
	if err != nil {
		return "", "", err
	}
	for _, ev := range evs {
		if ev.Action == ActionApprovalPosted {
			channel, ts = ev.Details["channel"], ev.Details["ts"]
		}
	}
	return channel, ts, nil
}

// postApproval posts r's approval message to the approval channel once:
// a redelivered event finds the message already recorded.
func (h *Handler) postApproval(ctx context.Context, r *drawbridge.Request) error {
	if h.ApprovalChannel == "" {
		return nil
	}
	if _, ts, err := h.approvalMessage(ctx, r.ID); err != nil || ts != "" {
		return err
	}
	channel, ts, err := h.API.PostMessageContext(ctx, h.ApprovalChannel,
		slackapi.MsgOptionBlocks(approvalBlocks(r)...), slackapi.MsgOptionText(fallback(r), false))
	if err != nil {
		return fmt.Errorf("slack: post the approval message of %s to %s: %w", r.ID, h.ApprovalChannel, err)
	}
	ev := drawbridge.AuditEvent{Time: h.now(), Actor: "system:slack", Action: ActionApprovalPosted, RequestID: r.ID,
		Details: map[string]string{"channel": channel, "ts": ts}}
	return h.Broker.Store.AppendAudit(ctx, ev)
}

// updateApproval rewrites r's approval message, if it has one, as r now
// stands.
func (h *Handler) updateApproval(ctx context.Context, r *drawbridge.Request) error {
	channel, ts, err := h.approvalMessage(ctx, r.ID)
	if err != nil || ts == "" {
		return err
	}
	if _, _, _, err := h.API.UpdateMessageContext(ctx, channel, ts,
		slackapi.MsgOptionBlocks(approvalBlocks(r)...), slackapi.MsgOptionText(fallback(r), false)); err != nil {
		return fmt.Errorf("slack: update the approval message of %s: %w", r.ID, err)
	}
	return nil
}

// fallback is the message's plain text, for notifications and screen
// readers.
func fallback(r *drawbridge.Request) string {
	return fmt.Sprintf("%s asks for %s for %s: %s", esc(r.Requester), esc(r.Entitlement.String()), duration.Format(r.Duration), esc(status(r)))
}
