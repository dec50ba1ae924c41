package http

import (
	"math"
	nethttp "net/http"
	"slices"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
)

// The read-only audit API keeps the paths and filter names existing
// scripts use (GET /api/requests?status=…, /api/exports.csv). It has no
// write method at all: the mux answers anything else with 404.

func (s *Server) auditFilter(r *nethttp.Request, c drawbridge.Caller) (drawbridge.RequestFilter, error) {
	f, primary, err := s.parseFilter(r.Context(), r.URL.Query())
	if err != nil {
		return f, err
	}
	if len(primary) == 0 {
		return f, drawbridge.Errorf(drawbridge.EINVALID, "%s needs one primary filter: one of %s (from, to, limit and cursor narrow it further)",
			r.URL.Path, strings.Join(primaryFilters, ", "))
	}
	return f, c.Narrow(&f)
}

func (s *Server) auditList(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	f, err := s.auditFilter(r, c)
	if err != nil {
		return err
	}
	return s.writePage(w, r, f)
}

// AuditRequest is a request with its audit trail, and how the request's
// row compares with the state the trail recorded last: a non-empty
// chain.mismatch names the fields of a row edited outside Drawbridge.
type AuditRequest struct {
	Request *drawbridge.Request     `json:"request"`
	Events  []drawbridge.AuditEvent `json:"events"`
	Chain   drawbridge.RowCheck     `json:"chain"`
}

func (s *Server) auditGet(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	req, err := s.load(r, c)
	if err != nil {
		return err
	}
	check, evs, err := drawbridge.CheckStored(r.Context(), s.Store, req)
	if drawbridge.IsStale(err) {
		// Written meanwhile: read it once more.
		if req, err = s.load(r, c); err != nil {
			return err
		}
		check, evs, err = drawbridge.CheckStored(r.Context(), s.Store, req)
	}
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []drawbridge.AuditEvent{}
	}
	writeJSON(w, 200, AuditRequest{Request: req, Events: evs, Chain: check})
	return nil
}

// ExportHeader is the header row of /api/exports.csv (the audit
// package's request columns, shared with the dashboard's CSV).
var ExportHeader = audit.RequestHeader

// auditExport streams the matching requests as CSV straight from the
// store's export read (drawbridge.RequestExporter: large batches, only the
// exported columns) through audit.RequestCSV, so memory stays flat however
// many rows match. limit, when given, caps the number of rows. Every cell
// goes through audit.SafeCell: requesters write reasons and tickets,
// auditors open the file in a spreadsheet.
func (s *Server) auditExport(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	f, err := s.auditFilter(r, c)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("limit") == "" {
		f.Limit = 0 // every row
	}
	// The server's write timeout is one deadline for the whole response;
	// an export may rightly take longer, so each write gets a fresh one.
	// A client that stops reading is still cut off after one write
	// timeout.
	out := &lazyCSV{w: w, rc: nethttp.NewResponseController(w), timeout: s.Limits.WriteTimeout}
	cw := audit.NewRequestCSV(out)
	rows := 0
	err = s.Store.ExportRequests(r.Context(), f, func(req *drawbridge.Request) error {
		rows++
		return cw.Write(req)
	})
	if err == nil {
		if err = cw.Flush(); err != nil {
			return nil // the client went away
		}
		out.start()
		return nil
	}
	if !cw.Started() {
		// Nothing was sent: a store failure is still an error response
		// rather than a truncated file.
		return err
	}
	if out.err != nil {
		return nil // the client went away
	}
	// Headers are gone: log, and end the body short (the client sees a
	// truncated transfer).
	s.Logger.Error("export failed mid-stream", "error", err, "rows", rows)
	panic(nethttp.ErrAbortHandler)
}

// lazyCSV is the response of an export: the status and headers go out
// with the first bytes, each write with a fresh write deadline.
type lazyCSV struct {
	w       nethttp.ResponseWriter
	rc      *nethttp.ResponseController
	timeout time.Duration
	started bool
	err     error // the first write error (the client went away)
}

func (l *lazyCSV) start() {
	if l.started {
		return
	}
	l.started = true
	l.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	l.w.Header().Set("Content-Disposition", `attachment; filename="drawbridge-requests.csv"`)
	l.w.WriteHeader(200)
}

func (l *lazyCSV) Write(p []byte) (int, error) {
	l.start()
	if l.timeout > 0 {
		_ = l.rc.SetWriteDeadline(time.Now().Add(l.timeout))
	}
	n, err := l.w.Write(p)
	if err == nil {
		err = l.rc.Flush()
	}
	if err != nil && l.err == nil {
		l.err = err
	}
	return n, err
}

// Summary is a distribution in seconds.
type Summary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// AuditMetrics is GET /api/metrics: figures over the requests the token
// may see, created in [from, to).
type AuditMetrics struct {
	From                   *time.Time     `json:"from"`
	To                     *time.Time     `json:"to"`
	Total                  int            `json:"total"`
	ByState                map[string]int `json:"by_state"`
	ApprovalLatencySeconds Summary        `json:"approval_latency_seconds"`
	RevocationLagSeconds   Summary        `json:"revocation_lag_seconds"`
	Failures               struct {
		Failed            int `json:"failed"`
		RevokingWithError int `json:"revoking_with_errors"`
	} `json:"failures"`
}

// auditMetrics computes the figures from the store, reading the scoped
// requests page by page (only the durations are kept).
func (s *Server) auditMetrics(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	q := r.URL.Query()
	for k := range q {
		if k != "from" && k != "to" {
			return drawbridge.Errorf(drawbridge.EINVALID, "unknown query parameter %q (accepted: from, to)", k)
		}
	}
	var f drawbridge.RequestFilter
	var err error
	if f.CreatedFrom, err = parseTime("from", q.Get("from")); err != nil {
		return err
	}
	if f.CreatedTo, err = parseTime("to", q.Get("to")); err != nil {
		return err
	}
	if err := c.Narrow(&f); err != nil {
		return err
	}
	f.Limit = drawbridge.MaxListLimit
	m := AuditMetrics{ByState: map[string]int{}}
	for _, st := range drawbridge.States {
		m.ByState[string(st)] = 0
	}
	var approval, lag []float64
	for {
		page, err := s.Store.ListRequests(r.Context(), f)
		if err != nil {
			return err
		}
		for _, req := range page {
			m.Total++
			m.ByState[string(req.State)]++
			switch req.State {
			case drawbridge.StateFailed:
				m.Failures.Failed++
			case drawbridge.StateRevoking:
				if req.RevokeAttempts > 0 {
					m.Failures.RevokingWithError++
				}
			case drawbridge.StateExpired:
				if !req.ExpiresAt.IsZero() && !req.EndedAt.IsZero() {
					lag = append(lag, max(0, req.EndedAt.Sub(req.ExpiresAt).Seconds()))
				}
			}
			if at := req.ApprovedAt(); !at.IsZero() {
				approval = append(approval, at.Sub(req.CreatedAt).Seconds())
			}
		}
		if len(page) < f.Limit {
			break
		}
		f.Cursor = page[len(page)-1].ID
	}
	m.From, m.To = timeOrNil(f.CreatedFrom), timeOrNil(f.CreatedTo)
	m.ApprovalLatencySeconds = summarize(approval)
	m.RevocationLagSeconds = summarize(lag)
	writeJSON(w, 200, m)
	return nil
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	slices.Sort(xs)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(xs)))) - 1
		return round3(xs[max(0, min(i, len(xs)-1))])
	}
	return Summary{Count: len(xs), P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: round3(xs[len(xs)-1])}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
