package notify_test

import (
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/notify"
)

// Which audit event makes which notification, and revocation.failing's
// rule: the third failed removal, then every tenth.
func TestBuild(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	r := &drawbridge.Request{ID: "req_0123456789abcdef0123456789abcdef", Requester: "alice@example.com",
		Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess"},
		Reason:      "debug", ExpiresAt: t0.Add(time.Hour), EndReason: "done", Decision: drawbridge.Decision{Rule: "prod-admin"}}
	approvers := func(rule string) []string { return []string{"group:" + rule} }
	for _, tc := range []struct {
		action  string
		details map[string]string
		want    string
		check   func(n drawbridge.Notification) bool
	}{
		{"submit", nil, "", nil},
		{"provision", nil, "", nil},
		{"approval_recorded", nil, "", nil},
		{"require_approval", map[string]string{"rule": "prod-admin", "to": "PENDING_APPROVAL"}, drawbridge.NotifyPendingApproval,
			func(n drawbridge.Notification) bool {
				return len(n.Approvers) == 1 && n.Approvers[0] == "group:prod-admin" && n.ExpiresAt.IsZero() && n.State == drawbridge.StatePendingApproval
			}},
		{"allow", nil, drawbridge.NotifyApproved, nil},
		{"approve", nil, drawbridge.NotifyApproved, nil},
		{"deny", map[string]string{"reason": "no"}, drawbridge.NotifyDenied, nil},
		{"cancel", nil, drawbridge.NotifyCancelled, nil},
		{"activate", map[string]string{"expires_at": "2026-03-02T10:00:00.000Z"}, drawbridge.NotifyGrantActive,
			func(n drawbridge.Notification) bool { return n.ExpiresAt.Equal(t0.Add(time.Hour)) }},
		{"expiry_notice", map[string]string{"expires_at": "2026-03-02T10:00:00.000Z"}, drawbridge.NotifyGrantExpiring,
			func(n drawbridge.Notification) bool { return n.State == drawbridge.StateActive }},
		{"confirm_expired", nil, drawbridge.NotifyGrantExpired, nil},
		{"confirm_revoked", nil, drawbridge.NotifyGrantRevoked, func(n drawbridge.Notification) bool { return n.Detail == "done" }},
		{"fail", map[string]string{"error": "boom"}, drawbridge.NotifyGrantFailed, func(n drawbridge.Notification) bool { return n.Detail == "boom" }},
		{"confirm_failed", nil, drawbridge.NotifyGrantFailed, nil},
		{"revoke_attempt_failed", map[string]string{"attempt": "1"}, "", nil},
		{"revoke_attempt_failed", map[string]string{"attempt": "2"}, "", nil},
		{"revoke_attempt_failed", map[string]string{"attempt": "3", "error": "throttled"}, drawbridge.NotifyRevocationFailing,
			func(n drawbridge.Notification) bool {
				return n.Attempts == 3 && n.Detail == "throttled" && n.State == drawbridge.StateRevoking && n.ExpiresAt.Equal(r.ExpiresAt)
			}},
		{"revoke_attempt_failed", map[string]string{"attempt": "4"}, "", nil},
		{"revoke_attempt_failed", map[string]string{"attempt": "10"}, drawbridge.NotifyRevocationFailing, nil},
		{"revoke_attempt_failed", map[string]string{"attempt": "11"}, "", nil},
		{"revoke_attempt_failed", map[string]string{"attempt": "20"}, drawbridge.NotifyRevocationFailing, nil},
		{"provision_attempt_failed", map[string]string{"attempt": "3"}, "", nil},
	} {
		ev := drawbridge.AuditEvent{Seq: 7, Time: t0, Actor: "bob@example.com", Action: tc.action, RequestID: r.ID, Details: tc.details}
		n, ok := notify.Build(ev, r, approvers)
		if got := map[bool]string{true: n.Type}[ok]; got != tc.want {
			t.Errorf("%s %v: type %q, want %q", tc.action, tc.details, got, tc.want)
			continue
		}
		if !ok {
			continue
		}
		if n.Seq != 7 || n.RequestID != r.ID || n.Principal != r.Requester || n.Resource != r.Resource || n.Role != r.Role || n.Provider != "aws" || n.Actor != "bob@example.com" {
			t.Errorf("%s: %+v", tc.action, n)
		}
		if tc.check != nil && !tc.check(n) {
			t.Errorf("%s: %+v", tc.action, n)
		}
	}
	// An event about another request makes nothing.
	if _, ok := notify.Build(drawbridge.AuditEvent{Action: "allow", RequestID: "req_other"}, r, nil); ok {
		t.Error("an event built with the wrong request")
	}
}
