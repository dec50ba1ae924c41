package drawbridge

import "time"

// AuditEvent is one append-only record of something that happened. Seq,
// PrevHash and Hash are filled in by the store when it appends the event in
// the same transaction as the change it records.
type AuditEvent struct {
	Seq       int64             `json:"seq"`
	Time      time.Time         `json:"time"`
	Actor     string            `json:"actor"`
	Action    string            `json:"action"`
	RequestID string            `json:"request_id,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
	PrevHash  string            `json:"prev_hash"`
	Hash      string            `json:"hash"`
}

// Audit actions that are not state transitions.
const (
	ActionRevokeAttemptFailed    = "revoke_attempt_failed"
	ActionProvisionAttemptFailed = "provision_attempt_failed"
	ActionApprovalRecorded       = "approval_recorded"
	// The provider accepted a grant or a removal and is still working on
	// it: not a failed attempt (drawbridge.Pending).
	ActionProvisionPending = "provision_pending"
	ActionRevokePending    = "revoke_pending"
	// ActionExpiryNotice records that an ACTIVE grant's pre-expiry notice
	// came due (Request.NoticeAt): the outbox entry of grant.expiring.
	ActionExpiryNotice = "expiry_notice"
)
