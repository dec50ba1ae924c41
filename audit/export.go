package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/drawbridge-jit/drawbridge"
)

// CSVHeader is the first row of a CSV export.
var CSVHeader = []string{"seq", "time", "actor", "action", "request_id", "details", "prev_hash", "hash"}

// CSVWriter writes audit events as CSV, one row per event, streaming: it
// holds nothing but the underlying buffered writer, so exporting a million
// events takes as much memory as exporting one.
//
// A CSV export is for people and spreadsheets: every cell goes through
// SafeCell, so a cell that began with a formula character carries a leading
// quote and no longer hashes to the chain. Verify machine-readable exports
// (JSON Lines) instead.
type CSVWriter struct {
	w           *csv.Writer
	wroteHeader bool
	row         []string
}

// NewCSVWriter returns a writer of audit events to w. The header row is
// written with the first event, or by Flush for an empty export.
func NewCSVWriter(w io.Writer) *CSVWriter {
	return &CSVWriter{w: csv.NewWriter(w), row: make([]string, len(CSVHeader))}
}

// Write writes one event.
func (c *CSVWriter) Write(ev drawbridge.AuditEvent) error {
	if err := c.header(); err != nil {
		return err
	}
	details, err := detailsJSON(ev.Details)
	if err != nil {
		return err
	}
	c.row[0] = strconv.FormatInt(ev.Seq, 10)
	c.row[1] = ev.Time.UTC().Format(time.RFC3339Nano)
	c.row[2] = ev.Actor
	c.row[3] = ev.Action
	c.row[4] = ev.RequestID
	c.row[5] = details
	c.row[6] = ev.PrevHash
	c.row[7] = ev.Hash
	for i, s := range c.row {
		c.row[i] = SafeCell(s)
	}
	return c.w.Write(c.row)
}

// Flush writes any buffered rows (and the header, if no event was written)
// and reports the first error any write met.
func (c *CSVWriter) Flush() error {
	if err := c.header(); err != nil {
		return err
	}
	c.w.Flush()
	return c.w.Error()
}

func (c *CSVWriter) header() error {
	if c.wroteHeader {
		return nil
	}
	c.wroteHeader = true
	return c.w.Write(CSVHeader)
}

// SafeCell neutralises spreadsheet formula injection (CSV injection): a
// cell whose first visible character starts a formula gets a leading
// single quote. Spreadsheet programs (Excel, LibreOffice, Google Sheets)
// evaluate such a cell as a formula when an auditor opens the export, and
// audit fields such as a request's actor or reason come from the people
// being audited: "=HYPERLINK(...)" or "=cmd|..." would run in the
// auditor's spreadsheet. The quote makes the program show the text.
//
// "First visible" because programs trim or skip what precedes the formula
// character: leading whitespace of any kind (space, tab, CR, LF, no-break
// space, ideographic space) and invisible format characters (zero-width
// space and joiners, word joiner, byte order mark, bidi controls) are
// skipped before looking. The formula characters are '=', '+', '-', '@'
// and their full-width (＝＋－＠) and small (﹦﹢﹣﹫) forms, which some
// programs normalise to ASCII. A cell starting with tab or CR is quoted
// whatever follows (OWASP's CSV injection guidance).
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	if s[0] == '\t' || s[0] == '\r' {
		return "'" + s
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		switch r {
		case '=', '+', '-', '@', '＝', '＋', '－', '＠', '﹦', '﹢', '﹣', '﹫':
			return "'" + s
		}
		return s
	}
	return s
}

// JSONLWriter writes audit events as JSON Lines, one object per line, with
// the field names of drawbridge.AuditEvent. Unlike CSV, the values are
// exact, so an export can be verified again (see ReadJSONL).
type JSONLWriter struct {
	enc *json.Encoder
}

// NewJSONLWriter returns a writer of audit events to w.
func NewJSONLWriter(w io.Writer) *JSONLWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSONLWriter{enc: enc}
}

// Write writes one event as one line.
func (j *JSONLWriter) Write(ev drawbridge.AuditEvent) error {
	ev.Time = ev.Time.UTC()
	return j.enc.Encode(ev)
}

// Flush is a no-op kept so that both writers satisfy the same interface;
// JSONLWriter does not buffer.
func (j *JSONLWriter) Flush() error { return nil }

// Writer is what both export formats implement.
type Writer interface {
	Write(drawbridge.AuditEvent) error
	Flush() error
}

var (
	_ Writer = (*CSVWriter)(nil)
	_ Writer = (*JSONLWriter)(nil)
)

// ReadJSONL returns a ScanFunc over a JSON Lines export, so an export can be
// checked with Verify(ctx, ReadJSONL(r)) without the database.
func ReadJSONL(r io.Reader) ScanFunc {
	return func(ctx context.Context, fn func(drawbridge.AuditEvent) error) error {
		dec := json.NewDecoder(r)
		for {
			var ev drawbridge.AuditEvent
			if err := dec.Decode(&ev); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
}

// Export streams every event that scan yields to w and flushes it.
func Export(ctx context.Context, w Writer, scan ScanFunc) error {
	if err := scan(ctx, w.Write); err != nil {
		return err
	}
	return w.Flush()
}

// detailsJSON encodes details with sorted keys (encoding/json sorts map
// keys); an empty map is "{}" so every row has a JSON object.
func detailsJSON(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// RequestHeader is the header row of a CSV of requests (the API's
// /api/exports.csv and the dashboard's CSV link).
var RequestHeader = []string{"id", "state", "requester", "provider", "account_id", "permission_set_name",
	"duration_seconds", "reason", "ticket", "channel", "rule", "policy_sha256", "decision_reason",
	"approvers", "created_at", "decided_at", "activated_at", "expires_at", "ended_at", "end_reason", "last_error"}

// RequestRow fills row (len(RequestHeader) cells) with r's values, each
// through SafeCell: requesters write reasons and tickets, auditors open
// the file in a spreadsheet.
func RequestRow(row []string, r *drawbridge.Request) {
	var approvers []string
	for _, a := range r.Approvals {
		v := "approved"
		if !a.Approved {
			v = "denied"
		}
		approvers = append(approvers, a.Approver+" "+v)
	}
	vals := []string{r.ID, string(r.State), r.Requester, r.Provider, r.Resource, r.Role,
		strconv.FormatInt(r.DurationSeconds(), 10), r.Reason, r.Ticket, string(r.Channel), r.Decision.Rule,
		r.Decision.PolicySHA, r.Decision.Reason, strings.Join(approvers, "; "), rfc3339(r.CreatedAt),
		rfc3339(r.DecidedAt), rfc3339(r.ActivatedAt), rfc3339(r.ExpiresAt), rfc3339(r.EndedAt), r.EndReason, r.LastError}
	for i, v := range vals {
		row[i] = SafeCell(v)
	}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
