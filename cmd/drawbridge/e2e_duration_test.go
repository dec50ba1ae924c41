package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

// One duration grammar on every channel (issue 7, item 12): the positional
// hours take plain decimals only (1_0 was ten hours, 0x1p-2 a quarter),
// --duration and the API take Go durations plus days, and the broker
// refuses lengths below limits.min_duration or above the 168 h hard limit
// whichever channel they came through.
func TestDurationGrammarCLI(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	req := []string{"request", "U12345678", "123456789012", "ReadOnlyAccess"}
	for _, hours := range []string{"0x1p-2", "1_0", "+1", "1e2", "inf", "nan", ".5", "1h"} {
		res := s.run(t, append(req, hours)...)
		if res.code != 2 || !strings.Contains(res.stderr, "plain decimal") {
			t.Errorf("hours %s: want exit 2 naming the plain-decimal form\n%s", hours, res)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(req, "169"), "hard limit of 168h (7d)"},
		{append(req, "0"), "positive"},
		{[]string{"request", "--requester", "U12345678", "--account", "123456789012", "--permission-set", "ReadOnlyAccess", "--duration", "999ms"}, "limits.min_duration"},
		{[]string{"request", "--requester", "U12345678", "--account", "123456789012", "--permission-set", "ReadOnlyAccess", "--duration", "1ns"}, "limits.min_duration"},
		{[]string{"request", "--requester", "U12345678", "--account", "123456789012", "--permission-set", "ReadOnlyAccess", "--duration", "-1h"}, "invalid duration"},
		{[]string{"policy", "explain", "U12345678", "123456789012", "ReadOnlyAccess", "1_0"}, "plain decimal"},
	} {
		res := s.run(t, tc.args...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("drawbridge %s: want exit 2 with %q\n%s", strings.Join(tc.args, " "), tc.want, res)
		}
	}
	// Days work on the command line as in the policy: parsed, then decided
	// (the rule's max_duration is 8h).
	res := s.run(t, "request", "--requester", "U12345678", "--account", "123456789012", "--permission-set", "ReadOnlyAccess", "--duration", "1d12h")
	if res.code != 3 || !strings.Contains(res.stderr, "exceeds max_duration") {
		t.Errorf("--duration 1d12h: want DENIED by max_duration (exit 3)\n%s", res)
	}
	r := s.request(t, 0, append(req[1:], "0.02")...)
	if r["duration_seconds"] != float64(72) {
		t.Errorf("0.02 hours: duration_seconds %v, want 72", r["duration_seconds"])
	}
	if res := s.run(t, "extend", r["id"].(string), "1_0"); res.code != 2 || !strings.Contains(res.stderr, "plain decimal") {
		t.Errorf("extend 1_0: want exit 2\n%s", res)
	}
}

// The API validates duration and duration_seconds through the same
// package and the same broker rules, including a configured minimum; the
// remote CLI gets the server's answer.
func TestDurationGrammarHTTP(t *testing.T) {
	t.Parallel()
	cfg, addr := serveSandbox(t, emulator.SandboxOptions(), "")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "min_duration: 1s", "min_duration: 1m", 1)
	if !strings.Contains(text, "min_duration: 1m") {
		t.Fatalf("the sandbox config sets no limits.min_duration:\n%s", data)
	}
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	startServer(t, addr, "--config", cfg, "serve")
	token := createToken(t, cfg, "--principal", "alice@example.com", "--role", "requester")
	post := func(extra string) (int, map[string]any) {
		t.Helper()
		code, b := curl(t, "POST", "http://"+addr+"/v1/requests", token, `{"account_id":"123456789012","permission_set":"ReadOnlyAccess",`+extra+`}`)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return code, m
	}
	for _, tc := range []struct {
		body string
		want string
	}{
		{`"duration":"1ns"`, "limits.min_duration"},
		{`"duration":"999ms"`, "limits.min_duration"},
		{`"duration":"30s"`, "shorter than the shortest grant, 1m (limits.min_duration)"},
		{`"duration_seconds":30`, "shorter than the shortest grant, 1m (limits.min_duration)"},
		{`"duration":"169h"`, "hard limit of 168h (7d)"},
		{`"duration_seconds":604801`, "hard limit of 168h (7d)"},
		{`"duration_seconds":9223372036854775807`, "hard limit of 168h (7d)"},
		{`"duration":"0.5"`, "invalid duration"},
		{`"duration":"+1h"`, "invalid duration"},
	} {
		code, m := post(tc.body)
		errObj, _ := m["error"].(map[string]any)
		msg, _ := errObj["message"].(string)
		if code != 400 || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %v; want 400 with %q", tc.body, code, m, tc.want)
		}
	}
	if code, m := post(`"duration":"1d12h"`); code != 201 || m["state"] != "DENIED" || !strings.Contains(m["decision_reason"].(string), "exceeds max_duration") {
		t.Errorf("1d12h: %d %v; want 201 DENIED by max_duration", code, m)
	}
	if code, m := post(`"duration":"1m"`); code != 201 || m["duration_seconds"] != float64(60) {
		t.Errorf("1m: %d %v", code, m)
	}
	res := exe(t, t.TempDir(), []string{"DRAWBRIDGE_ADDR=http://" + addr, "DRAWBRIDGE_TOKEN=" + token}, "request", "alice@example.com", "123456789012", "ReadOnlyAccess", "0.01")
	if res.code != 2 || !strings.Contains(res.stderr, "limits.min_duration") {
		t.Errorf("remote request for 0.01 hours (36s): want exit 2 naming limits.min_duration\n%s", res)
	}
}
