package slack

import (
	"context"
)

// Notification types the Slack channel acts on (the domain's event
// types, DESIGN.md "Notifications").
const (
	EventPendingApproval = "request.pending_approval"
	EventApproved        = "request.approved"
	EventDenied          = "request.denied"
	EventCancelled       = "request.cancelled"
)

// Deliver acts on one notification of request id: a request waiting for
// approval gets its approval message; a decision, a cancellation or a
// timeout rewrites that message in place, whoever made it and through
// whatever channel (CLI, API, dashboard, Slack). It reads the request as
// it stands, so a redelivered or late event shows the current state, and
// posting is once per request, so delivering an event twice is harmless.
func (h *Handler) Deliver(ctx context.Context, eventType, id string) error {
	switch eventType {
	case EventPendingApproval, EventApproved, EventDenied, EventCancelled:
	default:
		return nil
	}
	r, err := h.Broker.Get(ctx, id)
	if err != nil {
		return err
	}
	if eventType == EventPendingApproval {
		return h.postApproval(ctx, r)
	}
	return h.updateApproval(ctx, r)
}
