// Package metrics exposes Drawbridge's Prometheus metrics (prefix
// drawbridge_) on a private registry. It observes the rest of the program
// from the outside — a store decorator reads the audit events the broker
// writes, a provider decorator times provider calls, and callbacks take the
// expiry engine's steps and policy reloads — so the broker never imports
// Prometheus.
package metrics

import (
	"context"
	"log/slog"
	nethttp "net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
)

// Metrics holds every collector.
type Metrics struct {
	Registry *prometheus.Registry

	decisions         *prometheus.CounterVec
	transitions       *prometheus.CounterVec
	revocationLag     prometheus.Histogram
	revokeFailures    prometheus.Counter
	provisionFailures prometheus.Counter
	providerLatency   *prometheus.HistogramVec
	providerErrors    *prometheus.CounterVec
	engineSteps       *prometheus.CounterVec
	engineErrors      prometheus.Counter
	reloads           prometheus.Counter
	reloadFailures    prometheus.Counter
	policyLoaded      prometheus.Gauge
	drift             *prometheus.GaugeVec
	reconcileErrors   prometheus.Counter
	slackRejected     *prometheus.CounterVec
	notifyDeliveries  *prometheus.CounterVec
	notifyFailures    *prometheus.CounterVec
	notifyLag         *prometheus.GaugeVec
	rowMismatches     *prometheus.CounterVec
}

// New registers every collector on a new registry; counts, when non-nil,
// supplies the request gauges.
func New(counts drawbridge.RequestCounter, logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{Registry: reg}
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drawbridge_decisions_total",
		Help: "Policy decisions at submission, by rule and effect."}, []string{"rule", "effect"})
	m.transitions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drawbridge_transitions_total",
		Help: "Request state transitions, by target state."}, []string{"state"})
	m.revocationLag = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "drawbridge_revocation_lag_seconds",
		Help:    "Time from a grant's expires_at to the provider confirming its removal.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900}})
	m.revokeFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "drawbridge_revocation_attempt_failures_total",
		Help: "Revocation attempts that failed and will be retried."})
	m.provisionFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "drawbridge_provision_attempt_failures_total",
		Help: "Provisioning attempts that failed and will be retried."})
	m.providerLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "drawbridge_provider_call_duration_seconds",
		Help: "Provider call latency, by provider and operation.", Buckets: prometheus.DefBuckets}, []string{"provider", "op"})
	m.providerErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drawbridge_provider_call_errors_total",
		Help: "Provider calls that returned an error, by provider and operation."}, []string{"provider", "op"})
	m.engineSteps = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drawbridge_expiry_steps_total",
		Help: "Time-based steps the expiry engine ran, by action."}, []string{"action"})
	m.engineErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "drawbridge_expiry_errors_total",
		Help: "Expiry engine steps that ended in an error."})
	m.reloads = prometheus.NewCounter(prometheus.CounterOpts{Name: "drawbridge_policy_reloads_total",
		Help: "Successful policy reloads."})
	m.reloadFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "drawbridge_policy_reload_failures_total",
		Help: "Policy reloads refused (the last good policy stays in force)."})
	m.policyLoaded = prometheus.NewGauge(prometheus.GaugeOpts{Name: "drawbridge_policy_last_reload_success_timestamp_seconds",
		Help: "When the policy in force was loaded."})
	m.drift = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drawbridge_drift_findings",
		Help: "Findings of the last drift reconciliation, by kind (unmanaged_assignment, leftover_assignment, missing_assignment)."}, []string{"kind"})
	m.reconcileErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "drawbridge_reconcile_errors_total",
		Help: "Drift reconciliation passes that failed."})
	m.slackRejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drawbridge_slack_rejected_total",
		Help: "Slack requests refused before they reached the broker, by reason (bad_signature, stale, replay, missing_headers, bad_timestamp, too_large, foreign_workspace)."}, []string{"reason"})
	m.notifyDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drawbridge_notify_deliveries_total",
		Help: "Notifications a notifier accepted, by notifier and type (at least once: a redelivery after a crash counts again)."}, []string{"notifier", "type"})
	m.notifyFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drawbridge_notify_failures_total",
		Help: "Failed notification deliveries (each is retried with backoff), by notifier."}, []string{"notifier"})
	m.notifyLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drawbridge_notify_lag_seconds",
		Help: "Age of the oldest audit event a notifier has not finished with; 0 when caught up."}, []string{"notifier"})
	m.rowMismatches = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drawbridge_audit_row_mismatch_total",
		Help: "Request rows found to differ from the state their audit events recorded when the engine or a revocation read them, by field (an edit outside Drawbridge: alert on any increase)."}, []string{"field"})
	for _, kind := range []string{broker.DriftUnmanaged, broker.DriftLeftover, broker.DriftMissing} {
		m.drift.WithLabelValues(kind).Set(0)
	}
	for _, c := range []prometheus.Collector{m.decisions, m.transitions, m.revocationLag, m.revokeFailures,
		m.provisionFailures, m.providerLatency, m.providerErrors, m.engineSteps, m.engineErrors, m.reloads,
		m.reloadFailures, m.policyLoaded, m.drift, m.reconcileErrors, m.slackRejected, m.notifyDeliveries, m.notifyFailures, m.notifyLag,
		m.rowMismatches,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	if counts != nil {
		f(&requestCollector{counts: counts, logger: logger})
	}
	m.policyLoaded.SetToCurrentTime()
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() nethttp.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// OnStep observes one expiry engine step (expiry.Engine.OnStep).
func (m *Metrics) OnStep(s broker.Step) {
	m.engineSteps.WithLabelValues(s.Action).Inc()
	if s.Err != nil {
		m.engineErrors.Inc()
	}
}

// RowMismatch counts a request row that differs from the state its audit
// events recorded, once per differing field (broker.Broker's
// OnRowMismatch).
func (m *Metrics) RowMismatch(_ string, fields []string) {
	for _, f := range fields {
		m.rowMismatches.WithLabelValues(f).Inc()
	}
}

// PolicyReload records the outcome of a policy reload.
func (m *Metrics) PolicyReload(err error) {
	if err != nil {
		m.reloadFailures.Inc()
		return
	}
	m.reloads.Inc()
	m.policyLoaded.SetToCurrentTime()
}

// SlackRejected counts a Slack request refused for reason (slack.Handler's
// OnReject).
func (m *Metrics) SlackRejected(reason string) { m.slackRejected.WithLabelValues(reason).Inc() }

// Reconciled records the outcome of a drift reconciliation pass.
func (m *Metrics) Reconciled(rep *broker.ReconcileReport, err error) {
	if err != nil {
		m.reconcileErrors.Inc()
		return
	}
	counts := map[string]int{broker.DriftUnmanaged: 0, broker.DriftLeftover: 0, broker.DriftMissing: 0}
	for _, f := range rep.Findings {
		counts[f.Kind]++
	}
	for kind, n := range counts {
		m.drift.WithLabelValues(kind).Set(float64(n))
	}
}

// observe reads the audit events a committed write recorded.
func (m *Metrics) observe(events []drawbridge.AuditEvent) {
	for _, ev := range events {
		if to := ev.Details["to"]; to != "" {
			m.transitions.WithLabelValues(to).Inc()
			if ev.Details["from"] == string(drawbridge.StateNew) {
				m.decisions.WithLabelValues(ev.Details["rule"], ev.Action).Inc()
			}
		}
		switch ev.Action {
		case string(drawbridge.EventConfirmExpired):
			if ms, err := strconv.ParseInt(ev.Details["lag_ms"], 10, 64); err == nil {
				m.revocationLag.Observe(max(0, float64(ms)/1000))
			}
		case drawbridge.ActionRevokeAttemptFailed:
			m.revokeFailures.Inc()
		case drawbridge.ActionProvisionAttemptFailed:
			m.provisionFailures.Inc()
		}
	}
}

// Store returns s with every committed write observed.
func (m *Metrics) Store(s drawbridge.Store) drawbridge.Store { return &store{Store: s, m: m} }

type store struct {
	drawbridge.Store
	m *Metrics
}

func (s *store) CreateRequest(ctx context.Context, r *drawbridge.Request, events ...drawbridge.AuditEvent) error {
	err := s.Store.CreateRequest(ctx, r, events...)
	if err == nil {
		s.m.observe(events)
	}
	return err
}

func (s *store) UpdateRequest(ctx context.Context, r *drawbridge.Request, events ...drawbridge.AuditEvent) error {
	err := s.Store.UpdateRequest(ctx, r, events...)
	if err == nil {
		s.m.observe(events)
	}
	return err
}

func (s *store) AppendAudit(ctx context.Context, events ...drawbridge.AuditEvent) error {
	err := s.Store.AppendAudit(ctx, events...)
	if err == nil {
		s.m.observe(events)
	}
	return err
}

// Provider returns p with every call timed and its errors counted. The
// result has exactly the optional capabilities p has (drawbridge.Provider):
// a decorator that claimed one p lacks would make the core believe, say,
// that a webhook can list its assignments, and one that hid a capability
// would silently turn off standing-access detection or reconciliation.
// Capabilities are found by type assertion, so each combination is its
// own type.
func (m *Metrics) Provider(p drawbridge.Provider) drawbridge.Provider {
	b := &provider{Provider: p, m: m}
	var has capSet
	if _, ok := p.(drawbridge.ExistenceChecker); ok {
		has |= capE
	}
	if _, ok := p.(drawbridge.AssignmentLister); ok {
		has |= capL
	}
	if _, ok := p.(drawbridge.AssignmentDater); ok {
		has |= capD
	}
	if _, ok := p.(drawbridge.SessionEnder); ok {
		has |= capS
	}
	if _, ok := p.(drawbridge.Extender); ok {
		has |= capX
	}
	switch has {
	case 0:
		return b
	case capE:
		return struct {
			*provider
			existsCap
		}{b, existsCap{b}}
	case capL:
		return struct {
			*provider
			listCap
		}{b, listCap{b}}
	case capE | capL:
		return struct {
			*provider
			existsCap
			listCap
		}{b, existsCap{b}, listCap{b}}
	case capD:
		return struct {
			*provider
			daterCap
		}{b, daterCap{b}}
	case capE | capD:
		return struct {
			*provider
			existsCap
			daterCap
		}{b, existsCap{b}, daterCap{b}}
	case capL | capD:
		return struct {
			*provider
			listCap
			daterCap
		}{b, listCap{b}, daterCap{b}}
	case capE | capL | capD:
		return struct {
			*provider
			existsCap
			listCap
			daterCap
		}{b, existsCap{b}, listCap{b}, daterCap{b}}
	case capS:
		return struct {
			*provider
			sessionsCap
		}{b, sessionsCap{b}}
	case capE | capS:
		return struct {
			*provider
			existsCap
			sessionsCap
		}{b, existsCap{b}, sessionsCap{b}}
	case capL | capS:
		return struct {
			*provider
			listCap
			sessionsCap
		}{b, listCap{b}, sessionsCap{b}}
	case capE | capL | capS:
		return struct {
			*provider
			existsCap
			listCap
			sessionsCap
		}{b, existsCap{b}, listCap{b}, sessionsCap{b}}
	case capD | capS:
		return struct {
			*provider
			daterCap
			sessionsCap
		}{b, daterCap{b}, sessionsCap{b}}
	case capE | capD | capS:
		return struct {
			*provider
			existsCap
			daterCap
			sessionsCap
		}{b, existsCap{b}, daterCap{b}, sessionsCap{b}}
	case capL | capD | capS:
		return struct {
			*provider
			listCap
			daterCap
			sessionsCap
		}{b, listCap{b}, daterCap{b}, sessionsCap{b}}
	case capE | capL | capD | capS:
		return struct {
			*provider
			existsCap
			listCap
			daterCap
			sessionsCap
		}{b, existsCap{b}, listCap{b}, daterCap{b}, sessionsCap{b}}
	case capX:
		return struct {
			*provider
			extendCap
		}{b, extendCap{b}}
	case capE | capX:
		return struct {
			*provider
			existsCap
			extendCap
		}{b, existsCap{b}, extendCap{b}}
	case capL | capX:
		return struct {
			*provider
			listCap
			extendCap
		}{b, listCap{b}, extendCap{b}}
	case capE | capL | capX:
		return struct {
			*provider
			existsCap
			listCap
			extendCap
		}{b, existsCap{b}, listCap{b}, extendCap{b}}
	case capD | capX:
		return struct {
			*provider
			daterCap
			extendCap
		}{b, daterCap{b}, extendCap{b}}
	case capE | capD | capX:
		return struct {
			*provider
			existsCap
			daterCap
			extendCap
		}{b, existsCap{b}, daterCap{b}, extendCap{b}}
	case capL | capD | capX:
		return struct {
			*provider
			listCap
			daterCap
			extendCap
		}{b, listCap{b}, daterCap{b}, extendCap{b}}
	case capE | capL | capD | capX:
		return struct {
			*provider
			existsCap
			listCap
			daterCap
			extendCap
		}{b, existsCap{b}, listCap{b}, daterCap{b}, extendCap{b}}
	case capS | capX:
		return struct {
			*provider
			sessionsCap
			extendCap
		}{b, sessionsCap{b}, extendCap{b}}
	case capE | capS | capX:
		return struct {
			*provider
			existsCap
			sessionsCap
			extendCap
		}{b, existsCap{b}, sessionsCap{b}, extendCap{b}}
	case capL | capS | capX:
		return struct {
			*provider
			listCap
			sessionsCap
			extendCap
		}{b, listCap{b}, sessionsCap{b}, extendCap{b}}
	case capE | capL | capS | capX:
		return struct {
			*provider
			existsCap
			listCap
			sessionsCap
			extendCap
		}{b, existsCap{b}, listCap{b}, sessionsCap{b}, extendCap{b}}
	case capD | capS | capX:
		return struct {
			*provider
			daterCap
			sessionsCap
			extendCap
		}{b, daterCap{b}, sessionsCap{b}, extendCap{b}}
	case capE | capD | capS | capX:
		return struct {
			*provider
			existsCap
			daterCap
			sessionsCap
			extendCap
		}{b, existsCap{b}, daterCap{b}, sessionsCap{b}, extendCap{b}}
	case capL | capD | capS | capX:
		return struct {
			*provider
			listCap
			daterCap
			sessionsCap
			extendCap
		}{b, listCap{b}, daterCap{b}, sessionsCap{b}, extendCap{b}}
	case capE | capL | capD | capS | capX:
		return struct {
			*provider
			existsCap
			listCap
			daterCap
			sessionsCap
			extendCap
		}{b, existsCap{b}, listCap{b}, daterCap{b}, sessionsCap{b}, extendCap{b}}
	}
	panic("metrics: unreachable capability set")
}

// capSet is a set of optional provider capabilities.
type capSet uint8

const (
	capE capSet = 1 << iota // drawbridge.ExistenceChecker
	capL                    // drawbridge.AssignmentLister
	capD                    // drawbridge.AssignmentDater
	capS                    // drawbridge.SessionEnder
	capX                    // drawbridge.Extender
)

type provider struct {
	drawbridge.Provider
	m *Metrics
}

// time observes one call. A pending answer (drawbridge.Pending) is the
// provider working as it should, not a failed call.
func (p *provider) time(op string, start time.Time, err error) {
	p.m.providerLatency.WithLabelValues(p.Name(), op).Observe(time.Since(start).Seconds())
	if err != nil && drawbridge.AsPending(err) == nil {
		p.m.providerErrors.WithLabelValues(p.Name(), op).Inc()
	}
}

func (p *provider) PrincipalRef(ctx context.Context, who *drawbridge.Principal) (ref string, err error) {
	defer func(t time.Time) { p.time("principal_ref", t, err) }(time.Now())
	return p.Provider.PrincipalRef(ctx, who)
}

func (p *provider) Grant(ctx context.Context, spec drawbridge.GrantSpec) (res drawbridge.GrantResult, err error) {
	defer func(t time.Time) { p.time("grant", t, err) }(time.Now())
	return p.Provider.Grant(ctx, spec)
}

func (p *provider) Revoke(ctx context.Context, spec drawbridge.RevokeSpec) (res drawbridge.RevokeResult, err error) {
	defer func(t time.Time) { p.time("revoke", t, err) }(time.Now())
	return p.Provider.Revoke(ctx, spec)
}

// The capability halves of the decorator: each forwards one capability of
// the wrapped provider, timed, and is added only when the provider has it.
type (
	existsCap   struct{ p *provider }
	listCap     struct{ p *provider }
	daterCap    struct{ p *provider }
	sessionsCap struct{ p *provider }
	extendCap   struct{ p *provider }
)

func (c existsCap) Exists(ctx context.Context, a drawbridge.Assignment) (ok bool, err error) {
	defer func(t time.Time) { c.p.time("exists", t, err) }(time.Now())
	return c.p.Provider.(drawbridge.ExistenceChecker).Exists(ctx, a)
}

func (c listCap) ListAssignments(ctx context.Context, resources []string) (as []drawbridge.Assignment, err error) {
	defer func(t time.Time) { c.p.time("list", t, err) }(time.Now())
	return c.p.Provider.(drawbridge.AssignmentLister).ListAssignments(ctx, resources)
}

func (c daterCap) AssignmentCreatedAt(ctx context.Context, a drawbridge.Assignment) (created time.Time, known bool, err error) {
	defer func(t time.Time) { c.p.time("created_at", t, err) }(time.Now())
	return c.p.Provider.(drawbridge.AssignmentDater).AssignmentCreatedAt(ctx, a)
}

func (c sessionsCap) EndSessions(ctx context.Context, spec drawbridge.RevokeSpec) (res drawbridge.RevokeResult, err error) {
	defer func(t time.Time) { c.p.time("end_sessions", t, err) }(time.Now())
	return c.p.Provider.(drawbridge.SessionEnder).EndSessions(ctx, spec)
}

func (c extendCap) Extend(ctx context.Context, spec drawbridge.GrantSpec) (res drawbridge.GrantResult, err error) {
	defer func(t time.Time) { c.p.time("extend", t, err) }(time.Now())
	return c.p.Provider.(drawbridge.Extender).Extend(ctx, spec)
}

// requestCollector reports the request gauges from one aggregate query per
// scrape, so they are right after a restart and across replicas.
type requestCollector struct {
	counts drawbridge.RequestCounter
	logger *slog.Logger
}

var (
	requestsDesc = prometheus.NewDesc("drawbridge_requests", "Requests by current state and channel.", []string{"state", "channel"}, nil)
	pendingDesc  = prometheus.NewDesc("drawbridge_revocations_pending", "Grants being revoked (REVOKING).", nil, nil)
	failingDesc  = prometheus.NewDesc("drawbridge_revocations_failing", "Grants REVOKING after at least one failed attempt.", nil, nil)
	scrapeDesc   = prometheus.NewDesc("drawbridge_store_up", "Whether the store answered the last scrape.", nil, nil)
)

func (c *requestCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- requestsDesc
	ch <- pendingDesc
	ch <- failingDesc
	ch <- scrapeDesc
}

func (c *requestCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.counts.CountRequests(ctx)
	if err != nil {
		c.logger.Error("metrics: counting requests failed", "error", err)
		ch <- prometheus.MustNewConstMetric(scrapeDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(scrapeDesc, prometheus.GaugeValue, 1)
	var pending, failing int
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.GaugeValue, float64(n.N), string(n.State), string(n.Channel))
		if n.State == drawbridge.StateRevoking {
			pending += n.N
			failing += n.Failing
		}
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(failingDesc, prometheus.GaugeValue, float64(failing))
}

// NotifyDelivery observes one delivery attempt of a notifier
// (notify.Worker.OnDelivery).
func (m *Metrics) NotifyDelivery(notifier string, n drawbridge.Notification, err error) {
	if err != nil {
		m.notifyFailures.WithLabelValues(notifier).Inc()
		return
	}
	m.notifyDeliveries.WithLabelValues(notifier, n.Type).Inc()
}

// NotifyLag records how far behind a notifier is (notify.Worker.OnLag).
func (m *Metrics) NotifyLag(notifier string, lag time.Duration) {
	m.notifyLag.WithLabelValues(notifier).Set(lag.Seconds())
}

// NotifierConfigured shows a notifier's series from the start (failures
// 0, lag 0), so an alert on them has something to compare before the
// first delivery.
func (m *Metrics) NotifierConfigured(notifier string) {
	m.notifyFailures.WithLabelValues(notifier).Add(0)
	m.notifyLag.WithLabelValues(notifier).Set(0)
}
