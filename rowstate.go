package drawbridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"
)

// Rows bound to the chain. A request row is a mutable copy that anyone
// with write access to the store can edit; the audit chain is append-only
// and its hashes (and checkpoints) make edits to it detectable. So every
// write of a request records, inside the details of one of the audit
// events written in the same transaction, the request's access-relevant
// state after the write (DetailRequestState) and its digest
// (DetailRequestDigest). The event's hash covers both. A row that no
// longer matches the last state its events record was edited outside
// Drawbridge: verify names it, and revocation acts on the recorded state.

// Audit detail keys of the recorded request state.
const (
	// DetailRequestState holds RequestState's canonical JSON.
	DetailRequestState = "request_state"
	// DetailRequestDigest holds RequestState.Digest of that JSON.
	DetailRequestDigest = "request_digest"
)

// ActionStateRecorded is the audit action the store appends when a write
// changes a request's recorded state without an event of its own (a work
// lease that also records when provisioning began, a deletion claim asked
// for again), so that the chain always holds the state of the row.
const ActionStateRecorded = "state_recorded"

// StateRecorder is the actor of ActionStateRecorded events.
const StateRecorder = "system:store"

// requestStateVersion is hashed first, so that a change of the canonical
// state can never produce a digest equal to one of this version.
const requestStateVersion = "drawbridge-request-state-v1\n"

// RequestState is the part of a request that decides who has, or may get,
// which access and until when — what an attacker with write access to the
// requests table would edit to gain or keep access, or to hide that it
// was granted. It is the one definition of the state the audit chain
// binds; the JSON names are the row's column names, so a mismatch names
// the column that was edited.
//
// Left out, because editing them grants or keeps no access: the reason,
// ticket and channel (shown, not enforced; the submit event records them),
// approval comments, the policy hash, the bookkeeping of attempts (counts,
// next attempt, last error, notice time), and why and by whom a grant
// ended (the revoke event records them).
type RequestState struct {
	ID        string `json:"id"`
	Requester string `json:"requester"`
	Provider  string `json:"provider"`
	Resource  string `json:"resource"`
	Role      string `json:"role"`
	// Duration decides ExpiresAt when the grant activates.
	Duration int64  `json:"duration_ns"`
	State    State  `json:"state"`
	Effect   Effect `json:"effect"`
	// Rule names the policy rule whose approvers may approve.
	Rule string `json:"rule"`
	// ApprovalsRequired is the quorum approve checks against.
	ApprovalsRequired int             `json:"approvals_required"`
	Approvals         []ApprovalState `json:"approvals"`
	Extends           string          `json:"extends"`
	ApprovalDeadline  string          `json:"approval_deadline"`
	ActivatedAt       string          `json:"activated_at"`
	ExpiresAt         string          `json:"expires_at"`
	EndedAt           string          `json:"ended_at"`
	// ProvisionStartedAt is when access could first have begun: expiry
	// counts from it and standing access is judged since it.
	ProvisionStartedAt string `json:"provision_started_at"`
	// PrincipalRef and GrantRef name what revocation deletes.
	PrincipalRef      string `json:"principal_ref"`
	GrantRef          string `json:"grant_ref"`
	PreexistingAccess bool   `json:"preexisting_access"`
	DeletesAssignment bool   `json:"deletes_assignment"`
}

// ApprovalState is one verdict as RequestState records it.
type ApprovalState struct {
	Approver string `json:"approver"`
	Approved bool   `json:"approved"`
	By       string `json:"by"`
	At       string `json:"at"`
}

// StateOf returns r's recorded state.
func StateOf(r *Request) RequestState {
	s := RequestState{
		ID: r.ID, Requester: r.Requester, Provider: r.Provider, Resource: r.Resource, Role: r.Role,
		Duration: int64(r.Duration), State: r.State, Effect: r.Decision.Effect, Rule: r.Decision.Rule,
		ApprovalsRequired: r.Decision.ApprovalsRequired, Approvals: []ApprovalState{}, Extends: r.Extends,
		ApprovalDeadline: stateTime(r.ApprovalDeadline), ActivatedAt: stateTime(r.ActivatedAt),
		ExpiresAt: stateTime(r.ExpiresAt), EndedAt: stateTime(r.EndedAt),
		ProvisionStartedAt: stateTime(r.ProvisionStartedAt),
		PrincipalRef:       r.PrincipalRef, GrantRef: r.GrantRef,
		PreexistingAccess: r.PreexistingAccess, DeletesAssignment: r.DeletesAssignment,
	}
	for _, a := range r.Approvals {
		s.Approvals = append(s.Approvals, ApprovalState{Approver: a.Approver, Approved: a.Approved, By: a.By, At: stateTime(a.At)})
	}
	return s
}

// stateTime is the one text of a time in a RequestState: UTC, nanoseconds
// (the stores keep nanoseconds), empty for the zero time.
func stateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Canonical returns s as JSON with the fields in declaration order and no
// insignificant space: the exact text recorded and digested.
func (s RequestState) Canonical() string {
	b, err := json.Marshal(s)
	if err != nil {
		// Strings, numbers and booleans only: marshalling cannot fail.
		panic("drawbridge: encode request state: " + err.Error())
	}
	return string(b)
}

// Digest returns the hex SHA-256 of s's canonical JSON.
func (s RequestState) Digest() string { return DigestOf(s.Canonical()) }

// DigestOf returns the digest of a recorded canonical state text.
func DigestOf(canonical string) string {
	sum := sha256.Sum256([]byte(requestStateVersion + canonical))
	return hex.EncodeToString(sum[:])
}

// ParseRequestState decodes a recorded state; ok is false when text is not
// exactly the canonical JSON of a RequestState (unknown or missing fields,
// another order, extra space): a recorded state that does not re-encode to
// itself was not written by Drawbridge.
func ParseRequestState(text string) (RequestState, bool) {
	var s RequestState
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return RequestState{}, false
	}
	return s, s.Canonical() == text
}

// Diff names the fields (JSON names, which are the row's columns) in which
// s and o differ, in declaration order.
func (s RequestState) Diff(o RequestState) []string {
	var out []string
	add := func(name string, differ bool) {
		if differ {
			out = append(out, name)
		}
	}
	add("id", s.ID != o.ID)
	add("requester", s.Requester != o.Requester)
	add("provider", s.Provider != o.Provider)
	add("resource", s.Resource != o.Resource)
	add("role", s.Role != o.Role)
	add("duration_ns", s.Duration != o.Duration)
	add("state", s.State != o.State)
	add("effect", s.Effect != o.Effect)
	add("rule", s.Rule != o.Rule)
	add("approvals_required", s.ApprovalsRequired != o.ApprovalsRequired)
	add("approvals", !slices.Equal(s.Approvals, o.Approvals))
	add("extends", s.Extends != o.Extends)
	add("approval_deadline", s.ApprovalDeadline != o.ApprovalDeadline)
	add("activated_at", s.ActivatedAt != o.ActivatedAt)
	add("expires_at", s.ExpiresAt != o.ExpiresAt)
	add("ended_at", s.EndedAt != o.EndedAt)
	add("provision_started_at", s.ProvisionStartedAt != o.ProvisionStartedAt)
	add("principal_ref", s.PrincipalRef != o.PrincipalRef)
	add("grant_ref", s.GrantRef != o.GrantRef)
	add("preexisting_access", s.PreexistingAccess != o.PreexistingAccess)
	add("deletes_assignment", s.DeletesAssignment != o.DeletesAssignment)
	return out
}

// Recorded returns the state the last of events (a request's events in
// sequence order) records, and the seq of that event; ok is false when no
// event records a state. A recorded state whose digest does not match, or
// that is not canonical, is returned with ok true and valid false: it was
// written by someone else, and the row cannot be trusted against it.
func Recorded(events []AuditEvent) (s RequestState, seq int64, ok, valid bool) {
	for i := len(events) - 1; i >= 0; i-- {
		text, has := events[i].Details[DetailRequestState]
		if !has {
			continue
		}
		s, valid = ParseRequestState(text)
		valid = valid && DigestOf(text) == events[i].Details[DetailRequestDigest]
		return s, events[i].Seq, true, valid
	}
	return RequestState{}, 0, false, false
}

// RowCheck is how a request row compares with the state its audit events
// record.
type RowCheck struct {
	// Bound is true when an event records the request's state.
	Bound bool `json:"bound"`
	// Seq is the event that recorded it.
	Seq int64 `json:"seq,omitempty"`
	// Mismatch names the fields in which the row differs from the
	// recorded state ("request_state" when the record itself is not one
	// Drawbridge wrote); empty when they agree.
	Mismatch []string `json:"mismatch,omitempty"`
}

// OK reports whether the row agrees with a recorded state.
func (c RowCheck) OK() bool { return c.Bound && len(c.Mismatch) == 0 }

// CheckRow compares r with the state its events (in sequence order)
// record last.
func CheckRow(r *Request, events []AuditEvent) RowCheck {
	rec, seq, ok, valid := Recorded(events)
	if !ok {
		return RowCheck{}
	}
	c := RowCheck{Bound: true, Seq: seq}
	if !valid {
		c.Mismatch = []string{DetailRequestState}
		return c
	}
	c.Mismatch = rec.Diff(StateOf(r))
	return c
}

// RecordState records r's state in the details of the last of events that
// is r's (RequestID r.ID, or empty: the store fills it in), in a new
// details map, and reports whether one was. The stores call it for every
// write of a request, inside the write's transaction.
func RecordState(r *Request, events []AuditEvent) bool {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].RequestID != "" && events[i].RequestID != r.ID {
			continue
		}
		d := make(map[string]string, len(events[i].Details)+2)
		for k, v := range events[i].Details {
			d[k] = v
		}
		text := StateOf(r).Canonical()
		d[DetailRequestState] = text
		d[DetailRequestDigest] = DigestOf(text)
		events[i].Details = d
		return true
	}
	return false
}

// Due is when the recorded state says the expiry engine must act on the
// request whatever its row says: the recorded end of an ACTIVE grant; zero
// otherwise (or when the recorded end does not parse).
func (s RequestState) Due() time.Time {
	if s.State != StateActive {
		return time.Time{}
	}
	return parseStateTime(s.ExpiresAt)
}

// Restore returns a copy of r with every field s records set to the
// recorded value: r as the audit chain knows it. Approvals come back
// without their comments, which s does not record.
func (s RequestState) Restore(r *Request) *Request {
	c := r.Clone()
	c.ID, c.Requester, c.Provider, c.Resource, c.Role = s.ID, s.Requester, s.Provider, s.Resource, s.Role
	c.Duration, c.State = time.Duration(s.Duration), s.State
	c.Decision.Effect, c.Decision.Rule, c.Decision.ApprovalsRequired = s.Effect, s.Rule, s.ApprovalsRequired
	if !slices.Equal(StateOf(r).Approvals, s.Approvals) {
		c.Approvals = nil
		for _, a := range s.Approvals {
			c.Approvals = append(c.Approvals, Approval{Approver: a.Approver, Approved: a.Approved, By: a.By, At: parseStateTime(a.At)})
		}
	}
	c.Extends = s.Extends
	c.ApprovalDeadline, c.ActivatedAt = parseStateTime(s.ApprovalDeadline), parseStateTime(s.ActivatedAt)
	c.ExpiresAt, c.EndedAt = parseStateTime(s.ExpiresAt), parseStateTime(s.EndedAt)
	c.ProvisionStartedAt = parseStateTime(s.ProvisionStartedAt)
	c.PrincipalRef, c.GrantRef = s.PrincipalRef, s.GrantRef
	c.PreexistingAccess, c.DeletesAssignment = s.PreexistingAccess, s.DeletesAssignment
	return c
}

// parseStateTime reads a time as stateTime wrote it; zero for "" (or for
// text it did not write, which a valid record never holds).
func parseStateTime(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// RowReader reads a request row and its audit events.
type RowReader interface {
	GetRequest(ctx context.Context, id string) (*Request, error)
	RequestEvents(ctx context.Context, requestID string) ([]AuditEvent, error)
}

// CheckStored compares r, as just read from s, with the state its events
// record, and returns the events it compared against. The row and the
// events are two reads, and a write of the request between them would look
// like an edited row; so a mismatch is confirmed by reading the row again:
// every write changes its version and commits with its events, so a row
// still at r's version means the events read belong to it. When the row
// moved on, r was stale and the error is a StaleError: read it again.
func CheckStored(ctx context.Context, s RowReader, r *Request) (RowCheck, []AuditEvent, error) {
	events, err := s.RequestEvents(ctx, r.ID)
	if err != nil {
		return RowCheck{}, nil, err
	}
	check := CheckRow(r, events)
	if !check.Bound || check.OK() {
		return check, events, nil
	}
	again, err := s.GetRequest(ctx, r.ID)
	if err != nil {
		return RowCheck{}, nil, err
	}
	if again.Version != r.Version {
		return RowCheck{}, nil, StaleError(r.ID, r.Version)
	}
	return check, events, nil
}
