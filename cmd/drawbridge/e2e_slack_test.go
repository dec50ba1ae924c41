package main

import (
	"encoding/json"
	"io"
	nethttp "net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/slack"
)

// slackPost sends a slash command to a running server, signed with secret
// (or unsigned when secret is "").
func slackPost(t *testing.T, base, path, secret, body string) (int, string) {
	t.Helper()
	req, err := nethttp.NewRequest("POST", base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", slack.SignatureHeader(secret, ts, []byte(body)))
	}
	resp, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// drawbridge dev serves the slash command with the signing secret it is
// given, as /boundary, mapping the sample directory's Slack ids: a signed
// command is recorded as the Slack user's request, an unsigned one is 401
// and counted in /metrics, and --slack-team refuses other workspaces.
func TestDevSlackCommand(t *testing.T) {
	addr := freeAddr(t)
	const secret = "dev-secret-0123456789abcdef"
	startServer(t, addr, "dev", "--listen", addr, "--data", t.TempDir(), "--slack-signing-secret", secret, "--slack-team", "T0DEV")
	base := "http://" + addr
	body := url.Values{"team_id": {"T0DEV"}, "user_id": {"U12345678"}, "command": {"/boundary"},
		"text": {"staging ReadOnlyAccess 0.5"}, "trigger_id": {"1"}}.Encode()
	code, out := slackPost(t, base, "/slack/commands", secret, body)
	var rep struct{ ResponseType, Text string }
	if json.Unmarshal([]byte(out), &rep); code != 200 || rep.ResponseType != "" && rep.ResponseType != "ephemeral" || !strings.Contains(rep.Text, "Received: req_") {
		t.Fatalf("signed command: %d %s", code, out)
	}
	id := rep.Text[strings.Index(rep.Text, "req_"):]
	id = id[:strings.IndexAny(id, " ")]
	code, b := curl(t, "GET", base+"/v1/requests/"+id, "dbt_dev_requester_alice", "")
	if code != 200 || !strings.Contains(string(b), `"channel":"slack"`) || !strings.Contains(string(b), `"requester":"alice@example.com"`) {
		t.Fatalf("the request as alice sees it: %d %s", code, b)
	}
	if code, out := slackPost(t, base, "/webhook", "", body); code != 401 {
		t.Fatalf("unsigned: %d %s", code, out)
	}
	if code, out := slackPost(t, base, "/webhook", "wrong-secret-0123456789", body); code != 401 {
		t.Fatalf("wrong secret: %d %s", code, out)
	}
	other := strings.Replace(body, "T0DEV", "T0OTHER", 1)
	if code, out := slackPost(t, base, "/slack/commands", secret, other); code != 200 || !strings.Contains(out, "does not serve your workspace") {
		t.Fatalf("other workspace: %d %s", code, out)
	}
	_, m := curl(t, "GET", base+"/metrics", "", "")
	for _, want := range []string{`drawbridge_slack_rejected_total{reason="missing_headers"} 1`, `drawbridge_slack_rejected_total{reason="bad_signature"} 1`,
		`drawbridge_slack_rejected_total{reason="foreign_workspace"} 1`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
