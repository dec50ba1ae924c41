package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
)

// Audit actions of reminders: a request that waited approval.remind_after
// was reminded in the threads of its approval messages, and one that
// waited twice that was sent to approval.escalate_to.
const (
	ActionApprovalReminded  = "slack_approval_reminded"
	ActionApprovalEscalated = "slack_approval_escalated"
)

// DefaultRemindEvery is how often serve looks for requests due a reminder:
// a reminder is at most this late.
const DefaultRemindEvery = 30 * time.Second

// RunReminders calls Remind every `every` on the handler's clock until ctx
// ends.
func (h *Handler) RunReminders(ctx context.Context, every time.Duration) {
	for {
		if err := h.Remind(ctx); err != nil && ctx.Err() == nil {
			h.logger().Warn("slack: approval reminders", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-h.Clock.After(every):
		}
	}
}

// Remind reminds the approvers of every pending request whose rule sets
// approval.remind_after and that has waited that long, once, in the thread
// of each of its approval messages; and sends the approval message to the
// rule's approval.escalate_to once it has waited twice that. Each happens
// once per request across every process sharing the store: the first to
// claim it in the store's single-use memory does it.
func (h *Handler) Remind(ctx context.Context) error {
	now := h.now()
	f := drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StatePendingApproval}, Limit: drawbridge.MaxListLimit}
	var errs []error
	for {
		reqs, err := h.Broker.Store.ListRequests(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range reqs {
			if err := h.remindOne(ctx, r, now); err != nil {
				errs = append(errs, err)
			}
		}
		if len(reqs) < f.Limit {
			return errors.Join(errs...)
		}
		f.Cursor = reqs[len(reqs)-1].ID
	}
}

func (h *Handler) remindOne(ctx context.Context, r *drawbridge.Request, now time.Time) error {
	rt := h.routing(r)
	if rt.remindAfter <= 0 || !now.Before(r.ApprovalDeadline) {
		return nil
	}
	waited := now.Sub(r.CreatedAt)
	if waited >= rt.remindAfter {
		if err := h.remindInThreads(ctx, r, now, waited); err != nil {
			return err
		}
	}
	if rt.escalateTo != "" && waited >= 2*rt.remindAfter {
		if first, err := h.claim(ctx, ActionApprovalEscalated, r, now); err != nil || !first {
			return err
		}
		return h.escalate(ctx, r, rt.escalateTo, waited)
	}
	return nil
}

// claim reports whether this process is the first to do what (a reminder,
// an escalation) for r. The claim lasts until r's approval deadline, after
// which r is no longer pending.
func (h *Handler) claim(ctx context.Context, what string, r *drawbridge.Request, now time.Time) (bool, error) {
	if h.Verifier == nil || h.Verifier.Replay == nil {
		return false, errors.New("slack: reminders need the store's single-use memory (Verifier.Replay)")
	}
	return h.Verifier.Replay.FirstUse(ctx, what+":"+r.ID, now, r.ApprovalDeadline.Add(time.Minute))
}

// remindInThreads replies in the thread of each approval message of r,
// once. A request whose message is not posted yet is reminded at a later
// sweep.
func (h *Handler) remindInThreads(ctx context.Context, r *drawbridge.Request, now time.Time, waited time.Duration) error {
	msgs, err := h.approvalMessages(ctx, r.ID)
	if err != nil || len(msgs) == 0 {
		return err
	}
	if first, err := h.claim(ctx, ActionApprovalReminded, r, now); err != nil || !first {
		return err
	}
	text := fmt.Sprintf(":bell: %s has waited %s for approval (%d of %d so far); it is cancelled if nobody decides by %s.",
		r.ID, duration.Format(waited.Truncate(time.Minute)), approvals(r), r.Decision.ApprovalsRequired, stamp(r.ApprovalDeadline))
	var errs []error
	for _, m := range msgs {
		if _, _, err := h.API.PostMessageContext(ctx, m.channel, slackapi.MsgOptionText(text, false), slackapi.MsgOptionTS(m.ts)); err != nil {
			errs = append(errs, fmt.Errorf("slack: remind about %s in %s: %w", r.ID, m.channel, err))
		}
	}
	return errors.Join(append(errs, h.requestEvent(ctx, r.ID, ActionApprovalReminded, map[string]string{"messages": fmt.Sprint(len(msgs))}))...)
}

// escalate sends r's approval message to the rule's escalate_to: a
// channel, or a person ("user:<email>") as a DM. It is recorded like
// every approval message, so it is updated in place when r is decided.
func (h *Handler) escalate(ctx context.Context, r *drawbridge.Request, to string, waited time.Duration) error {
	target := to
	if email, ok := strings.CutPrefix(to, "user:"); ok {
		user, err := h.slackUser(ctx, email)
		if err != nil {
			return err
		}
		if user == "" {
			h.logger().Warn("slack: nobody in Slack to escalate to", "request", r.ID, "escalate_to", to)
			return nil
		}
		target = user
	}
	if err := h.requestEvent(ctx, r.ID, ActionApprovalEscalated, map[string]string{"escalate_to": to,
		"waited": duration.Format(waited.Truncate(time.Minute))}); err != nil {
		return err
	}
	return h.postApprovalTo(ctx, r, target, "escalation")
}

// requestEvent records what the Slack channel did about request id in
// its audit trail.
func (h *Handler) requestEvent(ctx context.Context, id, action string, details map[string]string) error {
	return h.Broker.Store.AppendAudit(ctx, drawbridge.AuditEvent{Time: h.now(), Actor: "system:slack", Action: action, RequestID: id, Details: details})
}
