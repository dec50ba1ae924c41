package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/grammar/grammartest"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
	"github.com/drawbridge-jit/drawbridge/notify"
	"github.com/drawbridge-jit/drawbridge/slack"
	slackemu "github.com/drawbridge-jit/drawbridge/slack/emulator"
)

const (
	secret = "test-signing-secret"
	team   = "T0TEAM"
	app    = "A0APP"
	alice  = "U12345678" // alice@example.com, engineers
	bob    = "U23456789" // bob@example.com, engineers + sre-leads
	carol  = "U34567890" // carol@example.com, sre-leads
)

type fixture struct {
	env *testenv.Env
	h   *slack.Handler
	api *slackemu.Server

	mu       sync.Mutex
	rejected map[string]int
	// delivered receives each notification the Slack notifier delivered.
	delivered chan drawbridge.Notification
}

func newFixture(t *testing.T, opt testenv.Options) *fixture {
	t.Helper()
	env := testenv.New(t, opt)
	api, err := slackemu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	f := &fixture{env: env, api: api, rejected: map[string]int{}}
	f.h = &slack.Handler{
		Broker:            env.Broker,
		Verifier:          &slack.Verifier{Secrets: []string{secret}, Clock: env.Clock, Replay: env.Store},
		Workspace:         slack.Workspace{TeamID: team, AppID: app},
		API:               slackapi.New("xoxb-test", slackapi.OptionAPIURL(api.APIURL())),
		Command:           "/boundary",
		Clock:             env.Clock,
		ResponseURLPrefix: api.URL() + "/",
		OnReject: func(reason string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.rejected[reason]++
		},
	}
	return f
}

// deliver runs the Slack notifier as serve does: a notify.Worker reading
// the audit chain, woken by the broker's writes.
func (f *fixture) deliver(t *testing.T) {
	t.Helper()
	w := &notify.Worker{Name: "slack", Notifier: f.h, Store: f.env.Store, Clock: f.env.Clock, Holder: "test"}
	f.delivered = make(chan drawbridge.Notification, 256)
	w.OnDelivery = func(_ string, n drawbridge.Notification, err error) {
		if err == nil {
			select {
			case f.delivered <- n:
			default: // a test that does not read them
			}
		}
	}
	f.env.Broker.Store = notify.Wake(f.env.Broker.Store, w.Wake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; f.h.Wait() })
}

// waitDelivered waits until the notifier has delivered typ for request id.
func (f *fixture) waitDelivered(t *testing.T, typ string, id string) {
	t.Helper()
	for n := range f.delivered {
		if n.Type == typ && n.RequestID == id {
			return
		}
	}
}

// post sends body to path signed at the fake clock's now (or as h says).
func (f *fixture) post(t *testing.T, path string, body string, h http.Header) *httptest.ResponseRecorder {
	t.Helper()
	if h == nil {
		ts := strconv.FormatInt(f.env.Clock.Now().Unix(), 10)
		h = http.Header{}
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", slack.SignatureHeader(secret, ts, []byte(body)))
	}
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header = h.Clone()
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// triggers numbers the trigger_id of each command, which Slack makes
// unique per invocation (two identical commands are two signatures).
var triggers atomic.Int64

func commandBody(user, text string) string {
	return url.Values{"team_id": {team}, "api_app_id": {app}, "user_id": {user}, "command": {"/boundary"},
		"text": {text}, "response_url": {"http://unused.invalid/"}, "trigger_id": {strconv.FormatInt(triggers.Add(1), 10) + ".2.3"}}.Encode()
}

// command runs a slash command and returns the ephemeral text.
func (f *fixture) command(t *testing.T, user, text string) string {
	t.Helper()
	w := f.post(t, "/slack/commands", commandBody(user, text), nil)
	if w.Code != 200 {
		t.Fatalf("%q: %d %s", text, w.Code, w.Body)
	}
	var rep struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatalf("%q: %v in %s", text, err, w.Body)
	}
	if rep.ResponseType != "ephemeral" {
		t.Errorf("%q: response_type %q, want ephemeral", text, rep.ResponseType)
	}
	return rep.Text
}

func (f *fixture) requests(t *testing.T) []*drawbridge.Request {
	t.Helper()
	rs, err := f.env.Store.ListRequests(f.env.Ctx, drawbridge.RequestFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func (f *fixture) auditActions(t *testing.T) map[string][]drawbridge.AuditEvent {
	t.Helper()
	out := map[string][]drawbridge.AuditEvent{}
	if err := f.env.Store.ScanAudit(f.env.Ctx, func(ev drawbridge.AuditEvent) error {
		out[ev.Action] = append(out[ev.Action], ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func reqID(t *testing.T, text string) string {
	t.Helper()
	i := strings.Index(text, "req_")
	if i < 0 {
		t.Fatalf("no request id in %q", text)
	}
	return strings.FieldsFunc(text[i:], func(r rune) bool { return r == ' ' || r == ',' || r == '.' })[0]
}

// Forged, tampered, stale (±301 s), unsigned and replayed requests are
// answered 401, change nothing, and are counted and audited.
func TestRejectedRequestsChangeNothing(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	body := commandBody(alice, "123456789012 ReadOnlyAccess 0.5")
	now := f.env.Clock.Now().Unix()
	signed := func(ts int64, b string) http.Header {
		h := http.Header{}
		s := strconv.FormatInt(ts, 10)
		h.Set("X-Slack-Request-Timestamp", s)
		h.Set("X-Slack-Signature", slack.SignatureHeader(secret, s, []byte(b)))
		return h
	}
	forged := signed(now, body)
	forged.Set("X-Slack-Signature", "v0="+strings.Repeat("00", 32))
	unsigned := signed(now, body)
	unsigned.Del("X-Slack-Signature")
	noTime := signed(now, body)
	noTime.Del("X-Slack-Request-Timestamp")
	for _, tc := range []struct {
		name   string
		h      http.Header
		body   string
		reason string
	}{
		{"forged", forged, body, slack.RejectBadSignature},
		{"tampered", signed(now, body), strings.Replace(body, "0.5", "8", 1), slack.RejectBadSignature},
		{"301s old", signed(now-301, body), body, slack.RejectStale},
		{"301s ahead", signed(now+301, body), body, slack.RejectStale},
		{"no signature", unsigned, body, slack.RejectMissingHeaders},
		{"no timestamp", noTime, body, slack.RejectMissingHeaders},
	} {
		w := f.post(t, "/slack/commands", tc.body, tc.h)
		if w.Code != 401 {
			t.Errorf("%s: %d, want 401", tc.name, w.Code)
		}
		if f.rejected[tc.reason] == 0 {
			t.Errorf("%s: not counted as %s (%v)", tc.name, tc.reason, f.rejected)
		}
	}
	// A replay: the first delivery is served, the second refused.
	replayed := signed(now, body)
	if w := f.post(t, "/webhook", body, replayed); w.Code != 200 {
		t.Fatalf("first delivery: %d %s", w.Code, w.Body)
	}
	if w := f.post(t, "/webhook", body, replayed); w.Code != 401 {
		t.Fatalf("replay: %d, want 401", w.Code)
	}
	if n := len(f.requests(t)); n != 1 {
		t.Fatalf("%d requests recorded, want only the first delivery's", n)
	}
	if f.rejected[slack.RejectReplay] != 1 {
		t.Errorf("replay not counted: %v", f.rejected)
	}
	evs := f.auditActions(t)[slack.ActionRejected]
	if len(evs) != 7 {
		t.Fatalf("%d rejections audited, want 7", len(evs))
	}
	for _, ev := range evs {
		if ev.Details["reason"] == "" || strings.Contains(ev.Details["reason"], "v0=") {
			t.Errorf("audit event %+v", ev.Details)
		}
	}
}

// Every form of the shared table, typed after the slash command, records
// the same request as the CLI's arguments do (grammartest.Forms).
func TestSharedRequestForms(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	for _, form := range grammartest.Forms {
		text := f.command(t, bob, form.Slack)
		if !strings.Contains(text, "Received") {
			t.Errorf("%q: %s", form.Slack, text)
			continue
		}
		r := f.env.Get(t, reqID(t, text))
		want, err := f.env.Catalog.Resolve(form.Want.Entitlement())
		if err != nil {
			t.Fatal(err)
		}
		if r.Requester != "bob@example.com" || r.Entitlement != want || r.Duration != form.Want.Duration ||
			r.Ticket != form.Want.Ticket || r.Reason != form.Want.Reason || r.Channel != drawbridge.ChannelSlack {
			t.Errorf("%q recorded %s %s %s %q %q %s", form.Slack, r.Requester, r.Entitlement, r.Duration, r.Ticket, r.Reason, r.Channel)
		}
	}
}

// The acknowledgement never waits for the provider: with assignments
// taking 10 s at the emulator, the handler has answered with the request's
// id before the provider was even asked, and the grant becomes ACTIVE
// afterwards, in the background.
func TestAckBeforeSlowProvider(t *testing.T) {
	clk := clock.NewFake(testenv.Start)
	eo := emulator.SandboxOptions()
	eo.Delay, eo.Now = 10*time.Second, clk.Now
	emu, err := emulator.Start("127.0.0.1:0", eo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	f := newFixture(t, testenv.Options{Clock: clk, Emulator: emu})
	text := f.command(t, alice, "123456789012 ReadOnlyAccess 0.5")
	id := reqID(t, text)
	if r := f.env.Get(t, id); r.State != drawbridge.StateApproved || f.env.HasAssignment(t, "alice@example.com", "123456789012", "ReadOnlyAccess") {
		t.Fatalf("after the answer: %s, assignment %v; want APPROVED and nothing asked of the provider yet", r.State, f.env.HasAssignment(t, "alice@example.com", "123456789012", "ReadOnlyAccess"))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.env.HandleDue(t)
	}()
	// The provider is asked now; its operation completes 10 s later on
	// the emulator's clock.
	for i := 0; emu.InFlight() != 1; i++ {
		if i == 30000 {
			t.Fatal("the provider was never asked")
		}
		time.Sleep(time.Millisecond)
	}
	clk.Advance(10 * time.Second)
	<-done
	if r := f.env.Get(t, id); r.State != drawbridge.StateActive {
		t.Fatalf("after the provider finished: %s", r.State)
	}
}

// Unsigned traffic cannot grow the audit trail without bound: rejections
// are audited up to a burst, then one per interval carrying how many were
// suppressed since the last audited one; every one is still counted.
func TestRejectionAuditIsBounded(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	body := commandBody(alice, "123456789012 ReadOnlyAccess 0.5")
	forged := http.Header{}
	forged.Set("X-Slack-Request-Timestamp", strconv.FormatInt(f.env.Clock.Now().Unix(), 10))
	forged.Set("X-Slack-Signature", "v0="+strings.Repeat("00", 32))
	const flood = 200
	for range flood {
		if w := f.post(t, "/slack/commands", body, forged); w.Code != 401 {
			t.Fatalf("forged: %d", w.Code)
		}
	}
	if f.rejected[slack.RejectBadSignature] != flood {
		t.Fatalf("counted %d of %d rejections", f.rejected[slack.RejectBadSignature], flood)
	}
	evs := f.auditActions(t)[slack.ActionRejected]
	if len(evs) != slack.RejectionAuditBurst {
		t.Fatalf("%d rejections audited at one instant, want the burst of %d", len(evs), slack.RejectionAuditBurst)
	}
	f.env.Clock.Advance(slack.RejectionAuditEvery)
	forged.Set("X-Slack-Request-Timestamp", strconv.FormatInt(f.env.Clock.Now().Unix(), 10))
	f.post(t, "/slack/commands", body, forged)
	evs = f.auditActions(t)[slack.ActionRejected]
	if len(evs) != slack.RejectionAuditBurst+1 {
		t.Fatalf("%d rejections audited after one interval, want %d", len(evs), slack.RejectionAuditBurst+1)
	}
	if got, want := evs[len(evs)-1].Details["suppressed"], strconv.Itoa(flood-slack.RejectionAuditBurst); got != want {
		t.Fatalf("suppressed = %q, want %q", got, want)
	}
}
