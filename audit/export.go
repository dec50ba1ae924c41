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
	"unicode/utf8"

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

// RequestCSV writes requests as CSV rows in RequestHeader's columns, every
// cell through SafeCell: requesters write reasons and tickets, auditors
// open the file in a spreadsheet. It appends each row's bytes to one
// buffer it reuses and writes that out in large pieces: no reflection, and
// no slice or string per row, so a million-row export costs the store's
// reads and little more. The bytes are exactly what encoding/csv writes
// for the same cells (TestRequestCSVMatchesEncodingCSV).
type RequestCSV struct {
	w       io.Writer
	buf     []byte
	err     error
	started bool
}

// requestCSVFlushAt is the buffered size at which Write writes out.
const requestCSVFlushAt = 64 << 10

// NewRequestCSV returns a writer of requests to w, its header row
// buffered.
func NewRequestCSV(w io.Writer) *RequestCSV {
	c := &RequestCSV{w: w, buf: make([]byte, 0, requestCSVFlushAt+4096)}
	for i, h := range RequestHeader {
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		c.buf = append(c.buf, h...)
	}
	c.buf = append(c.buf, '\n')
	return c
}

// Write buffers r's row, writing out when the buffer is full; it returns
// the first error writing met.
func (c *RequestCSV) Write(r *drawbridge.Request) error {
	if c.err != nil {
		return c.err
	}
	c.cell(r.ID, false)
	c.cell(string(r.State), true)
	c.cell(r.Requester, true)
	c.cell(r.Provider, true)
	c.cell(r.Resource, true)
	c.cell(r.Role, true)
	c.buf = append(c.buf, ',')
	c.plain(strconv.AppendInt(c.buf, r.DurationSeconds(), 10))
	c.cell(r.Reason, true)
	c.cell(r.Ticket, true)
	c.cell(string(r.Channel), true)
	c.cell(r.Decision.Rule, true)
	c.cell(r.Decision.PolicySHA, true)
	c.cell(r.Decision.Reason, true)
	c.cell(approvers(r.Approvals), true)
	for _, t := range []time.Time{r.CreatedAt, r.DecidedAt, r.ActivatedAt, r.ExpiresAt, r.EndedAt} {
		c.buf = append(c.buf, ',')
		if !t.IsZero() {
			c.plain(t.UTC().AppendFormat(c.buf, time.RFC3339))
		}
	}
	c.cell(r.EndReason, true)
	c.cell(r.LastError, true)
	c.buf = append(c.buf, '\n')
	if len(c.buf) >= requestCSVFlushAt {
		return c.Flush()
	}
	return nil
}

// Started reports whether anything was written out yet: until then an
// export that fails can still answer with an error instead of a
// truncated file.
func (c *RequestCSV) Started() bool { return c.started }

// Flush writes out what is buffered.
func (c *RequestCSV) Flush() error {
	if c.err == nil && len(c.buf) > 0 {
		c.started = true
		_, c.err = c.w.Write(c.buf)
		c.buf = c.buf[:0]
	}
	return c.err
}

// plain takes b, c.buf with one more cell appended that needs no quotes
// (digits, a sign, an RFC 3339 time), and neutralises a leading sign as
// SafeCell would.
func (c *RequestCSV) plain(b []byte) {
	start := len(c.buf)
	if start < len(b) && (b[start] == '-' || b[start] == '+') {
		b = append(b, 0)
		copy(b[start+1:], b[start:])
		b[start] = '\''
	}
	c.buf = b
}

// cell appends one cell (after a comma unless it is the first) through
// SafeCell, quoted exactly when encoding/csv would quote it.
func (c *RequestCSV) cell(s string, comma bool) {
	if comma {
		c.buf = append(c.buf, ',')
	}
	s = SafeCell(s)
	if !csvNeedsQuotes(s) {
		c.buf = append(c.buf, s...)
		return
	}
	c.buf = append(c.buf, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			c.buf = append(c.buf, '"')
		}
		c.buf = append(c.buf, s[i])
	}
	c.buf = append(c.buf, '"')
}

// csvNeedsQuotes is encoding/csv's rule for a comma-separated, LF-ended
// file: a cell with a comma, quote, CR or LF, one that begins with a space
// of any kind, and the cell \. are quoted.
func csvNeedsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s == `\.` || strings.ContainsAny(s, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}

// approvers is the approvers cell: "carol approved; dave denied".
func approvers(as []drawbridge.Approval) string {
	if len(as) == 0 {
		return ""
	}
	var b strings.Builder
	for i, a := range as {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(a.Approver)
		if a.Approved {
			b.WriteString(" approved")
		} else {
			b.WriteString(" denied")
		}
	}
	return b.String()
}
