package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/duration"
	"github.com/drawbridge-jit/drawbridge/grammar"
)

// command answers a slash command. Requests are recorded before the
// answer (its id is in it) and provisioned in the background, so neither
// a slow provider nor Slack's API delays the acknowledgement.
func (h *Handler) command(ctx context.Context, form url.Values) reply {
	user := form.Get("user_id")
	if !h.checkWorkspace(ctx, form.Get("team_id"), form.Get("api_app_id"), form.Get("enterprise_id"), user) {
		return ephemeral("This Drawbridge does not serve your workspace.")
	}
	return h.answer(ctx, form.Get("response_url"), func(ctx context.Context) reply {
		c, p, refused := h.identify(ctx, user)
		if refused != nil {
			return *refused
		}
		return h.run(ctx, c, p, form.Get("text"), origin{trigger: form.Get("trigger_id"), responseURL: form.Get("response_url")})
	})
}

func (h *Handler) cmd() string {
	if h.Command == "" {
		return "/drawbridge"
	}
	return h.Command
}

// origin is where a command came from: its trigger_id opens a modal, its
// response_url takes later answers.
type origin struct{ trigger, responseURL string }

// run carries out one command's text for caller c.
func (h *Handler) run(ctx context.Context, c drawbridge.Caller, p *drawbridge.Principal, text string, o origin) reply {
	words, err := grammar.Split(text)
	if err != nil {
		return h.usage(p, err)
	}
	verb := ""
	if len(words) > 0 {
		verb = words[0]
	}
	switch verb {
	case "", "help":
		return h.help(p)
	case "status":
		if len(words) != 2 {
			return ephemeral("The form is `%s status <request-id>`.", h.cmd())
		}
		req, err := h.load(ctx, c, words[1])
		if err != nil {
			return h.failure(err)
		}
		return ephemeral("%s", describe(req))
	case "list":
		if len(words) != 1 {
			return ephemeral("The form is `%s list` (your recent and pending requests).", h.cmd())
		}
		return h.list(ctx, c)
	case "cancel":
		if len(words) != 2 {
			return ephemeral("The form is `%s cancel <request-id>`.", h.cmd())
		}
		req, err := h.load(ctx, c, words[1])
		if err == nil {
			req, err = h.Broker.Cancel(ctx, req.ID, c)
		}
		if err != nil {
			return h.failure(err)
		}
		return ephemeral("Cancelled %s.", req.ID)
	case "extend":
		if len(words) != 3 {
			return ephemeral("The form is `%s extend <request-id> <hours>`, e.g. `%s extend req_01J… 0.5`.", h.cmd(), h.cmd())
		}
		d, err := duration.ParseHours(words[2])
		if err != nil {
			return ephemeral("%s. The form is `%s extend <request-id> <hours>`.", esc(err.Error()), h.cmd())
		}
		req, err := h.load(ctx, c, words[1])
		if err == nil {
			req, err = h.Broker.Extend(ctx, req.ID, d, "", "", c, broker.ProvisionInBackground)
		}
		if err != nil {
			return h.failure(err)
		}
		return ephemeral("Received: extension %s", outcome(req))
	}
	in, err := grammar.ParseText(text)
	if err != nil {
		return h.usage(p, err)
	}
	sub := broker.SubmitInput{Requester: c.Principal, Entitlement: in.Entitlement(), Duration: in.Duration,
		Reason: in.Reason, Ticket: in.Ticket}
	if o.trigger != "" && h.API != nil {
		// Ask for a reason or ticket the rule requires rather than record
		// a request certain to be denied for its lack.
		if m, err := h.Broker.MissingDetails(ctx, sub); err == nil && m.Any() {
			err := h.openDetailsModal(ctx, o, text, m)
			if err == nil {
				return ephemeral("Rule %s needs %s: fill in the form that just opened.", esc(m.Rule), needs(m))
			}
			h.logger().Warn("slack: details modal not opened", "error", err)
		}
	}
	return h.submit(ctx, c, p, sub)
}

// submit records sub for c and says what became of it.
func (h *Handler) submit(ctx context.Context, c drawbridge.Caller, p *drawbridge.Principal, sub broker.SubmitInput) reply {
	req, err := h.Broker.Submit(ctx, sub, c, broker.ProvisionInBackground)
	if err != nil {
		var de *drawbridge.Error
		if errors.As(err, &de) && de.Code == drawbridge.EINVALID {
			return h.usage(p, err)
		}
		return h.failure(err)
	}
	return ephemeral("Received: %s", outcome(req))
}

// load returns the request id if c may see it; one c may not see is
// reported as not found, as on every channel.
func (h *Handler) load(ctx context.Context, c drawbridge.Caller, id string) (*drawbridge.Request, error) {
	req, err := h.Broker.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !c.CanSee(req) {
		return nil, drawbridge.Errorf(drawbridge.ENOTFOUND, "request %s not found", id)
	}
	return req, nil
}

func (h *Handler) list(ctx context.Context, c drawbridge.Caller) reply {
	f := drawbridge.RequestFilter{Limit: 10}
	if err := c.Narrow(&f); err != nil {
		return h.failure(err)
	}
	reqs, err := h.Broker.List(ctx, f)
	if err != nil {
		return h.failure(err)
	}
	if len(reqs) == 0 {
		return ephemeral("You have no requests yet. `%s help` shows how to ask.", h.cmd())
	}
	var b strings.Builder
	b.WriteString("Your latest requests:\n")
	for _, r := range reqs {
		fmt.Fprintf(&b, "• %s\n", describe(r))
	}
	return ephemeral("%s", strings.TrimRight(b.String(), "\n"))
}

// failure turns a broker error into what the user reads: the domain's
// message for what they can fix, a plain apology (and a log line) for
// what they cannot.
func (h *Handler) failure(err error) reply {
	var de *drawbridge.Error
	if errors.As(err, &de) && de.Code != drawbridge.EINTERNAL {
		return ephemeral("%s", esc(drawbridge.ErrorMessage(err)))
	}
	h.logger().Error("slack command failed", "error", err)
	return ephemeral("Something went wrong on Drawbridge's side (it is logged); try again in a minute.")
}

// usage answers a request that is not the grammar, or names nothing the
// caller may request: what was wrong, the form, and what they may ask for.
func (h *Handler) usage(p *drawbridge.Principal, err error) reply {
	msg := drawbridge.ErrorMessage(err)
	var ge *grammar.Error
	if errors.As(err, &ge) {
		msg = ge.Msg
	}
	return ephemeral("%s\nThe form is `%s %s`, e.g. `%s 123456789012 ReadOnlyAccess 0.5`.\n%s",
		esc(msg), h.cmd(), grammar.Usage, h.cmd(), h.requestable(p))
}

func (h *Handler) help(p *drawbridge.Principal) reply {
	c := h.cmd()
	return ephemeral("*Drawbridge* — just-in-time access.\n"+
		"• `%s %s` — ask for access (hours: 0.5, 2, 0.02 ≈ 72 s; the resource is an account id, provider:resource or an alias)\n"+
		"• `%s status <request-id>` · `%s list` · `%s extend <request-id> <hours>` · `%s cancel <request-id>`\n%s",
		c, grammar.Usage, c, c, c, c, h.requestable(p))
}

// requestable lists the rules under which p may get access.
func (h *Handler) requestable(p *drawbridge.Principal) string {
	pol := h.Broker.Policy()
	if pol == nil {
		return ""
	}
	rules := pol.Requestable(p)
	if len(rules) == 0 {
		return "No rule lets you request access yet; ask your Drawbridge admin."
	}
	var b strings.Builder
	b.WriteString("You may request:")
	for i, r := range rules {
		if i == 10 {
			fmt.Fprintf(&b, "\n• … and %d more", len(rules)-i)
			break
		}
		fmt.Fprintf(&b, "\n• %s %s on %s, up to %s", esc(r.Provider), esc(strings.Join(r.Roles, "/")),
			esc(strings.Join(r.Resources, ", ")), duration.Format(r.MaxDuration))
		var needs []string
		if r.Decision == drawbridge.EffectRequireApproval {
			needs = append(needs, "approval")
		}
		if r.TicketPattern != "" {
			needs = append(needs, "a ticket")
		}
		if r.RequireReason {
			needs = append(needs, "a reason")
		}
		if len(needs) > 0 {
			fmt.Fprintf(&b, " (needs %s)", strings.Join(needs, ", "))
		}
	}
	return b.String()
}

// outcome says what became of a request just recorded.
func outcome(r *drawbridge.Request) string {
	what := fmt.Sprintf("%s — %s for %s", r.ID, esc(r.Entitlement.String()), duration.Format(r.Duration))
	switch r.State {
	case drawbridge.StatePendingApproval:
		return fmt.Sprintf("%s is waiting for approval (rule %s, %d of %d approvals).", what, esc(r.Decision.Rule), len(r.Approvals), r.Decision.ApprovalsRequired)
	case drawbridge.StateApproved, drawbridge.StateProvisioning:
		return fmt.Sprintf("%s is approved (rule %s) and being provisioned; you will get a message when it is active.", what, esc(r.Decision.Rule))
	case drawbridge.StateActive:
		return fmt.Sprintf("%s is active until %s.", what, r.ExpiresAt.UTC().Format(time.RFC3339))
	case drawbridge.StateDenied:
		return fmt.Sprintf("%s was denied: %s.", what, esc(r.Decision.Reason))
	}
	return fmt.Sprintf("%s is %s.", what, r.State)
}

// describe is one request in a status or list answer.
func describe(r *drawbridge.Request) string {
	s := fmt.Sprintf("%s · %s · %s · %s · %s", r.ID, r.State, esc(r.Entitlement.String()), duration.Format(r.Duration), r.CreatedAt.UTC().Format(time.RFC3339))
	if !r.ExpiresAt.IsZero() {
		s += " · expires " + r.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if r.LastError != "" {
		s += " · " + esc(r.LastError)
	}
	return s
}

// esc makes text safe inside a Slack message: &, < and > are the
// characters of Slack's markup (<!channel>, <@U…>, links), so a reason
// cannot mention everyone or hide a link.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
