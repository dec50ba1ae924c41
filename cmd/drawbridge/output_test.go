package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// hostile is a request as a store or server might hold it from before
// input was checked: every free-text field tries to forge a line, clear
// the screen or reorder the approver's terminal.
func hostile() *drawbridge.Request {
	forge := "debug\nstate:        ACTIVE\x1b[2J\x1b[H\u202e"
	return &drawbridge.Request{
		ID: drawbridge.NewRequestID(), State: drawbridge.StatePendingApproval, Requester: "mallory@example.com\r",
		Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: "111122223333", Role: "Admin\tAccess"},
		Duration:    time.Hour, Reason: forge, Ticket: "INC-1\x00\x9b", CreatedAt: time.Unix(0, 0),
		Decision:  drawbridge.Decision{Rule: "r", Reason: forge},
		EndReason: forge, LastError: forge,
	}
}

// TestOutputRendersControlCharactersVisibly: status, list and the denial
// message show control and bidi characters as escapes, so the approver
// sees exactly one state line and no escape sequence reaches the terminal.
func TestOutputRendersControlCharactersVisibly(t *testing.T) {
	r := hostile()
	var status bytes.Buffer
	if err := writeStatus(&status, r); err != nil {
		t.Fatal(err)
	}
	var list bytes.Buffer
	g := &globals{stdout: &list}
	if err := g.printList([]*drawbridge.Request{r}); err != nil {
		t.Fatal(err)
	}
	denied := deniedReason(r)
	for name, out := range map[string]string{"status": status.String(), "list": list.String(), "denied": denied} {
		for _, c := range []string{"\x1b", "\r", "\x00", "\u202e", "\u009b"} {
			if strings.Contains(out, c) {
				t.Errorf("%s output contains %q raw:\n%s", name, c, out)
			}
		}
		want := []string{`\x1b[2J`, `\u202e`}
		if name == "list" {
			want = []string{`mallory@example.com\r`, `Admin\tAccess`}
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s output does not show %s visibly:\n%s", name, w, out)
			}
		}
	}
	if n := strings.Count(status.String(), "\nstate:"); n != 1 {
		t.Errorf("status shows %d state lines, want 1:\n%s", n, status.String())
	}
	if n := strings.Count(list.String(), "\n"); n != 2 {
		t.Errorf("list has %d lines, want header and one row:\n%s", n, list.String())
	}
	if strings.Contains(denied, "\n") {
		t.Errorf("denial message spans lines: %q", denied)
	}
}

// An extension's duration is its measured window (expires_at minus when
// access began), so it is rarely whole seconds; status shows it to the
// second, as every duration a person typed is.
func TestStatusShowsDurationToTheSecond(t *testing.T) {
	r := &drawbridge.Request{ID: "req_x", State: drawbridge.StateActive, Duration: 31*time.Minute + 10*time.Second + 366441376*time.Nanosecond}
	var out bytes.Buffer
	if err := writeStatus(&out, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "duration:     31m10s\n") {
		t.Errorf("status duration line:\n%s", out.String())
	}
}

// --output json applies to errors too (DESIGN.md): a script gets
// {"error":{"code","message"}} on stderr, with the same codes as the API,
// and stdout keeps only what the command printed before failing.
func TestErrorsInJSON(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args     []string
		exit     int
		code     string
		contains string
	}{
		{[]string{"--output", "json", "requst"}, exitUsage, drawbridge.EINVALID, `unknown command "requst"`},
		{[]string{"-o", "json", "status", "req_0123456789abcdef0123456789abcdef", "--config", filepath.Join(dir, "missing.yaml")}, exitUsage, drawbridge.EINVALID, "missing.yaml does not exist"},
	} {
		var stdout, stderr bytes.Buffer
		if got := run(context.Background(), tc.args, &stdout, &stderr); got != tc.exit {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, got, tc.exit, stderr.String())
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		dec := json.NewDecoder(&stderr)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || dec.More() {
			t.Errorf("%v: stderr is not one JSON error object (%v):\n%s", tc.args, err, stderr.String())
			continue
		}
		if body.Error.Code != tc.code || !strings.Contains(body.Error.Message, tc.contains) {
			t.Errorf("%v: error %+v, want code %q and a message with %q", tc.args, body.Error, tc.code, tc.contains)
		}
	}
}

// status names an AWS entitlement as before ("aws account 123456789012,
// ReadOnlyAccess") and another provider's as a resource, not an account.
func TestStatusNamesTheEntitlement(t *testing.T) {
	for _, tc := range []struct {
		e    drawbridge.Entitlement
		want string
	}{
		{drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess"}, "entitlement:  aws account 123456789012, ReadOnlyAccess\n"},
		{drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"}, "entitlement:  hooks resource payroll-db, reader\n"},
	} {
		var out bytes.Buffer
		if err := writeStatus(&out, &drawbridge.Request{ID: "req_x", Entitlement: tc.e}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("status of %s:\n%s\nwant the line %q", tc.e, out.String(), tc.want)
		}
	}
}
