package audit_test

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
)

// referenceRow is the request CSV row as encoding/csv is given it: every
// cell a string through SafeCell.
func referenceRow(r *drawbridge.Request) []string {
	var approvers []string
	for _, a := range r.Approvals {
		v := "approved"
		if !a.Approved {
			v = "denied"
		}
		approvers = append(approvers, a.Approver+" "+v)
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	vals := []string{r.ID, string(r.State), r.Requester, r.Provider, r.Resource, r.Role,
		strconv.FormatInt(r.DurationSeconds(), 10), r.Reason, r.Ticket, string(r.Channel), r.Decision.Rule,
		r.Decision.PolicySHA, r.Decision.Reason, strings.Join(approvers, "; "), ts(r.CreatedAt),
		ts(r.DecidedAt), ts(r.ActivatedAt), ts(r.ExpiresAt), ts(r.EndedAt), r.EndReason, r.LastError}
	for i, v := range vals {
		vals[i] = audit.SafeCell(v)
	}
	return vals
}

// RequestCSV encodes by hand; its bytes must be encoding/csv's for the
// same cells, whatever the cells hold: separators, quotes, line breaks,
// leading spaces of any kind, formula characters, `\.`, non-ASCII.
func TestRequestCSVMatchesEncodingCSV(t *testing.T) {
	pieces := []string{"", "a", ",", "\"", "\r", "\n", "\r\n", " ", "\t", "\u00a0", "\u3000", "\u200b", "=1+2", "+", "-", "@",
		"＝", "﹣", `\.`, "\\", "'", "é", "日本", "x,y", "say \"hi\"", "line\nbreak", "\ufeff="}
	rng := rand.New(rand.NewPCG(7, 8))
	text := func() string {
		var b strings.Builder
		for range rng.IntN(4) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var rs []*drawbridge.Request
	for i := 0; i < 2000; i++ {
		r := &drawbridge.Request{ID: text(), State: drawbridge.State(text()), Requester: text(),
			Entitlement: drawbridge.Entitlement{Provider: text(), Resource: text(), Role: text()},
			Duration:    time.Duration(rng.IntN(20000)-1000) * time.Second, Reason: text(), Ticket: text(), Channel: drawbridge.Channel(text()),
			Decision:  drawbridge.Decision{Rule: text(), PolicySHA: text(), Reason: text()},
			CreatedAt: t0.Add(time.Duration(rng.IntN(1e6)) * time.Second), EndReason: text(), LastError: text()}
		for range rng.IntN(3) {
			r.Approvals = append(r.Approvals, drawbridge.Approval{Approver: text(), Approved: rng.IntN(2) == 0})
		}
		for _, at := range []*time.Time{&r.DecidedAt, &r.ActivatedAt, &r.ExpiresAt, &r.EndedAt} {
			if rng.IntN(2) == 0 {
				*at = t0.Add(time.Duration(rng.IntN(1e6)) * time.Second).In(time.FixedZone("X", 3600))
			}
		}
		rs = append(rs, r)
	}
	rs = append(rs, &drawbridge.Request{}) // every cell empty
	var want, got bytes.Buffer
	cw := csv.NewWriter(&want)
	if err := cw.Write(audit.RequestHeader); err != nil {
		t.Fatal(err)
	}
	w := audit.NewRequestCSV(&got)
	for _, r := range rs {
		if err := cw.Write(referenceRow(r)); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	cw.Flush()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		g, wl := strings.Split(got.String(), "\n"), strings.Split(want.String(), "\n")
		for i := range min(len(g), len(wl)) {
			if g[i] != wl[i] {
				t.Fatalf("line %d differs:\n got %q\nwant %q", i+1, g[i], wl[i])
			}
		}
		t.Fatalf("%d bytes, want %d", got.Len(), want.Len())
	}
	// and it reads back as the same cells
	recs, err := csv.NewReader(&got).ReadAll()
	if err != nil || len(recs) != len(rs)+1 {
		t.Fatalf("read back %d records, %v; want %d", len(recs), err, len(rs)+1)
	}
}

// A row costs no allocation beyond SafeCell's quote for a formula cell.
func TestRequestCSVDoesNotAllocatePerRow(t *testing.T) {
	r := &drawbridge.Request{ID: "req_0123", State: drawbridge.StateExpired, Requester: "alice@example.com",
		Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: "111111111111", Role: "ReadOnly"}, Duration: time.Hour,
		Reason: "deploy, then check", Ticket: "OPS-1", Channel: drawbridge.ChannelCLI, CreatedAt: time.Now(), ExpiresAt: time.Now(), EndedAt: time.Now()}
	w := audit.NewRequestCSV(discard{})
	if n := testing.AllocsPerRun(1000, func() { _ = w.Write(r) }); n != 0 {
		t.Fatalf("%.1f allocations per row, want 0", n)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
