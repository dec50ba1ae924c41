package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	slackapi "github.com/slack-go/slack"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
)

// homeListLimit bounds each list of the App Home: Slack allows 100 blocks
// in a view, and each request waiting for approval takes three.
const homeListLimit = 10

// event answers one Events API payload (POST /slack/events, or an
// events_api envelope over Socket Mode): Slack's URL verification gets its
// challenge back; app_home_opened from the configured workspace publishes
// the user's App Home in the background. Anything else is acknowledged
// and ignored.
func (h *Handler) event(ctx context.Context, body []byte) (challenge string, err error) {
	var ev struct {
		Type         string `json:"type"`
		Challenge    string `json:"challenge"`
		TeamID       string `json:"team_id"`
		APIAppID     string `json:"api_app_id"`
		EnterpriseID string `json:"enterprise_id"`
		Event        struct {
			Type string `json:"type"`
			User string `json:"user"`
			Tab  string `json:"tab"`
		} `json:"event"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return "", fmt.Errorf("the event is not JSON: %w", err)
	}
	switch ev.Type {
	case "url_verification":
		return ev.Challenge, nil
	case "event_callback":
	default:
		return "", nil
	}
	if ev.Event.Type != "app_home_opened" || ev.Event.Tab != "home" {
		return "", nil
	}
	if !h.checkWorkspace(ctx, ev.TeamID, ev.APIAppID, ev.EnterpriseID, ev.Event.User) {
		return "", nil
	}
	user := ev.Event.User
	h.background(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeLimit)
		defer cancel()
		if err := h.PublishHome(ctx, user); err != nil {
			h.logger().Warn("slack: App Home not published", "user", user, "error", err)
		}
	})
	return "", nil
}

// PublishHome publishes the App Home of Slack user `user` (views.publish):
// their active grants with when each ends, their requests waiting for
// approval, and — when they approve under some rule — the requests
// waiting for them, each with its Approve and Deny buttons (or the link to
// the dashboard for rules decided there). A user who maps to nobody sees
// why, and an admin the line to add.
func (h *Handler) PublishHome(ctx context.Context, user string) error {
	c, p, refused := h.identify(ctx, user)
	var blocks []slackapi.Block
	if refused != nil {
		blocks = []slackapi.Block{section(refused.Text)}
	} else {
		var err error
		if blocks, err = h.home(ctx, c, p); err != nil {
			return err
		}
	}
	view := slackapi.HomeTabViewRequest{Type: slackapi.VTHomeTab, CallbackID: "drawbridge_home", Blocks: slackapi.Blocks{BlockSet: blocks}}
	_, err := h.API.PublishViewContext(ctx, slackapi.PublishViewContextRequest{UserID: user, View: view})
	return err
}

func section(text string) *slackapi.SectionBlock {
	return slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, false), nil, nil)
}

func header(text string) *slackapi.HeaderBlock {
	return slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, text, false, false))
}

// home renders the App Home of caller c (person p).
func (h *Handler) home(ctx context.Context, c drawbridge.Caller, p *drawbridge.Principal) ([]slackapi.Block, error) {
	mine := func(states ...drawbridge.State) ([]*drawbridge.Request, error) {
		f := drawbridge.RequestFilter{States: states, Limit: homeListLimit}
		if err := c.Narrow(&f); err != nil {
			return nil, err
		}
		return h.Broker.List(ctx, f)
	}
	active, err := mine(drawbridge.StateActive)
	if err != nil {
		return nil, err
	}
	pending, err := mine(drawbridge.StatePendingApproval)
	if err != nil {
		return nil, err
	}
	blocks := []slackapi.Block{header("Your access")}
	if len(active) == 0 {
		blocks = append(blocks, section(fmt.Sprintf("No active grants. Ask with `%s <resource> <role> <hours>`.", h.cmd())))
	}
	for _, r := range active {
		blocks = append(blocks, section(fmt.Sprintf(":unlock: *%s* — %s, until %s", esc(r.Entitlement.String()), r.ID, stamp(r.ExpiresAt))))
	}
	blocks = append(blocks, header("Your requests waiting for approval"))
	if len(pending) == 0 {
		blocks = append(blocks, section("None."))
	}
	for _, r := range pending {
		blocks = append(blocks, section(fmt.Sprintf(":hourglass: *%s* for %s — %s, %d of %d approvals, until %s",
			esc(r.Entitlement.String()), duration.Format(r.Duration), r.ID, approvals(r), r.Decision.ApprovalsRequired, stamp(r.ApprovalDeadline))))
	}
	waiting, err := h.waitingFor(ctx, p)
	if err != nil {
		return nil, err
	}
	if len(waiting) > 0 {
		blocks = append(blocks, header("Waiting for your approval"))
		for _, r := range waiting {
			blocks = append(blocks, uniqueBlockIDs(h.approvalBlocks(r), r.ID)...)
			blocks = append(blocks, slackapi.NewDividerBlock())
		}
	}
	return blocks, nil
}

// waitingFor returns the pending requests p may approve: p is an approver
// of the rule in force, not the requester, and has not decided yet. The
// broker checks all of it again on a click.
func (h *Handler) waitingFor(ctx context.Context, p *drawbridge.Principal) ([]*drawbridge.Request, error) {
	pol := h.Broker.Policy()
	if pol == nil {
		return nil, nil
	}
	f := drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StatePendingApproval}, Limit: drawbridge.MaxListLimit}
	var out []*drawbridge.Request
	for {
		page, err := h.Broker.Store.ListRequests(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			rule, ok := pol.Rule(r.Decision.Rule)
			if !ok || r.Requester == p.ID || !rule.IsApprover(p) || slices.ContainsFunc(r.Approvals, func(a drawbridge.Approval) bool { return a.Approver == p.ID }) {
				continue
			}
			if out = append(out, r); len(out) == homeListLimit {
				return out, nil
			}
		}
		if len(page) < f.Limit {
			return out, nil
		}
		f.Cursor = page[len(page)-1].ID
	}
}

// uniqueBlockIDs suffixes the block ids of one request's blocks, which
// must be unique within a view that shows several requests.
func uniqueBlockIDs(blocks []slackapi.Block, suffix string) []slackapi.Block {
	for _, b := range blocks {
		switch b := b.(type) {
		case *slackapi.SectionBlock:
			b.BlockID += "_" + suffix
		case *slackapi.ActionBlock:
			b.BlockID += "_" + suffix
		case *slackapi.ContextBlock:
			b.BlockID += "_" + suffix
		}
	}
	return blocks
}
