package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/clock"
)

// Audit actions of the Slack channel: requests refused before they reach
// the broker.
const (
	// ActionRejected: the request failed signature verification.
	ActionRejected = "slack_request_rejected"
	// ActionForeignWorkspace: a verified request from another workspace,
	// app or enterprise (a Slack Connect channel, another install).
	ActionForeignWorkspace = "slack_workspace_refused"
	// ActionUnmappedUser: a Slack user who is nobody in the directory.
	ActionUnmappedUser = "slack_user_unmapped"
)

// Workspace is the one Slack workspace (and app, and Enterprise Grid
// organisation) whose requests are served. Empty fields accept anything:
// only drawbridge dev, on loopback, leaves TeamID and AppID empty.
type Workspace struct {
	TeamID       string
	AppID        string
	EnterpriseID string
}

// DefaultMaxBodyBytes caps a Slack request body. Slash commands and
// button payloads are a few kilobytes.
const DefaultMaxBodyBytes = 64 << 10

// timeLimit bounds the work behind one command or click.
const timeLimit = time.Minute

// DefaultAckWithin is how long a command may run before the answer moves
// to response_url: well inside Slack's 3 s.
const DefaultAckWithin = 2 * time.Second

// Handler serves Slack's HTTP endpoints.
type Handler struct {
	Broker    *broker.Broker
	Verifier  *Verifier
	Workspace Workspace
	// API is the Web API client (bot token): users.info, messages.
	API *slackapi.Client
	// EmailDomains, when set, map a Slack user with no linked identity
	// through the e-mail users.info reports, for these domains only.
	EmailDomains []string
	// ApprovalChannel is the channel id (C…) where approval messages are
	// posted unless the request's rule names its own
	// (approval.slack_channel); with neither, each approver the rule names
	// as a person gets the message as a DM.
	ApprovalChannel string
	// DashboardURL is the server's public URL (server.public_url), for the
	// link to the dashboard's approval page of rules decided there
	// (approval.in_slack: false).
	DashboardURL string
	// AccessURL is where a person uses granted access (the AWS access
	// portal), put in the DM that says access is active.
	AccessURL string
	// Command is the slash command's name as configured in Slack
	// ("/boundary"), for the help text.
	Command string
	Clock   clock.Clock
	Logger  *slog.Logger
	// OnReject, when set, counts refused requests by reason (metrics).
	OnReject func(reason string)
	// AckWithin is how long a command may take before Slack is answered
	// "received" and the outcome follows on response_url.
	AckWithin time.Duration
	// ResponseURLPrefix is where response_url may point: Slack's hooks
	// host unless the dev emulator replaces it. A response_url elsewhere
	// is never posted to.
	ResponseURLPrefix string
	MaxBodyBytes      int64
	// HTTPClient posts to response_url.
	HTTPClient *http.Client

	// work tracks what runs after Slack was answered (clicks, posts), so
	// Wait can let it finish before the store closes.
	work sync.WaitGroup
	// rejections bounds the audit events of unverified requests.
	rejections auditBudget
}

// background runs fn after the answer to Slack, tracked by Wait.
func (h *Handler) background(fn func()) {
	h.work.Add(1)
	go func() {
		defer h.work.Done()
		fn()
	}()
}

// Wait returns once the work started after answering Slack has ended
// (each piece is bounded by a minute).
func (h *Handler) Wait() { h.work.Wait() }

// EventsPath takes the Events API (app_home_opened, and Slack's URL
// verification of it), whose bodies are JSON rather than forms.
const EventsPath = "/slack/events"

// ServeHTTP answers POST /slack/commands, /slack/interactions and
// /webhook, telling a command from a payload by its fields, and
// /slack/events. Every request is verified first.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "Slack endpoints take POST", http.StatusMethodNotAllowed)
		return
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		h.reject(r, &Rejection{RejectTooLarge, "request body too large"})
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err := h.Verifier.Verify(r.Context(), r.Header, body); err != nil {
		var rej *Rejection
		if !errors.As(err, &rej) {
			h.logger().Error("slack verification failed", "error", err)
			http.Error(w, "could not verify the request", http.StatusServiceUnavailable)
			return
		}
		h.reject(r, rej)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	if r.URL.Path == EventsPath {
		challenge, err := h.event(r.Context(), body)
		switch {
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
		case challenge != "":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, challenge)
		default:
			w.WriteHeader(http.StatusOK)
		}
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "the body is not form-encoded", http.StatusBadRequest)
		return
	}
	switch {
	case form.Has("command"):
		writeReply(w, h.command(r.Context(), form))
	case form.Has("payload"):
		rep, err := h.interaction(r.Context(), []byte(form.Get("payload")))
		switch {
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
		case rep != nil:
			writeReply(w, *rep)
		default:
			w.WriteHeader(http.StatusOK)
		}
	default:
		http.Error(w, "expected a slash command (command=…) or an interactivity payload (payload=…)", http.StatusBadRequest)
	}
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

func (h *Handler) now() time.Time { return h.Clock.Now().UTC() }

// Unverified requests can come from anyone, so their audit events are
// bounded: up to RejectionAuditBurst at once, then one per
// RejectionAuditEvery, each saying how many were suppressed since the last
// audited one. The metric counts every rejection.
const (
	RejectionAuditBurst = 10
	RejectionAuditEvery = 6 * time.Second
)

// auditBudget is a token bucket for rejection audit events.
type auditBudget struct {
	mu         sync.Mutex
	started    bool
	tokens     float64
	last       time.Time
	suppressed int
}

// take reports whether an event may be written at now and, if so, how many
// were suppressed before it.
func (b *auditBudget) take(now time.Time) (ok bool, suppressed int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.started {
		b.started, b.tokens, b.last = true, RejectionAuditBurst, now
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(RejectionAuditBurst, b.tokens+float64(d)/float64(RejectionAuditEvery))
		b.last = now
	}
	if b.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	suppressed, b.suppressed = b.suppressed, 0
	return true, suppressed
}

// reject counts and audits a request that failed verification. The audit
// event names the reason and where it came from, never the signature.
func (h *Handler) reject(r *http.Request, rej *Rejection) {
	if h.OnReject != nil {
		h.OnReject(rej.Reason)
	}
	ok, suppressed := h.rejections.take(h.now())
	if !ok {
		return
	}
	details := map[string]string{"reason": rej.Reason, "path": r.URL.Path, "remote_addr": r.RemoteAddr}
	if suppressed > 0 {
		details["suppressed"] = strconv.Itoa(suppressed)
	}
	h.audit(r.Context(), "slack:unverified", ActionRejected, details)
}

func (h *Handler) audit(ctx context.Context, actor, action string, details map[string]string) {
	ev := drawbridge.AuditEvent{Time: h.now(), Actor: actor, Action: action, Details: details}
	if err := h.Broker.Store.AppendAudit(context.WithoutCancel(ctx), ev); err != nil {
		h.logger().Error("slack: audit event not written", "action", action, "error", err)
	}
}

// checkWorkspace refuses a verified request from another workspace, app
// or enterprise: the signing secret proves the app, not where the user
// clicked (Slack Connect shares channels across workspaces).
func (h *Handler) checkWorkspace(ctx context.Context, team, app, enterprise, user string) bool {
	ws := h.Workspace
	ok := (ws.TeamID == "" || team == ws.TeamID) && (ws.AppID == "" || app == ws.AppID) &&
		(ws.EnterpriseID == "" || enterprise == ws.EnterpriseID)
	if !ok {
		if h.OnReject != nil {
			h.OnReject("foreign_workspace")
		}
		h.audit(ctx, "slack:"+user, ActionForeignWorkspace, map[string]string{
			"team_id": team, "api_app_id": app, "enterprise_id": enterprise, "user_id": user})
	}
	return ok
}

// reply is what Slack is answered: an ephemeral message seen only by
// whoever typed the command or clicked.
type reply struct {
	ResponseType    string `json:"response_type,omitempty"`
	Text            string `json:"text"`
	ReplaceOriginal bool   `json:"replace_original,omitempty"`
}

func ephemeral(format string, args ...any) reply {
	if len(args) == 0 {
		return reply{ResponseType: "ephemeral", Text: format}
	}
	return reply{ResponseType: "ephemeral", Text: sprintf(format, args...)}
}

func writeReply(w http.ResponseWriter, rep reply) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rep)
}

// answer runs work and returns its reply, or, when it takes longer than
// AckWithin, "received" at once, and posts the reply to responseURL when
// it is ready: Slack shows an error to anyone not answered within 3 s.
func (h *Handler) answer(ctx context.Context, responseURL string, work func(ctx context.Context) reply) reply {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeLimit)
	done := make(chan reply, 1)
	go func() {
		defer cancel()
		done <- work(ctx)
	}()
	within := h.AckWithin
	if within <= 0 {
		within = DefaultAckWithin
	}
	select {
	case rep := <-done:
		return rep
	case <-h.Clock.After(within):
		h.background(func() {
			rep := <-done
			h.postResponse(context.Background(), responseURL, rep)
		})
		return ephemeral("Received; working on it — the answer follows here.")
	}
}

// postResponse sends rep to a command's response_url, which Slack allows
// for 30 minutes after the command.
func (h *Handler) postResponse(ctx context.Context, responseURL string, rep reply) {
	prefix := h.ResponseURLPrefix
	if prefix == "" {
		prefix = "https://hooks.slack.com/"
	}
	if !strings.HasPrefix(responseURL, prefix) {
		h.logger().Warn("slack: response_url not posted to: not a Slack URL", "prefix", prefix)
		return
	}
	client := h.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg := &slackapi.WebhookMessage{ResponseType: rep.ResponseType, Text: rep.Text, ReplaceOriginal: rep.ReplaceOriginal}
	if err := slackapi.PostWebhookCustomHTTPContext(ctx, responseURL, client, msg); err != nil {
		h.logger().Warn("slack: response_url post failed", "error", err)
	}
}
