package drawbridge

import (
	"encoding/json"
	"time"
)

// requestJSON is the request object of the stable contract (CLI --output
// json, the HTTP API): flat, snake_case, RFC 3339 times, null when unset.
type requestJSON struct {
	ID                string     `json:"id"`
	State             State      `json:"state"`
	Requester         string     `json:"requester"`
	Provider          string     `json:"provider"`
	Resource          string     `json:"resource"`
	Role              string     `json:"role"`
	DurationSeconds   int64      `json:"duration_seconds"`
	Reason            string     `json:"reason"`
	Ticket            string     `json:"ticket"`
	Channel           Channel    `json:"channel"`
	Rule              string     `json:"rule"`
	PolicySHA256      string     `json:"policy_sha256"`
	DecisionReason    string     `json:"decision_reason"`
	Extends           string     `json:"extends,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	DecidedAt         *time.Time `json:"decided_at"`
	ApprovalDeadline  *time.Time `json:"approval_deadline"`
	ProvisionStarted  *time.Time `json:"provision_started_at"`
	ActivatedAt       *time.Time `json:"activated_at"`
	ExpiresAt         *time.Time `json:"expires_at"`
	EndedAt           *time.Time `json:"ended_at"`
	Approvals         []Approval `json:"approvals"`
	ApprovalsRequired int        `json:"approvals_required"`
	RevokeAttempts    int        `json:"revoke_attempts"`
	ProvisionAttempts int        `json:"provision_attempts"`
	StandingAccess    bool       `json:"preexisting_access"`
	LastError         string     `json:"last_error"`
	EndReason         string     `json:"end_reason,omitempty"`
	Version           int        `json:"version"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func timeVal(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// MarshalJSON renders the contract's request object.
func (r *Request) MarshalJSON() ([]byte, error) {
	approvals := r.Approvals
	if approvals == nil {
		approvals = []Approval{}
	}
	return json.Marshal(requestJSON{
		ID: r.ID, State: r.State, Requester: r.Requester,
		Provider: r.Provider, Resource: r.Resource, Role: r.Role,
		DurationSeconds: r.DurationSeconds(), Reason: r.Reason, Ticket: r.Ticket, Channel: r.Channel,
		Rule: r.Decision.Rule, PolicySHA256: r.Decision.PolicySHA, DecisionReason: r.Decision.Reason,
		Extends: r.Extends, CreatedAt: r.CreatedAt.UTC(), DecidedAt: timePtr(r.DecidedAt),
		ApprovalDeadline: timePtr(r.ApprovalDeadline), ProvisionStarted: timePtr(r.ProvisionStartedAt), ActivatedAt: timePtr(r.ActivatedAt),
		ExpiresAt: timePtr(r.ExpiresAt), EndedAt: timePtr(r.EndedAt), Approvals: approvals,
		ApprovalsRequired: r.Decision.ApprovalsRequired, RevokeAttempts: r.RevokeAttempts, ProvisionAttempts: r.ProvisionAttempts,
		StandingAccess: r.PreexistingAccess, LastError: r.LastError, EndReason: r.EndReason, Version: r.Version,
	})
}

// UnmarshalJSON reads the contract's request object (remote-mode CLI).
func (r *Request) UnmarshalJSON(b []byte) error {
	var j requestJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Request{
		ID: j.ID, State: j.State, Requester: j.Requester,
		Entitlement: Entitlement{Provider: j.Provider, Resource: j.Resource, Role: j.Role},
		Duration:    time.Duration(j.DurationSeconds) * time.Second, Reason: j.Reason, Ticket: j.Ticket,
		Channel: j.Channel, Extends: j.Extends,
		Decision: Decision{Rule: j.Rule, PolicySHA: j.PolicySHA256, Reason: j.DecisionReason,
			ApprovalsRequired: j.ApprovalsRequired},
		CreatedAt: j.CreatedAt, DecidedAt: timeVal(j.DecidedAt), ApprovalDeadline: timeVal(j.ApprovalDeadline),
		ProvisionStartedAt: timeVal(j.ProvisionStarted), ActivatedAt: timeVal(j.ActivatedAt), ExpiresAt: timeVal(j.ExpiresAt), EndedAt: timeVal(j.EndedAt),
		Approvals: j.Approvals, RevokeAttempts: j.RevokeAttempts, ProvisionAttempts: j.ProvisionAttempts,
		PreexistingAccess: j.StandingAccess, LastError: j.LastError,
		EndReason: j.EndReason, Version: j.Version,
	}
	return nil
}
