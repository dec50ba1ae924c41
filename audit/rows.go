package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/drawbridge-jit/drawbridge"
)

// RowStore is what VerifyRows reads: the chain, the request rows, and one
// row with its events again to name the fields of a mismatch.
type RowStore interface {
	drawbridge.RowReader
	ScanAudit(ctx context.Context, fn func(drawbridge.AuditEvent) error) error
	ListRequests(ctx context.Context, f drawbridge.RequestFilter) ([]*drawbridge.Request, error)
}

// RowMismatch is one request row that does not agree with its audit trail.
type RowMismatch struct {
	RequestID string `json:"request_id"`
	// Seq is the event whose recorded state the row was compared with (or
	// at which the trail itself went wrong, for --deep); 0 when no event
	// records the request.
	Seq int64 `json:"seq,omitempty"`
	// Fields names the row's columns that differ, when that can be told.
	Fields []string `json:"fields,omitempty"`
	Reason string   `json:"reason"`
}

func (m RowMismatch) String() string {
	s := "request " + m.RequestID
	if len(m.Fields) > 0 {
		s += " (" + strings.Join(m.Fields, ", ") + ")"
	}
	return s + ": " + m.Reason
}

// RowsResult is the outcome of VerifyRows.
type RowsResult struct {
	// Requests is the number of rows read.
	Requests int `json:"requests"`
	// Unbound counts rows whose events record no state: written before
	// rows were bound to the chain (migration 00015) and not since. They
	// cannot be checked; their next write binds them.
	Unbound int `json:"unbound"`
	// Mismatches are the rows that disagree with the chain, the first
	// found first, at most MaxMismatches of them.
	Mismatches []RowMismatch `json:"mismatches"`
	// More counts further mismatches left out of Mismatches.
	More int `json:"more,omitempty"`
}

// OK reports whether every row agreed with its trail.
func (r RowsResult) OK() bool { return len(r.Mismatches) == 0 }

// MaxMismatches bounds RowsResult.Mismatches, so that a store whose every
// row was rewritten still gives a short report.
const MaxMismatches = 100

// trail is what VerifyRows keeps of one request's events while it streams
// the chain: the last recorded state (its digest only, unless deep) and,
// for deep, the first place the trail itself went wrong.
type trail struct {
	digest string
	seq    int64
	events int
	valid  bool
	last   *drawbridge.RequestState // deep only
	broken *RowMismatch             // deep only
}

// VerifyRows compares every request row with the state its audit events
// record last (the digest of drawbridge.StateOf), and reports each row
// that differs, naming its request and the fields, and each request the
// chain records that has no row. Deep also rebuilds each request from its
// events: every recorded state must be one Drawbridge wrote (canonical,
// digest matching), name its own request, keep what never changes after
// submission (requester, entitlement, duration, extension, decision),
// only add approvals, never leave a terminal state, and agree with the
// transition its event records; the last one is compared with the row
// field by field.
//
// VerifyRows reads the chain once, keeping a digest per request (deep: a
// state per request), then pages through the rows. It checks the rows
// against the chain as it is, not whether the chain is intact: run Verify
// (and the checkpoint proofs) too.
func VerifyRows(ctx context.Context, s RowStore, deep bool) (RowsResult, error) {
	var res RowsResult
	trails := map[string]*trail{}
	report := func(m RowMismatch) {
		if len(res.Mismatches) < MaxMismatches {
			res.Mismatches = append(res.Mismatches, m)
		} else {
			res.More++
		}
	}
	err := s.ScanAudit(ctx, func(ev drawbridge.AuditEvent) error {
		if ev.RequestID == "" {
			return nil
		}
		tr := trails[ev.RequestID]
		if tr == nil {
			tr = &trail{}
			trails[ev.RequestID] = tr
		}
		tr.events++
		text, ok := ev.Details[drawbridge.DetailRequestState]
		if !ok {
			return nil
		}
		tr.digest, tr.seq = ev.Details[drawbridge.DetailRequestDigest], ev.Seq
		tr.valid = drawbridge.DigestOf(text) == tr.digest
		if deep && tr.broken == nil {
			tr.last, tr.broken = replay(ev, text, tr.last)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("verify rows: read the audit chain: %w", err)
	}
	seen := map[string]bool{}
	f := drawbridge.RequestFilter{Limit: drawbridge.MaxListLimit}
	for {
		page, err := s.ListRequests(ctx, f)
		if err != nil {
			return res, fmt.Errorf("verify rows: read requests: %w", err)
		}
		for _, r := range page {
			res.Requests++
			seen[r.ID] = true
			m, unbound, err := checkRow(ctx, s, r, trails[r.ID], deep)
			if err != nil {
				return res, err
			}
			if unbound {
				res.Unbound++
			}
			if m != nil {
				report(*m)
			}
		}
		if len(page) < f.Limit {
			break
		}
		f.Cursor = page[len(page)-1].ID
	}
	var gone []string
	for id, tr := range trails {
		if !seen[id] && tr.digest != "" {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	for _, id := range gone {
		report(RowMismatch{RequestID: id, Seq: trails[id].seq, Reason: fmt.Sprintf("event %d records this request, but its row is missing (deleted?)", trails[id].seq)})
	}
	return res, nil
}

// checkRow compares one row with its trail; unbound is true for a row
// whose events record no state.
func checkRow(ctx context.Context, s RowStore, r *drawbridge.Request, tr *trail, deep bool) (m *RowMismatch, unbound bool, err error) {
	switch {
	case tr == nil:
		return &RowMismatch{RequestID: r.ID, Reason: "no audit event records this request (row inserted outside Drawbridge?)"}, false, nil
	case tr.digest == "":
		return nil, true, nil
	case deep && tr.broken != nil:
		return tr.broken, false, nil
	case !tr.valid:
		return &RowMismatch{RequestID: r.ID, Seq: tr.seq, Fields: []string{drawbridge.DetailRequestState},
			Reason: fmt.Sprintf("event %d's recorded state does not match its digest (event edited?)", tr.seq)}, false, nil
	}
	if deep {
		if diff := tr.last.Diff(drawbridge.StateOf(r)); len(diff) > 0 {
			return rowDiffers(r.ID, tr.seq, diff), false, nil
		}
		return nil, false, nil
	}
	if drawbridge.StateOf(r).Digest() == tr.digest {
		return nil, false, nil
	}
	// The row moved on since the chain was read, or was edited: read both
	// again, consistently, and name the fields.
	for range 3 {
		check, _, err := drawbridge.CheckStored(ctx, s, r)
		if drawbridge.IsStale(err) {
			if r, err = s.GetRequest(ctx, r.ID); err != nil {
				return nil, false, fmt.Errorf("verify rows: %w", err)
			}
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("verify rows: %w", err)
		}
		if check.OK() {
			return nil, false, nil
		}
		return rowDiffers(r.ID, check.Seq, check.Mismatch), false, nil
	}
	return nil, false, fmt.Errorf("verify rows: request %s kept changing while it was checked; run verify again", r.ID)
}

func rowDiffers(id string, seq int64, fields []string) *RowMismatch {
	return &RowMismatch{RequestID: id, Seq: seq, Fields: fields,
		Reason: fmt.Sprintf("the row differs from the state event %d recorded (edited outside Drawbridge?)", seq)}
}

// replay checks one recorded state against the one before it (nil for the
// first) and returns it, or the first way the trail went wrong.
func replay(ev drawbridge.AuditEvent, text string, prev *drawbridge.RequestState) (*drawbridge.RequestState, *RowMismatch) {
	bad := func(fields []string, format string, args ...any) (*drawbridge.RequestState, *RowMismatch) {
		return prev, &RowMismatch{RequestID: ev.RequestID, Seq: ev.Seq, Fields: fields,
			Reason: fmt.Sprintf("event %d (%s): ", ev.Seq, ev.Action) + fmt.Sprintf(format, args...)}
	}
	st, canonical := drawbridge.ParseRequestState(text)
	switch {
	case !canonical:
		return bad([]string{drawbridge.DetailRequestState}, "the recorded state is not one Drawbridge writes")
	case drawbridge.DigestOf(text) != ev.Details[drawbridge.DetailRequestDigest]:
		return bad([]string{drawbridge.DetailRequestState}, "the recorded state does not match its digest")
	case st.ID != ev.RequestID:
		return bad([]string{"id"}, "records the state of %s", st.ID)
	}
	if to, ok := ev.Details["to"]; ok && to != string(st.State) {
		return bad([]string{"state"}, "moves the request to %s but records it %s", to, st.State)
	}
	if prev == nil {
		return &st, nil
	}
	fixed := []string{"requester", "provider", "resource", "role", "duration_ns", "extends", "effect", "rule", "approvals_required"}
	var changed []string
	for _, f := range prev.Diff(st) {
		if slices.Contains(fixed, f) {
			changed = append(changed, f)
		}
	}
	switch {
	case len(changed) > 0:
		return bad(changed, "changes what never changes after submission")
	case len(st.Approvals) < len(prev.Approvals) || !slices.Equal(st.Approvals[:len(prev.Approvals)], prev.Approvals):
		return bad([]string{"approvals"}, "removes or rewrites an earlier approval")
	case prev.State.Terminal() && st.State != prev.State:
		return bad([]string{"state"}, "moves the request out of %s, which nothing leaves", prev.State)
	}
	return &st, nil
}

// Err returns nil when every row agreed, and otherwise an error naming the
// first mismatch and how many there were.
func (r RowsResult) Err() error {
	if r.OK() {
		return nil
	}
	n := len(r.Mismatches) + r.More
	return fmt.Errorf("request rows disagree with the audit trail: %d request(s); first: %s", n, r.Mismatches[0])
}
