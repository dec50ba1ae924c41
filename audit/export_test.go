package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge/audit"
)

func TestSafeCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"alice@example.com", "alice@example.com"},
		{"=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"},
		{"+1+1", "'+1+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"a=b", "a=b"},
		// Spreadsheets trim or skip invisible leading characters and then
		// see the formula: each is neutralised.
		{" =1", "' =1"},
		{"  +1", "'  +1"},
		{"\u00a0=1+1", "'\u00a0=1+1"}, // no-break space
		{"\u200b=1+1", "'\u200b=1+1"}, // zero-width space
		{"\u200d\u2060@SUM(A1)", "'\u200d\u2060@SUM(A1)"},
		{"\ufeff=1+1", "'\ufeff=1+1"}, // byte order mark
		{"\u3000-1", "'\u3000-1"},     // ideographic space
		{"\n=1+1", "'\n=1+1"},
		{"＝HYPERLINK(1)", "'＝HYPERLINK(1)"}, // full-width forms
		{"＋1", "'＋1"},
		{"－1", "'－1"},
		{"＠SUM(A1)", "'＠SUM(A1)"},
		{"\ufe66cmd", "'\ufe66cmd"}, // small equals sign
		{"\t", "'\t"},
		{" plain", " plain"},
		{"\u00a0plain", "\u00a0plain"},
		{"'already", "'already"},
		{"123456789012", "123456789012"},
		{"{\"k\":\"v\"}", "{\"k\":\"v\"}"},
	}
	for _, tt := range tests {
		if got := audit.SafeCell(tt.in); got != tt.want {
			t.Errorf("SafeCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCSVWriter(t *testing.T) {
	evs := chain(2)
	evs[1].Actor = "=cmd|' /C calc'!A0"
	evs[1].Details = map[string]string{"reason": "-rm", "b": "x,y\n\"z\""}
	var buf bytes.Buffer
	if err := audit.Export(context.Background(), audit.NewCSVWriter(&buf), scanOf(evs)); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want header + 2", len(rows))
	}
	if got := strings.Join(rows[0], ","); got != "seq,time,actor,action,request_id,details,prev_hash,hash" {
		t.Fatalf("header = %s", got)
	}
	r := rows[2]
	want := []string{
		"2", "2026-03-01T08:00:01.123456789Z", "'=cmd|' /C calc'!A0", "approve", "req_0123",
		`{"b":"x,y\n\"z\"","reason":"-rm"}`, evs[1].PrevHash, evs[1].Hash,
	}
	for i := range want {
		if r[i] != want[i] {
			t.Errorf("column %s = %q, want %q", rows[0][i], r[i], want[i])
		}
	}
}

func TestCSVWriterEmptyExportHasHeader(t *testing.T) {
	var buf bytes.Buffer
	w := audit.NewCSVWriter(&buf)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "seq,time,actor,action,request_id,details,prev_hash,hash\n" {
		t.Fatalf("empty export = %q", buf.String())
	}
}

func TestJSONLRoundTripVerifies(t *testing.T) {
	evs := chain(5)
	evs[2].Actor = "<script>&"
	audit.Seal(evs[1].Hash, &evs[2])
	for i := 3; i < len(evs); i++ {
		audit.Seal(evs[i-1].Hash, &evs[i])
	}
	var buf bytes.Buffer
	if err := audit.Export(context.Background(), audit.NewJSONLWriter(&buf), scanOf(evs)); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 5 {
		t.Fatalf("got %d lines, want 5", n)
	}
	if !strings.Contains(buf.String(), `"actor":"<script>&"`) {
		t.Fatalf("JSONL escaped the actor: %s", buf.String())
	}
	res, err := audit.Verify(context.Background(), audit.ReadJSONL(bytes.NewReader(buf.Bytes())))
	if err != nil || !res.OK || res.Events != 5 {
		t.Fatalf("exported chain does not verify: %+v, %v", res, err)
	}

	tampered := strings.Replace(buf.String(), `"actor":"<script>&"`, `"actor":"bob"`, 1)
	res, err = audit.Verify(context.Background(), audit.ReadJSONL(strings.NewReader(tampered)))
	if err != nil || res.OK || res.FirstBadSeq != 3 {
		t.Fatalf("tampered export: %+v, %v", res, err)
	}
}
