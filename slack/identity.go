package slack

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/drawbridge-jit/drawbridge"
)

// identify maps a Slack user to the person they are: the directory entry
// whose linked Slack identity is user, or, when e-mail mapping is on, the
// entry with the e-mail users.info reports — only for a confirmed address
// on an allowed domain, of a human member of the configured workspace.
// The e-mail path trusts the workspace's admins, who can change a
// member's e-mail (docs/slack-setup.md). An unmapped user is audited and
// told so; nothing else happens.
func (h *Handler) identify(ctx context.Context, user string) (drawbridge.Caller, *drawbridge.Principal, *reply) {
	p, err := h.Broker.Directory.Resolve(ctx, drawbridge.IdentitySlack+":"+user)
	how := "linked identity"
	if drawbridge.IsUnknownPerson(err) && len(h.EmailDomains) > 0 && h.API != nil {
		var email string
		email, err = h.emailOf(ctx, user)
		if err == nil {
			p, err = h.Broker.Directory.Resolve(ctx, email)
			how = "e-mail " + email
		}
	}
	if err != nil {
		if !drawbridge.IsUnknownPerson(err) {
			h.logger().Error("slack: identity lookup failed", "user", user, "error", err)
			rep := ephemeral("Drawbridge could not look you up just now; try again in a minute.")
			return drawbridge.Caller{}, nil, &rep
		}
		h.audit(ctx, "slack:"+user, ActionUnmappedUser, map[string]string{"user_id": user, "why": drawbridge.ErrorMessage(err)})
		rep := ephemeral("Your Slack account (%s) is not linked to anyone Drawbridge knows, so it cannot act for you. Ask an admin to add `slack_id: %s` to your entry in the directory.", user, user)
		return drawbridge.Caller{}, nil, &rep
	}
	h.logger().Debug("slack user mapped", "user", user, "principal", p.ID, "via", how)
	return Caller(p, user), p, nil
}

// Caller is the caller a mapped Slack user acts as: a requester on the
// slack channel. Slack has no tokens carrying roles, so a Slack user
// approves or denies as an approver whom the matching rule's approvers
// must still name (see review): policy, not a role, decides who approves.
func Caller(p *drawbridge.Principal, slackUser string) drawbridge.Caller {
	return drawbridge.Caller{Principal: p.ID, Roles: []drawbridge.Role{drawbridge.RoleRequester},
		Channel: drawbridge.ChannelSlack, Auth: drawbridge.IdentitySlack + ":" + slackUser}
}

// emailOf returns the e-mail Slack reports for user, if it may map them.
func (h *Handler) emailOf(ctx context.Context, user string) (string, error) {
	u, err := h.API.GetUserInfoContext(ctx, user)
	if err != nil {
		return "", drawbridge.UnknownPerson("slack:"+user, "users.info: "+err.Error())
	}
	switch {
	case u.IsBot || u.Deleted:
		return "", drawbridge.UnknownPerson("slack:"+user, "a bot or deactivated Slack account")
	case h.Workspace.TeamID != "" && u.TeamID != h.Workspace.TeamID:
		return "", drawbridge.UnknownPerson("slack:"+user, "a member of another workspace")
	}
	email := strings.TrimSpace(u.Profile.Email)
	at := strings.LastIndexByte(email, '@')
	if at < 0 || drawbridge.CheckEmail(email) != nil {
		return "", drawbridge.UnknownPerson("slack:"+user, "no usable e-mail in the Slack profile")
	}
	domain := strings.ToLower(email[at+1:])
	if !slices.Contains(h.EmailDomains, domain) {
		return "", drawbridge.UnknownPerson("slack:"+user, fmt.Sprintf("e-mail domain %s is not in slack.email_domains", domain))
	}
	return email, nil
}
