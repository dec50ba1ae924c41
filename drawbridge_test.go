package drawbridge_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

func TestValidRequestID(t *testing.T) {
	id := drawbridge.NewRequestID()
	if !drawbridge.ValidRequestID(id) {
		t.Fatalf("NewRequestID() = %q is not valid", id)
	}
	if next := drawbridge.NewRequestID(); next <= id {
		t.Errorf("ids are not time-sortable: %s then %s", id, next)
	}
	hex32 := strings.Repeat("0123456789abcdef", 2)
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"req_" + hex32, true},
		{"req_" + strings.ToUpper(hex32), false},
		{"tok_" + hex32, false},
		{drawbridge.NewTokenID(), false},
		{"req_" + hex32[:31], false},
		{"req_" + hex32 + "0", false},
		{"req_" + hex32[:31] + "g", false},
		{"req_" + hex32[:8] + "-" + hex32[9:], false},
		{"", false},
		{"req_", false},
		{"REQ_" + hex32, false},
		{"123", false},
		{"req_" + hex32[:31] + "é", false},
	} {
		if got := drawbridge.ValidRequestID(tc.id); got != tc.want {
			t.Errorf("ValidRequestID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

// contractFields are the request object's field names users and the HTTP
// API rely on (DESIGN.md, stable contract).
var contractFields = []string{"id", "state", "requester", "provider", "resource", "role", "duration_seconds",
	"reason", "ticket", "rule", "created_at", "activated_at", "expires_at", "ended_at", "approvals", "last_error"}

func TestRequestJSONContract(t *testing.T) {
	created := time.Date(2026, 3, 2, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	r := &drawbridge.Request{
		ID: drawbridge.NewRequestID(), Requester: "alice@example.com",
		Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess"},
		Duration:    90 * time.Minute, Reason: "read logs", Ticket: "INC-1", Channel: drawbridge.ChannelCLI,
		State:    drawbridge.StateActive,
		Decision: drawbridge.Decision{Effect: drawbridge.EffectAllow, Rule: "readonly", PolicySHA: "abc", Reason: "ok", ApprovalsRequired: 1},
		Approvals: []drawbridge.Approval{{Approver: "bob@example.com", Approved: true, Comment: "ok",
			At: created.Add(time.Minute).UTC()}},
		CreatedAt: created, DecidedAt: created, ActivatedAt: created.Add(2 * time.Minute),
		ExpiresAt: created.Add(92 * time.Minute), RevokeAttempts: 2, LastError: "aws: throttled", Version: 4,
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range contractFields {
		if _, ok := m[f]; !ok {
			t.Errorf("JSON lacks contract field %q: %s", f, b)
		}
	}
	if m["duration_seconds"] != float64(5400) {
		t.Errorf("duration_seconds = %v, want 5400", m["duration_seconds"])
	}
	if m["rule"] != "readonly" || m["state"] != "ACTIVE" || m["provider"] != "aws" || m["resource"] != "123456789012" || m["role"] != "ReadOnlyAccess" {
		t.Errorf("flat fields wrong: %s", b)
	}
	// Times are RFC 3339 in UTC; unset ones are null (present, not omitted).
	if m["created_at"] != "2026-03-02T08:00:00Z" || m["activated_at"] != "2026-03-02T08:02:00Z" || m["expires_at"] != "2026-03-02T09:32:00Z" {
		t.Errorf("times: created_at %v activated_at %v expires_at %v", m["created_at"], m["activated_at"], m["expires_at"])
	}
	for _, f := range []string{"created_at", "activated_at", "expires_at"} {
		if _, err := time.Parse(time.RFC3339, m[f].(string)); err != nil {
			t.Errorf("%s is not RFC 3339: %v", f, err)
		}
	}
	if v, ok := m["ended_at"]; !ok || v != nil {
		t.Errorf("ended_at = %v (present %v), want null", v, ok)
	}

	var back drawbridge.Request
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := r.Clone()
	// Not in the contract object, so not expected back.
	want.Decision.Effect = ""
	for _, p := range []*time.Time{&want.CreatedAt, &want.DecidedAt, &want.ActivatedAt, &want.ExpiresAt} {
		*p = p.UTC()
	}
	if got, w := fmt.Sprintf("%+v", back), fmt.Sprintf("%+v", *want); got != w {
		t.Errorf("round trip:\n got %s\nwant %s", got, w)
	}
	if !back.EndedAt.IsZero() || !back.ApprovalDeadline.IsZero() {
		t.Errorf("null times did not come back zero: %v %v", back.EndedAt, back.ApprovalDeadline)
	}
}

func TestRequestJSONUnsetFields(t *testing.T) {
	r := &drawbridge.Request{ID: drawbridge.NewRequestID(), State: drawbridge.StatePendingApproval, CreatedAt: time.Unix(0, 0)}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, f := range contractFields {
		if _, ok := m[f]; !ok {
			missing = append(missing, f)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("unset request omits contract fields %v: %s", missing, b)
	}
	for _, f := range []string{"activated_at", "expires_at", "ended_at"} {
		if m[f] != nil {
			t.Errorf("%s = %v, want null", f, m[f])
		}
	}
	if a, ok := m["approvals"].([]any); !ok || len(a) != 0 {
		t.Errorf("approvals = %#v, want []", m["approvals"])
	}
}

func TestErrorVocabulary(t *testing.T) {
	e := drawbridge.Errorf(drawbridge.ENOTFOUND, "request %s not found", "req_x")
	wrapped := fmt.Errorf("status: %w", e)
	if drawbridge.ErrorCode(wrapped) != drawbridge.ENOTFOUND || drawbridge.ErrorMessage(wrapped) != "request req_x not found" {
		t.Errorf("code %q message %q", drawbridge.ErrorCode(wrapped), drawbridge.ErrorMessage(wrapped))
	}
	if drawbridge.ErrorCode(nil) != "" || drawbridge.ErrorCode(errors.New("x")) != drawbridge.EINTERNAL {
		t.Error("ErrorCode of nil / plain error")
	}
	stale := drawbridge.StaleError("req_x", 3)
	if !drawbridge.IsStale(fmt.Errorf("w: %w", stale)) || drawbridge.ErrorCode(stale) != drawbridge.ECONFLICT {
		t.Error("stale error not recognised")
	}
	if drawbridge.IsStale(drawbridge.Errorf(drawbridge.ECONFLICT, "illegal")) {
		t.Error("a plain conflict is not stale")
	}
	if !drawbridge.IsPermanent(fmt.Errorf("w: %w", drawbridge.Permanent(errors.New("denied")))) || drawbridge.IsPermanent(errors.New("x")) || drawbridge.Permanent(nil) != nil {
		t.Error("Permanent/IsPermanent")
	}
}

func TestDistinctApprovers(t *testing.T) {
	r := &drawbridge.Request{Approvals: []drawbridge.Approval{
		{Approver: "bob@example.com", Approved: true},
		{Approver: "BOB@example.com ", Approved: true},
		{Approver: "carol@example.com", Approved: false},
	}}
	if n := r.DistinctApprovers(); n != 1 {
		t.Errorf("DistinctApprovers = %d, want 1 (case and space do not make a new person; denials do not count)", n)
	}
}
