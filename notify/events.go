package notify

import (
	"strconv"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// typeOf maps an audit action to the notification it makes; actions not
// listed (submit, provision, approval_recorded, …) make none.
var typeOf = map[string]string{
	string(drawbridge.EventRequireApproval): drawbridge.NotifyPendingApproval,
	string(drawbridge.EventAllow):           drawbridge.NotifyApproved,
	string(drawbridge.EventApprove):         drawbridge.NotifyApproved,
	string(drawbridge.EventDeny):            drawbridge.NotifyDenied,
	string(drawbridge.EventCancel):          drawbridge.NotifyCancelled,
	string(drawbridge.EventActivate):        drawbridge.NotifyGrantActive,
	drawbridge.ActionExpiryNotice:           drawbridge.NotifyGrantExpiring,
	string(drawbridge.EventConfirmExpired):  drawbridge.NotifyGrantExpired,
	string(drawbridge.EventConfirmRevoked):  drawbridge.NotifyGrantRevoked,
	// A provisioning that failed for good; or one that gave up after an
	// uncertain attempt, once what it may have created is removed.
	string(drawbridge.EventFail):          drawbridge.NotifyGrantFailed,
	string(drawbridge.EventConfirmFailed): drawbridge.NotifyGrantFailed,
	drawbridge.ActionRevokeAttemptFailed:  drawbridge.NotifyRevocationFailing,
}

// Build makes the notification that audit event ev about request r
// stands for, ok=false when it stands for none. Besides ev it reads only
// fields of r that no longer change once ev happened (the entitlement, the
// end of an ACTIVE grant, why it ended), so building it again after a
// restart gives the same notification. approvers, when non-nil, names who
// may approve under a rule.
func Build(ev drawbridge.AuditEvent, r *drawbridge.Request, approvers func(rule string) []string) (drawbridge.Notification, bool) {
	typ, ok := typeOf[ev.Action]
	if !ok || r == nil || ev.RequestID != r.ID {
		return drawbridge.Notification{}, false
	}
	d := ev.Details
	n := drawbridge.Notification{
		Type: typ, Seq: ev.Seq, Time: ev.Time, RequestID: r.ID, Principal: r.Requester,
		Provider: r.Provider, Resource: r.Resource, Role: r.Role, State: drawbridge.State(d["to"]),
		Actor: ev.Actor, Reason: r.Reason, Ticket: r.Ticket, Extends: r.Extends,
	}
	if t, err := time.Parse(time.RFC3339Nano, d["expires_at"]); err == nil {
		n.ExpiresAt = t.UTC()
	}
	switch typ {
	case drawbridge.NotifyPendingApproval:
		if approvers != nil {
			n.Approvers = approvers(d["rule"])
		}
		n.Detail = d["reason"]
	case drawbridge.NotifyDenied, drawbridge.NotifyCancelled:
		n.Detail = d["reason"]
		if r.EndReason != "" {
			n.Detail = r.EndReason // with the approver's comment
		}
	case drawbridge.NotifyGrantRevoked:
		n.Detail = r.EndReason
	case drawbridge.NotifyGrantExpiring:
		n.State = drawbridge.StateActive
	case drawbridge.NotifyGrantFailed:
		n.Detail = d["error"]
		if n.Detail == "" {
			n.Detail = r.LastError
		}
	case drawbridge.NotifyRevocationFailing:
		attempts, err := strconv.Atoi(d["attempt"])
		if err != nil || !failing(attempts) {
			return drawbridge.Notification{}, false
		}
		n.State, n.Attempts, n.Detail = drawbridge.StateRevoking, attempts, d["error"]
	}
	if n.ExpiresAt.IsZero() && (strings.HasPrefix(typ, "grant.") || typ == drawbridge.NotifyRevocationFailing) {
		n.ExpiresAt = r.ExpiresAt
	}
	return n, true
}

// failing reports whether the attempt-th failed removal makes
// revocation.failing: the RevocationFailingAfter-th, then every tenth.
func failing(attempt int) bool {
	return attempt == drawbridge.RevocationFailingAfter || attempt > 0 && attempt%10 == 0
}
