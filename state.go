package drawbridge

import "fmt"

// State is a request's lifecycle state. The names are the canonical,
// upper-case ones users see in every channel.
type State string

const (
	StateNew             State = "NEW" // only before the first decision is recorded; never persisted
	StatePendingApproval State = "PENDING_APPROVAL"
	StateApproved        State = "APPROVED"
	StateProvisioning    State = "PROVISIONING"
	StateActive          State = "ACTIVE"
	StateRevoking        State = "REVOKING"
	StateDenied          State = "DENIED"
	StateCancelled       State = "CANCELLED"
	StateFailed          State = "FAILED"
	StateExpired         State = "EXPIRED"
	StateRevoked         State = "REVOKED"
)

// States lists every persisted state, in lifecycle order.
var States = []State{
	StatePendingApproval, StateApproved, StateProvisioning, StateActive, StateRevoking,
	StateDenied, StateCancelled, StateFailed, StateExpired, StateRevoked,
}

// ParseState returns the state named s (canonical upper-case name).
func ParseState(s string) (State, error) {
	for _, st := range States {
		if string(st) == s {
			return st, nil
		}
	}
	return "", Errorf(EINVALID, "unknown state %q (valid: %s)", s, joinStates(States))
}

func joinStates(ss []State) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += string(s)
	}
	return out
}

// Terminal reports whether nothing can leave s.
func (s State) Terminal() bool {
	switch s {
	case StateDenied, StateCancelled, StateFailed, StateExpired, StateRevoked:
		return true
	}
	return false
}

// Event is something that moves a request between states.
type Event string

const (
	EventAllow           Event = "allow"            // policy allowed at submission
	EventRequireApproval Event = "require_approval" // policy wants approval
	EventDeny            Event = "deny"             // policy or an approver denied
	EventApprove         Event = "approve"          // the approval quorum was reached
	EventCancel          Event = "cancel"           // requester cancelled, or the approval window elapsed
	EventProvision       Event = "provision"        // provisioning started
	EventActivate        Event = "activate"         // the provider confirmed the grant
	EventFail            Event = "fail"             // provisioning failed for good
	EventExpire          Event = "expire"           // expires_at reached: start revoking
	EventRevoke          Event = "revoke"           // revoked early: start revoking
	EventConfirmExpired  Event = "confirm_expired"  // provider confirmed the removal of an expired grant
	EventConfirmRevoked  Event = "confirm_revoked"  // provider confirmed the removal of a revoked grant
	EventAbandon         Event = "abandon"          // provisioning gave up after an attempt that may have created the assignment: remove it
	EventConfirmFailed   Event = "confirm_failed"   // provider confirmed the removal of an abandoned grant
)

// Events lists every event.
var Events = []Event{
	EventAllow, EventRequireApproval, EventDeny, EventApprove, EventCancel, EventProvision,
	EventActivate, EventFail, EventExpire, EventRevoke, EventConfirmExpired, EventConfirmRevoked,
	EventAbandon, EventConfirmFailed,
}

type edge struct {
	from State
	ev   Event
}

// transitions is the whole lifecycle of DESIGN.md; anything not listed is
// illegal.
var transitions = map[edge]State{
	{StateNew, EventAllow}:               StateApproved,
	{StateNew, EventRequireApproval}:     StatePendingApproval,
	{StateNew, EventDeny}:                StateDenied,
	{StatePendingApproval, EventApprove}: StateApproved,
	{StatePendingApproval, EventDeny}:    StateDenied,
	{StatePendingApproval, EventCancel}:  StateCancelled,
	{StateApproved, EventProvision}:      StateProvisioning,
	{StateProvisioning, EventActivate}:   StateActive,
	{StateProvisioning, EventFail}:       StateFailed,
	{StateActive, EventExpire}:           StateRevoking,
	{StateActive, EventRevoke}:           StateRevoking,
	{StateRevoking, EventConfirmExpired}: StateExpired,
	{StateRevoking, EventConfirmRevoked}: StateRevoked,
	{StateProvisioning, EventAbandon}:    StateRevoking,
	{StateRevoking, EventConfirmFailed}:  StateFailed,
}

// Transition is the state machine: the state that event ev leads to from
// state from, or an ECONFLICT error when the move is illegal. It is pure, and
// every state change in Drawbridge goes through it.
func Transition(from State, ev Event) (State, error) {
	if to, ok := transitions[edge{from, ev}]; ok {
		return to, nil
	}
	if from.Terminal() {
		return from, &Error{Code: ECONFLICT, Message: fmt.Sprintf("request is %s, a final state: cannot %s", from, ev)}
	}
	return from, &Error{Code: ECONFLICT, Message: fmt.Sprintf("cannot %s a request that is %s", ev, from)}
}
