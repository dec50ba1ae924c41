package main

import (
	"bufio"
	"encoding/json"
	"io"
	nethttp "net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/slack"
	slackemu "github.com/drawbridge-jit/drawbridge/slack/emulator"
)

// startDevSlack runs `drawbridge dev` with a known signing secret and
// returns its address and the URL of the loopback Slack Web API it
// started, read from what it prints.
func startDevSlack(t *testing.T, secret string) (base, slackAPI string) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, "dev", "--listen", addr, "--data", t.TempDir(), "--slack-signing-secret", secret)
	stderr := &lockedWriter{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	found := make(chan string, 1)
	webAPI := regexp.MustCompile(`Web API (http://127\.0\.0\.1:[0-9]+) \(GET /calls\)`)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := webAPI.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case slackAPI = <-found:
	case err := <-done:
		t.Fatalf("drawbridge dev exited: %v\n%s", err, stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("drawbridge dev printed no Slack Web API within 30s\n%s", stderr)
	}
	return "http://" + addr, slackAPI
}

// slackCalls reads what the dev server's Slack Web API recorded.
func slackCalls(t *testing.T, api string) []slackemu.Call {
	t.Helper()
	resp, err := nethttp.Get(api + "/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var calls []slackemu.Call
	if err := json.NewDecoder(resp.Body).Decode(&calls); err != nil {
		t.Fatal(err)
	}
	return calls
}

// The built binary end to end, as Slack would drive it: Alice asks for
// production admin with the slash command; the approval message is posted
// to the approval channel with its buttons; Carol's Approve click (a
// signed block_actions payload, as Slack sends it) approves it; the
// request goes ACTIVE through the AWS emulator and the approval message
// is rewritten in place with who decided and no buttons.
func TestSlackApprovalClickEndToEnd(t *testing.T) {
	const secret = "e2e-slack-secret-0123456789"
	base, api := startDevSlack(t, secret)
	cmdBody := url.Values{"team_id": {"T0DEV"}, "user_id": {"U12345678"}, "command": {"/boundary"},
		"text": {`111122223333 AdministratorAccess 0.5 INC-7 "db is down"`}, "trigger_id": {"1.2.3"}}.Encode()
	code, out := slackPost(t, base, "/slack/commands", secret, cmdBody)
	if code != 200 || !strings.Contains(out, "is waiting for approval") {
		t.Fatalf("command: %d %s", code, out)
	}
	id := regexp.MustCompile(`req_[0-9A-Za-z]+`).FindString(out)

	deadline := time.Now().Add(20 * time.Second)
	var posted slackemu.Call
	for posted.Method == "" {
		for _, c := range slackCalls(t, api) {
			if c.Method == "chat.postMessage" && strings.Contains(c.Params["blocks"], id) {
				posted = c
			}
		}
		if posted.Method == "" && time.Now().After(deadline) {
			t.Fatalf("no approval message for %s: %+v", id, slackCalls(t, api))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if posted.Params["channel"] != "C0APPROVALS" || !strings.Contains(posted.Params["blocks"], slack.ActionApprove) {
		t.Fatalf("approval message: %+v", posted.Params)
	}

	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "team": map[string]any{"id": "T0DEV"}, "api_app_id": "A0DEV",
		"user":    map[string]any{"id": "U34567890", "team_id": "T0DEV"},
		"channel": map[string]any{"id": "C0APPROVALS"}, "trigger_id": "9.8.7",
		"response_url": api + "/response/carol",
		"message":      map[string]any{"ts": "1700000000.000001"},
		"actions":      []map[string]any{{"action_id": slack.ActionApprove, "value": id, "type": "button", "block_id": "review"}},
	})
	if code, out := slackPost(t, base, "/slack/interactions", secret, url.Values{"payload": {string(payload)}}.Encode()); code != 200 {
		t.Fatalf("click: %d %s", code, out)
	}

	var state string
	for state != "ACTIVE" {
		_, b := curl(t, "GET", base+"/v1/requests/"+id, "dbt_dev_admin", "")
		var r struct {
			State string `json:"state"`
		}
		_ = json.Unmarshal(b, &r)
		state = r.State
		if state != "ACTIVE" && time.Now().After(deadline) {
			t.Fatalf("request %s never became ACTIVE: %s", id, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var updated, answer bool
	for !updated || !answer {
		for _, c := range slackCalls(t, api) {
			if c.Method == "chat.update" && c.Params["channel"] == "C0APPROVALS" && strings.Contains(c.Params["blocks"], "Approved by carol@example.com") &&
				!strings.Contains(c.Params["blocks"], slack.ActionApprove) {
				updated = true
			}
			if c.Method == "response_url" && c.Params["response_url_id"] == "carol" && strings.Contains(c.Params["text"], "You approved "+id) {
				answer = true
			}
		}
		if (!updated || !answer) && time.Now().After(deadline) {
			t.Fatalf("after the click: message updated %v, carol answered %v: %+v", updated, answer, slackCalls(t, api))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// findCall polls the dev server's Slack Web API until a recorded call
// satisfies match, for at most 20 s.
func findCall(t *testing.T, api string, match func(slackemu.Call) bool) slackemu.Call {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, c := range slackCalls(t, api) {
			if match(c) {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching Slack call within 20s: %+v", slackCalls(t, api))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A decision made with the CLI (remote mode, `drawbridge approve`)
// rewrites the Slack approval message within a second: the update is the
// delivery of the approval's notification, woken by the write itself.
func TestSlackMessageFollowsCLIDecision(t *testing.T) {
	const secret = "e2e-slack-secret-0123456789"
	base, api := startDevSlack(t, secret)
	body := url.Values{"team_id": {"T0DEV"}, "user_id": {"U12345678"}, "command": {"/boundary"},
		"text": {"111122223333 AdministratorAccess 0.5 INC-8"}, "trigger_id": {"4.5.6"}}.Encode()
	code, out := slackPost(t, base, "/slack/commands", secret, body)
	if code != 200 || !strings.Contains(out, "is waiting for approval") {
		t.Fatalf("command: %d %s", code, out)
	}
	id := regexp.MustCompile(`req_[0-9A-Za-z]+`).FindString(out)
	findCall(t, api, func(c slackemu.Call) bool {
		return c.Method == "chat.postMessage" && c.Params["channel"] == "C0APPROVALS" && strings.Contains(c.Params["blocks"], id)
	})
	env := []string{"DRAWBRIDGE_ADDR=" + base, "DRAWBRIDGE_TOKEN=dbt_dev_approver_carol"}
	if res := exe(t, t.TempDir(), env, "approve", id, "carol@example.com"); res.code != 0 {
		t.Fatalf("drawbridge approve: %s", res)
	}
	decided := time.Now()
	findCall(t, api, func(c slackemu.Call) bool {
		return c.Method == "chat.update" && strings.Contains(c.Params["blocks"], id) && strings.Contains(c.Params["blocks"], "Approved by carol@example.com")
	})
	if took := time.Since(decided); took > time.Second {
		t.Fatalf("the approval message was updated %s after the CLI's decision, want within 1s", took)
	}
}
