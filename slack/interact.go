package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
)

// interaction answers a click on an approval message's buttons (in a
// channel, a DM or the App Home) and the submission of a modal. A click
// runs the broker's checks like every channel's review (an approver the
// rule names, never the requester, distinct people for a quorum); what is
// refused is explained to the clicker alone and changes nothing. The
// work runs after Slack is answered; a non-nil reply is the immediate
// answer.
func (h *Handler) interaction(ctx context.Context, payload []byte) (*reply, error) {
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal(payload, &cb); err != nil {
		return nil, errors.New("the payload is not JSON")
	}
	team := cb.Team.ID
	if cb.User.TeamID != "" && cb.User.TeamID != team {
		// A Slack Connect user clicking in our workspace's channel.
		team = cb.User.TeamID
	}
	if !h.checkWorkspace(ctx, team, cb.APIAppID, cb.Enterprise.ID, cb.User.ID) {
		rep := ephemeral("This Drawbridge does not serve your workspace.")
		return &rep, nil
	}
	later := func(fn func(context.Context)) {
		h.background(func() { fn(context.WithoutCancel(ctx)) })
	}
	switch cb.Type {
	case slackapi.InteractionTypeBlockActions:
		if len(cb.ActionCallback.BlockActions) != 1 {
			return nil, nil
		}
		// Slack ignores the answer to a click: the outcome goes to
		// response_url (or, from the App Home, a DM), seen by the
		// clicker alone.
		act := cb.ActionCallback.BlockActions[0]
		switch act.ActionID {
		case ActionApprove:
			later(func(ctx context.Context) { h.review(ctx, cb, act.Value, true, "") })
		case ActionExtend:
			later(func(ctx context.Context) { h.extendClick(ctx, cb, act.Value) })
		case ActionDeny:
			later(func(ctx context.Context) { h.openDenyModal(ctx, cb, act.Value) })
		}
	case slackapi.InteractionTypeViewSubmission:
		switch cb.View.CallbackID {
		case callbackDetails:
			later(func(ctx context.Context) { h.submitDetails(ctx, cb) })
		case callbackDeny:
			reason := cb.View.State.Values[denyBlock][denyInput].Value
			// The modal closes at once. A submission has no response_url
			// of its own: the click's rides in the modal's metadata, so a
			// refusal is explained where the approver clicked.
			id, responseURL, _ := strings.Cut(cb.View.PrivateMetadata, "\n")
			cb.ResponseURL = responseURL
			later(func(ctx context.Context) { h.review(ctx, cb, id, false, reason) })
		}
	}
	return nil, nil
}

// reviewer is the caller a Slack user reviews as. Slack has no tokens
// carrying roles, so whoever clicks reviews as an approver and the policy
// decides: the broker admits only approvers the request's rule names.
func reviewer(c drawbridge.Caller) drawbridge.Caller {
	c.Roles = append(c.Roles, drawbridge.RoleApprover)
	return c
}

// review approves or denies request id for the Slack user of cb and tells
// them the outcome; the approval message itself is rewritten from the
// request as it now stands.
func (h *Handler) review(ctx context.Context, cb slackapi.InteractionCallback, id string, approve bool, reason string) {
	ctx, cancel := context.WithTimeout(ctx, timeLimit)
	defer cancel()
	c, p, refused := h.identify(ctx, cb.User.ID)
	if refused != nil {
		h.tell(ctx, cb, *refused)
		return
	}
	if !h.decidedInSlack(ctx, cb, id) {
		return
	}
	c = reviewer(c)
	var req *drawbridge.Request
	var err error
	if approve {
		req, err = h.Broker.Approve(ctx, id, p.ID, "", c, broker.ProvisionInBackground)
	} else {
		req, err = h.Broker.Deny(ctx, id, p.ID, reason, c)
	}
	if err != nil {
		h.tell(ctx, cb, h.failure(err))
		return
	}
	if err := h.updateApproval(ctx, req); err != nil {
		h.logger().Warn("slack: approval message not updated", "request", id, "error", err)
	}
	if cb.View.Type == slackapi.VTHomeTab {
		if err := h.PublishHome(ctx, cb.User.ID); err != nil {
			h.logger().Warn("slack: App Home not refreshed", "user", cb.User.ID, "error", err)
		}
	}
	verb := "approved"
	if !approve {
		verb = "denied"
	}
	h.tell(ctx, cb, ephemeral("You %s %s; it is now %s.", verb, req.ID, req.State))
}

// decidedInSlack reports whether request id's rule lets Slack decide it,
// and otherwise tells the clicker where to: a rule with
// approval.in_slack: false — or one no longer in the policy — is decided
// on the dashboard only, after a fresh sign-in, whatever button a stale
// message still shows.
func (h *Handler) decidedInSlack(ctx context.Context, cb slackapi.InteractionCallback, id string) bool {
	req, err := h.Broker.Get(ctx, id)
	if err != nil {
		h.tell(ctx, cb, h.failure(err))
		return false
	}
	if h.routing(req).inSlack {
		return true
	}
	h.tell(ctx, cb, ephemeral("Requests under rule %s are approved or denied on the dashboard, after a fresh sign-in: %s",
		esc(req.Decision.Rule), h.approvePage(req.ID)))
	return false
}

// tell answers the user behind cb alone: on the message's response_url
// for a click, else as an ephemeral message in the channel it came from,
// else (a click in the App Home, which has neither) in a DM.
func (h *Handler) tell(ctx context.Context, cb slackapi.InteractionCallback, rep reply) {
	if cb.ResponseURL != "" {
		h.postResponse(ctx, cb.ResponseURL, rep)
		return
	}
	if h.API == nil {
		return
	}
	var err error
	if cb.Channel.ID != "" {
		_, err = h.API.PostEphemeralContext(ctx, cb.Channel.ID, cb.User.ID, slackapi.MsgOptionText(rep.Text, false))
	} else {
		_, _, err = h.API.PostMessageContext(ctx, cb.User.ID, slackapi.MsgOptionText(rep.Text, false))
	}
	if err != nil {
		h.logger().Warn("slack: answer not posted", "error", err)
	}
}

// openDenyModal asks the approver why they deny (the reason is recorded
// with the denial and shown to the requester).
func (h *Handler) openDenyModal(ctx context.Context, cb slackapi.InteractionCallback, id string) {
	ctx, cancel := context.WithTimeout(ctx, timeLimit)
	defer cancel()
	if !h.decidedInSlack(ctx, cb, id) {
		return
	}
	input := slackapi.NewInputBlock(denyBlock, slackapi.NewTextBlockObject(slackapi.PlainTextType, "Why deny it?", false, false), nil,
		slackapi.NewPlainTextInputBlockElement(slackapi.NewTextBlockObject(slackapi.PlainTextType, "The requester sees this", false, false), denyInput))
	view := slackapi.ModalViewRequest{
		Type:            slackapi.VTModal,
		CallbackID:      callbackDeny,
		PrivateMetadata: id + "\n" + cb.ResponseURL,
		Title:           slackapi.NewTextBlockObject(slackapi.PlainTextType, "Deny request", false, false),
		Submit:          slackapi.NewTextBlockObject(slackapi.PlainTextType, "Deny", false, false),
		Close:           slackapi.NewTextBlockObject(slackapi.PlainTextType, "Cancel", false, false),
		Blocks:          slackapi.Blocks{BlockSet: []slackapi.Block{input}},
	}
	if _, err := h.API.OpenViewContext(ctx, cb.TriggerID, view); err != nil {
		h.logger().Warn("slack: deny modal not opened", "request", id, "error", err)
		h.tell(ctx, cb, ephemeral("Slack would not open the deny form (%s); deny %s with `drawbridge deny` or the API instead.", esc(err.Error()), id))
	}
}

// extendClick runs the pre-expiry DM's Extend button: an extension by the
// grant's own duration, decided by policy like `extend` anywhere else.
func (h *Handler) extendClick(ctx context.Context, cb slackapi.InteractionCallback, id string) {
	ctx, cancel := context.WithTimeout(ctx, timeLimit)
	defer cancel()
	c, _, refused := h.identify(ctx, cb.User.ID)
	if refused != nil {
		h.tell(ctx, cb, *refused)
		return
	}
	req, err := h.load(ctx, c, id)
	if err == nil {
		req, err = h.Broker.Extend(ctx, req.ID, req.Duration, "", "", c, broker.ProvisionInBackground)
	}
	if err != nil {
		h.tell(ctx, cb, h.failure(err))
		return
	}
	h.tell(ctx, cb, ephemeral("Extension %s", outcome(req)))
}
