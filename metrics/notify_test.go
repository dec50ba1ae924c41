package metrics_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/metrics"
)

func TestNotifyMetrics(t *testing.T) {
	m := metrics.New(nil, nil)
	m.NotifierConfigured("log")
	m.NotifyDelivery("hooks", drawbridge.Notification{Type: drawbridge.NotifyGrantActive}, nil)
	m.NotifyDelivery("hooks", drawbridge.Notification{Type: drawbridge.NotifyGrantActive}, errors.New("HTTP 503"))
	m.NotifyDelivery("hooks", drawbridge.Notification{Type: drawbridge.NotifyGrantActive}, errors.New("HTTP 503"))
	m.NotifyLag("hooks", 90*time.Second)
	out := scrape(t, m)
	for _, want := range []string{
		`drawbridge_notify_deliveries_total{notifier="hooks",type="grant.active"} 1`,
		`drawbridge_notify_failures_total{notifier="hooks"} 2`,
		`drawbridge_notify_failures_total{notifier="log"} 0`,
		`drawbridge_notify_lag_seconds{notifier="hooks"} 90`,
		`drawbridge_notify_lag_seconds{notifier="log"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}
