package dashboard

import (
	"encoding/json"
	"math"
	nethttp "net/http"
	"slices"
	"sort"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// The overview answers from a bounded number of rows, so that it costs
// the same with a million requests in the store as with a hundred: the
// lists show at most listCap rows (and say "at least" when full), and the
// chart and percentiles cover the last chartDays days, at most
// recentCap requests of them (the page says when the cap cut them).
const (
	listCap   = 50
	chartDays = 14
	recentCap = 2000
)

// outcomes are the chart's series: what became of the requests created
// each day.
var outcomes = []struct {
	Name   string
	States []drawbridge.State
}{
	{"granted", []drawbridge.State{drawbridge.StateApproved, drawbridge.StateProvisioning, drawbridge.StateActive, drawbridge.StateRevoking, drawbridge.StateExpired, drawbridge.StateRevoked}},
	{"pending", []drawbridge.State{drawbridge.StatePendingApproval}},
	{"denied", []drawbridge.State{drawbridge.StateDenied}},
	{"cancelled", []drawbridge.State{drawbridge.StateCancelled}},
	{"failed", []drawbridge.State{drawbridge.StateFailed}},
}

type overviewData struct {
	Active, Pending, FailingRevocations []*drawbridge.Request
	ActiveMore, PendingMore             bool
	// Chart is the uPlot data as JSON: [days (unix seconds), series…],
	// put in a data attribute for app.js (no inline script).
	Chart      string
	Series     []string
	Recent     int
	RecentCut  bool
	Since      time.Time
	Approval   summary
	Revocation summary
}

// summary is a distribution of durations.
type summary struct {
	Count         int
	P50, P90, P99 time.Duration
}

func summarize(xs []time.Duration) summary {
	if len(xs) == 0 {
		return summary{}
	}
	slices.Sort(xs)
	q := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(xs)))) - 1
		return xs[max(0, min(i, len(xs)-1))].Round(time.Second)
	}
	return summary{Count: len(xs), P50: q(0.5), P90: q(0.9), P99: q(0.99)}
}

func (s *Server) overview(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	ctx := r.Context()
	list := func(limit int, states ...drawbridge.State) ([]*drawbridge.Request, error) {
		f := drawbridge.RequestFilter{States: states, Limit: limit}
		if err := c.Narrow(&f); err != nil {
			return nil, err
		}
		return s.Store.ListRequests(ctx, f)
	}
	var d overviewData
	var err error
	if d.Active, err = list(listCap+1, drawbridge.StateActive); err != nil {
		return err
	}
	if d.Pending, err = list(listCap+1, drawbridge.StatePendingApproval); err != nil {
		return err
	}
	d.Active, d.ActiveMore = clip(d.Active)
	d.Pending, d.PendingMore = clip(d.Pending)
	revoking, err := list(listCap, drawbridge.StateRevoking)
	if err != nil {
		return err
	}
	for _, x := range revoking {
		if x.RevokeAttempts > 0 {
			d.FailingRevocations = append(d.FailingRevocations, x)
		}
	}

	now := s.Clock.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	d.Since = today.AddDate(0, 0, -(chartDays - 1))
	f := drawbridge.RequestFilter{CreatedFrom: d.Since, Limit: recentCap}
	if err := c.Narrow(&f); err != nil {
		return err
	}
	recent, err := s.Store.ListRequests(ctx, f)
	if err != nil {
		return err
	}
	d.Recent, d.RecentCut = len(recent), len(recent) == recentCap
	days := make([]float64, chartDays)
	for i := range days {
		days[i] = float64(d.Since.AddDate(0, 0, i).Unix())
	}
	series := make([][]float64, len(outcomes))
	for i := range series {
		series[i] = make([]float64, chartDays)
	}
	var approval, lag []time.Duration
	for _, x := range recent {
		day := int(x.CreatedAt.UTC().Sub(d.Since) / (24 * time.Hour))
		if day >= 0 && day < chartDays {
			for i, o := range outcomes {
				if slices.Contains(o.States, x.State) {
					series[i][day]++
				}
			}
		}
		if at := x.ApprovedAt(); !at.IsZero() {
			approval = append(approval, at.Sub(x.CreatedAt))
		}
		if x.State == drawbridge.StateExpired && !x.ExpiresAt.IsZero() && !x.EndedAt.IsZero() {
			lag = append(lag, max(0, x.EndedAt.Sub(x.ExpiresAt)))
		}
	}
	d.Approval, d.Revocation = summarize(approval), summarize(lag)
	data := append([][]float64{days}, series...)
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	d.Chart = string(b)
	for _, o := range outcomes {
		d.Series = append(d.Series, o.Name)
	}
	sort.SliceStable(d.FailingRevocations, func(i, j int) bool {
		return d.FailingRevocations[i].RevokeAttempts > d.FailingRevocations[j].RevokeAttempts
	})
	s.render(w, r, 200, "overview", c, d)
	return nil
}

func clip(rs []*drawbridge.Request) ([]*drawbridge.Request, bool) {
	if len(rs) > listCap {
		return rs[:listCap], true
	}
	return rs, false
}
