package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/metrics"
)

type fakeStore struct{ drawbridge.Store }

func (fakeStore) CreateRequest(context.Context, *drawbridge.Request, ...drawbridge.AuditEvent) error {
	return nil
}
func (fakeStore) UpdateRequest(context.Context, *drawbridge.Request, ...drawbridge.AuditEvent) error {
	return nil
}

type counts []drawbridge.RequestCount

func (c counts) CountRequests(context.Context) ([]drawbridge.RequestCount, error) { return c, nil }

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetricsObserveAuditEvents(t *testing.T) {
	m := metrics.New(counts{
		{State: drawbridge.StateActive, Channel: drawbridge.ChannelAPI, N: 3},
		{State: drawbridge.StateRevoking, Channel: drawbridge.ChannelCLI, N: 2, Failing: 1},
	}, nil)
	s := m.Store(fakeStore{})
	ctx := context.Background()
	r := &drawbridge.Request{}
	s.CreateRequest(ctx, r, drawbridge.AuditEvent{Action: "submit"},
		drawbridge.AuditEvent{Action: "allow", Details: map[string]string{"from": "NEW", "to": "APPROVED", "rule": "readonly-self-service"}})
	s.UpdateRequest(ctx, r, drawbridge.AuditEvent{Action: "confirm_expired", Details: map[string]string{"from": "REVOKING", "to": "EXPIRED", "lag_ms": "1500"}})
	s.UpdateRequest(ctx, r, drawbridge.AuditEvent{Action: drawbridge.ActionRevokeAttemptFailed})
	m.OnStep(broker.Step{Action: "expire", Err: errors.New("boom")})
	m.PolicyReload(errors.New("bad yaml"))
	out := scrape(t, m)
	for _, want := range []string{
		`drawbridge_decisions_total{effect="allow",rule="readonly-self-service"} 1`,
		`drawbridge_transitions_total{state="EXPIRED"} 1`,
		`drawbridge_revocation_lag_seconds_sum 1.5`,
		`drawbridge_revocation_attempt_failures_total 1`,
		`drawbridge_expiry_errors_total 1`,
		`drawbridge_expiry_steps_total{action="expire"} 1`,
		`drawbridge_policy_reload_failures_total 1`,
		`drawbridge_requests{channel="api",state="ACTIVE"} 3`,
		`drawbridge_revocations_pending 2`,
		`drawbridge_revocations_failing 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}
