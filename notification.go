package drawbridge

import (
	"context"
	"time"
)

// Notification types: the type field of every notification. They are a
// stable contract that receivers (chat bots, incident tools) switch on.
const (
	// NotifyPendingApproval: a request waits for approval; Approvers names
	// who may give it (the rule's approvers in the policy in force).
	NotifyPendingApproval = "request.pending_approval"
	NotifyApproved        = "request.approved" // by policy or by the approval quorum
	NotifyDenied          = "request.denied"
	NotifyCancelled       = "request.cancelled" // by the requester, or the approval window elapsed
	NotifyGrantActive     = "grant.active"
	NotifyGrantExpiring   = "grant.expiring" // the pre-expiry notice
	NotifyGrantExpired    = "grant.expired"
	NotifyGrantRevoked    = "grant.revoked"
	NotifyGrantFailed     = "grant.failed"
	// NotifyRevocationFailing: the removal of a grant keeps failing and
	// access may still be in place (see RevocationFailingAfter).
	NotifyRevocationFailing = "revocation.failing"
)

// NotificationTypes lists every type, in lifecycle order.
var NotificationTypes = []string{
	NotifyPendingApproval, NotifyApproved, NotifyDenied, NotifyCancelled, NotifyGrantActive,
	NotifyGrantExpiring, NotifyGrantExpired, NotifyGrantRevoked, NotifyGrantFailed, NotifyRevocationFailing,
}

// RevocationFailingAfter is how many failed removal attempts of one grant
// make revocation.failing: sent at the third failed attempt (with the
// backoff, some seconds of failures: not a blip) and again at every tenth
// (10, 20, …; once the backoff reaches its cap, about every 50 minutes)
// for as long as the grant stays REVOKING.
const RevocationFailingAfter = 3

// Notification is one thing worth telling people, made from one audit
// event: the audit chain is the outbox, so every notification stands for
// an event already committed with the change it reports.
type Notification struct {
	Type string `json:"type"`
	// Seq is the audit event's sequence number, the idempotency key:
	// delivery is at least once, so a receiver may see one Seq twice and
	// must act on it once.
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id"`
	// Principal is the requester (canonical id).
	Principal string `json:"principal"`
	Provider  string `json:"provider"`
	Resource  string `json:"resource"`
	Role      string `json:"role"`
	// State is the request's state once the event happened.
	State     State     `json:"state"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Actor is who caused it (a person, or system:expiry).
	Actor  string `json:"actor,omitempty"`
	Reason string `json:"reason,omitempty"`
	Ticket string `json:"ticket,omitempty"`
	// Detail says why, where the type alone does not: the denial or
	// cancellation reason, who revoked and why, the provider's error.
	Detail    string   `json:"detail,omitempty"`
	Approvers []string `json:"approvers,omitempty"`
	Extends   string   `json:"extends,omitempty"`
	// Attempts counts the failed removal attempts (revocation.failing).
	Attempts int `json:"attempts,omitempty"`
}

// Notifier delivers notifications to one destination (a log, a signed
// webhook, Slack). Notify returns nil only once the destination has the
// notification; any error means "try again later", and the delivery worker
// does, with backoff, before it moves on. A notifier never sees the
// lifecycle wait for it: the worker reads committed audit events.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}
