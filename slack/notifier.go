package slack

import (
	"context"
	"fmt"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
)

// ActionExtend is the Extend button of the pre-expiry DM; its value is
// the request id.
const ActionExtend = "drawbridge_extend"

// Notify is the Slack notifier (drawbridge.Notifier), fed by a
// notify.Worker from the audit chain: a request waiting for approval gets
// its approval message; a decision, a cancellation or a timeout rewrites
// that message in place, whoever made it and through whatever channel
// (CLI, API, dashboard, Slack); and the requester gets a DM on every
// outcome and before expiry. It reads the request as it stands, so a late
// or redelivered notification shows the current state, and the approval
// message is posted once per request. A DM may come twice when a delivery
// is repeated after a crash (Slack has no idempotency key).
func (h *Handler) Notify(ctx context.Context, n drawbridge.Notification) error {
	switch n.Type {
	case drawbridge.NotifyPendingApproval, drawbridge.NotifyApproved, drawbridge.NotifyDenied, drawbridge.NotifyCancelled,
		drawbridge.NotifyGrantActive, drawbridge.NotifyGrantExpiring, drawbridge.NotifyGrantExpired,
		drawbridge.NotifyGrantRevoked, drawbridge.NotifyGrantFailed:
	default:
		return nil
	}
	r, err := h.Broker.Get(ctx, n.RequestID)
	if err != nil {
		return err
	}
	switch n.Type {
	case drawbridge.NotifyPendingApproval:
		return h.postApproval(ctx, r)
	case drawbridge.NotifyApproved, drawbridge.NotifyDenied, drawbridge.NotifyCancelled:
		if err := h.updateApproval(ctx, r); err != nil {
			return err
		}
	}
	return h.dm(ctx, n, r)
}

// dm tells the requester what became of their request.
func (h *Handler) dm(ctx context.Context, n drawbridge.Notification, r *drawbridge.Request) error {
	var text string
	var extend bool
	what := fmt.Sprintf("%s (%s for %s)", esc(r.Entitlement.String()), r.ID, duration.Format(r.Duration))
	switch n.Type {
	case drawbridge.NotifyApproved:
		if r.Decision.Effect == drawbridge.EffectAllow && len(r.Approvals) == 0 {
			return nil // allowed at once: the answer to the command said so, grant.active follows
		}
		text = fmt.Sprintf(":white_check_mark: Your request %s was approved: %s. Access follows shortly.", what, esc(status(r)))
	case drawbridge.NotifyDenied:
		text = fmt.Sprintf(":no_entry: Your request %s was denied: %s.", what, esc(orDash(n.Detail)))
	case drawbridge.NotifyCancelled:
		text = fmt.Sprintf(":heavy_minus_sign: Your request %s was cancelled: %s.", what, esc(status(r)))
	case drawbridge.NotifyGrantActive:
		text = fmt.Sprintf(":unlock: Your access %s is active until %s.", what, stamp(r.ExpiresAt))
		if h.AccessURL != "" {
			text += " Sign in at " + h.AccessURL
		}
	case drawbridge.NotifyGrantExpiring:
		text = fmt.Sprintf(":hourglass_flowing_sand: Your access %s ends at %s.", what, stamp(r.ExpiresAt))
		extend = r.State == drawbridge.StateActive
	case drawbridge.NotifyGrantExpired:
		text = fmt.Sprintf(":lock: Your access %s has ended (expired).", what)
	case drawbridge.NotifyGrantRevoked:
		text = fmt.Sprintf(":lock: Your access %s was revoked: %s.", what, esc(orDash(n.Detail)))
	case drawbridge.NotifyGrantFailed:
		text = fmt.Sprintf(":warning: Your access %s could not be provisioned: %s.", what, esc(orDash(n.Detail)))
	}
	user, err := h.slackUser(ctx, r.Requester)
	if err != nil || user == "" {
		return err
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false)}
	if extend {
		section := slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, false), nil, nil)
		btn := slackapi.NewButtonBlockElement(ActionExtend, r.ID, slackapi.NewTextBlockObject(slackapi.PlainTextType, "Extend by "+duration.Format(r.Duration), false, false))
		opts = append(opts, slackapi.MsgOptionBlocks(section, slackapi.NewActionBlock("extend", btn)))
	}
	if _, _, err := h.API.PostMessageContext(ctx, user, opts...); err != nil {
		return fmt.Errorf("slack: DM %s about %s: %w", r.Requester, r.ID, err)
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// slackUser finds who to DM: the person's linked Slack id, else the Slack
// member with their e-mail (users.lookupByEmail). "" when they have none.
func (h *Handler) slackUser(ctx context.Context, principal string) (string, error) {
	p, err := h.Broker.Directory.Resolve(ctx, principal)
	if err != nil && !drawbridge.IsUnknownPerson(err) {
		return "", err
	}
	if p != nil && p.Identity(drawbridge.IdentitySlack) != "" {
		return p.Identity(drawbridge.IdentitySlack), nil
	}
	u, err := h.API.GetUserByEmailContext(ctx, principal)
	if err != nil {
		if err.Error() == "users_not_found" {
			h.logger().Info("slack: no Slack member to DM", "principal", principal)
			return "", nil
		}
		return "", fmt.Errorf("slack: users.lookupByEmail %s: %w", principal, err)
	}
	return u.ID, nil
}
