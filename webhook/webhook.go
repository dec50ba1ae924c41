// Package webhook is Drawbridge's provider for systems it has no adapter
// for (provider kind webhook): each grant and each removal is a signed JSON
// event POSTed to a receiver the operator runs, which gives or takes the
// access in its own system. docs/providers.md describes the events and how
// a receiver verifies them.
//
// The receiver's answer decides: 2xx is done, 409 is "already done" (also
// done: events are repeated after timeouts and crashes), 429 and 5xx are
// retried, honouring Retry-After, and any other answer is a permanent
// refusal whose message the request shows. A receiver cannot say whether an
// assignment exists, so the provider has no existence check: the core never
// credits it with standing access (drawbridge.ExistenceChecker).
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/outbound"
	"github.com/drawbridge-jit/drawbridge/signature"
)

// Event types: the type field of every event a receiver gets.
const (
	TypeGrant  = "grant"
	TypeRevoke = "revoke"
)

// DefaultTimeout bounds one delivery (connect, send, answer) when
// Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxAnswer is how much of a receiver's answer is read: enough for a
// receipt or an error message, and a receiver cannot make Drawbridge read
// (or store in last_error) more.
const (
	maxAnswer  = 64 << 10
	maxMessage = 500
)

// Config configures one webhook provider instance.
type Config struct {
	// Name is the configured instance name ("hooks"): the provider of
	// the entitlements it serves.
	Name string
	// URL receives the events. https, or http on a loopback address.
	URL string
	// Secrets sign every event, one v1 signature each (rotation: sign
	// with the old and the new secret while receivers move over).
	Secrets [][]byte
	// Timeout bounds one delivery; DefaultTimeout when zero. The caller's
	// context bounds it too.
	Timeout time.Duration
	// Directory, when set, resolves the person again for a revoke event
	// so that it carries their linked identities like a grant event; if
	// that fails or takes longer than DirectoryTimeout (default 2s), the
	// event carries the canonical id alone: a removal never waits long
	// for the directory, nor fails because of it.
	Directory        drawbridge.Directory
	DirectoryTimeout time.Duration
	// HTTPClient sends the events; a client of its own when nil.
	HTTPClient *http.Client
	// Now is the clock of the signatures; time.Now when nil.
	Now func() time.Time
}

// Provider sends grant and revoke events. It implements drawbridge.Provider
// and no optional capability, and is safe for concurrent use.
type Provider struct {
	name    string
	url     string
	secrets [][]byte
	timeout time.Duration
	dir     drawbridge.Directory
	dirWait time.Duration
	client  *http.Client
	now     func() time.Time
}

var _ drawbridge.Provider = (*Provider)(nil)

// New checks cfg and returns a provider.
func New(cfg Config) (*Provider, error) {
	if err := CheckURL(cfg.URL); err != nil {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "webhook %s: %v", cfg.Name, err)
	}
	if len(cfg.Secrets) == 0 {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "webhook %s: no secret to sign events with", cfg.Name)
	}
	if cfg.Timeout < 0 {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "webhook %s: timeout %s is negative", cfg.Name, cfg.Timeout)
	}
	p := &Provider{name: cfg.Name, url: cfg.URL, secrets: cfg.Secrets, timeout: cfg.Timeout, dir: cfg.Directory,
		dirWait: cfg.DirectoryTimeout, client: cfg.HTTPClient, now: cfg.Now}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	if p.dirWait <= 0 {
		p.dirWait = 2 * time.Second
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.client == nil {
		p.client = &http.Client{}
	}
	// A redirect would resend a signed grant to wherever the answer
	// points: never follow one (it is reported as a refusal instead).
	c := *p.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p.client = &c
	return p, nil
}

// CheckURL reports what is wrong with a receiver URL: it must be https, or
// http to a loopback address (a receiver on the same host, tests, dev
// mode), since events name who gets which access.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return errors.New("url is required: where the grant and revoke events are POSTed")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("url %q is not an http(s) URL", raw)
	case u.User != nil:
		return fmt.Errorf("url %q carries credentials: events are authenticated by their signature, remove user:password@", raw)
	case u.Scheme == "http" && !outbound.Loopback(u.Hostname()):
		return fmt.Errorf("url %q is plain http to a host that is not loopback: use https (events say who gets which access)", raw)
	}
	return nil
}

// Name is the configured instance name.
func (p *Provider) Name() string { return p.name }

// PrincipalRef is the person's canonical id: a receiver is told who it is
// (and their linked identities) in every event, and maps them itself.
func (p *Provider) PrincipalRef(_ context.Context, who *drawbridge.Principal) (string, error) {
	if who == nil || who.ID == "" {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID, "webhook %s: no person given", p.name))
	}
	return who.ID, nil
}

// Event is the JSON body of every event. A receiver identifies an event by
// (type, request_id): the same pair may arrive more than once and must be
// handled once.
type Event struct {
	Type      string    `json:"type"`
	RequestID string    `json:"request_id"`
	Principal Principal `json:"principal"`
	Provider  string    `json:"provider"`
	Resource  string    `json:"resource"`
	Role      string    `json:"role"`
	// ExpiresAt is when access ends (null for the removal of a grant that
	// never became active). A grant for an assignment the receiver
	// already holds, with a later expires_at, extends it.
	ExpiresAt *time.Time `json:"expires_at"`
	Reason    string     `json:"reason"`
	Ticket    string     `json:"ticket"`
	// Extends is the request an extension continues (grant events).
	Extends string `json:"extends,omitempty"`
	// GrantRef is what the receiver answered to the grant (revoke events).
	GrantRef string `json:"grant_ref,omitempty"`
}

// Principal is the person in an event: canonical id (lower-case e-mail),
// display name and linked identities by kind ("slack": "U…", "aws": …).
type Principal struct {
	ID         string            `json:"id"`
	Name       string            `json:"name,omitempty"`
	Identities map[string]string `json:"identities"`
}

func principalOf(id string, who *drawbridge.Principal) Principal {
	out := Principal{ID: id, Identities: map[string]string{}}
	if who == nil {
		return out
	}
	out.Name = who.Name
	maps.Copy(out.Identities, who.Identities)
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// Grant sends a grant event. The receiver's 2xx answer may carry a JSON
// object with a grant_ref (its own id for the grant), kept and sent back
// in the revoke event.
func (p *Provider) Grant(ctx context.Context, spec drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	a := spec.Assignment
	id := a.PrincipalRef
	if spec.Principal != nil {
		id = spec.Principal.ID
	}
	ev := Event{Type: TypeGrant, RequestID: spec.RequestID, Principal: principalOf(id, spec.Principal),
		Provider: p.name, Resource: a.Resource, Role: a.Role, ExpiresAt: timePtr(spec.Until),
		Reason: spec.Reason, Ticket: spec.Ticket, Extends: spec.Extends}
	ans, err := p.send(ctx, ev)
	if err != nil {
		return drawbridge.GrantResult{}, err
	}
	return drawbridge.GrantResult{GrantRef: ans.grantRef, Details: ans.details()}, nil
}

// Revoke sends a revoke event. A receiver that no longer holds the grant
// answers 2xx or 409: the access is gone either way.
func (p *Provider) Revoke(ctx context.Context, spec drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	a := spec.Assignment
	var who *drawbridge.Principal
	if p.dir != nil && spec.Requester != "" {
		dctx, cancel := context.WithTimeout(ctx, p.dirWait)
		if r, err := p.dir.Resolve(dctx, spec.Requester); err == nil {
			who = r
		}
		cancel()
	}
	ev := Event{Type: TypeRevoke, RequestID: spec.RequestID, Principal: principalOf(spec.Requester, who),
		Provider: p.name, Resource: a.Resource, Role: a.Role, ExpiresAt: timePtr(spec.Until),
		Reason: spec.Reason, Ticket: spec.Ticket, GrantRef: spec.GrantRef}
	if ev.Principal.ID == "" {
		ev.Principal.ID = a.PrincipalRef
	}
	ans, err := p.send(ctx, ev)
	if err != nil {
		return drawbridge.RevokeResult{}, err
	}
	return drawbridge.RevokeResult{Details: ans.details()}, nil
}

// answer is a receiver's accepted answer.
type answer struct {
	status   string
	already  bool
	grantRef string
}

func (a answer) details() map[string]string {
	d := map[string]string{"status": a.status}
	if a.already {
		d["status"] += " (already done)"
	}
	return d
}

// send delivers ev once and classifies the answer (see the package
// comment). A timeout or a connection lost mid-way leaves open whether the
// receiver acted, so it is a plain retryable error; an event that never
// reached a receiver (connection refused, no such host) or was answered
// 429 was refused before anything was done (drawbridge.Rejected).
func (p *Provider) send(ctx context.Context, ev Event) (answer, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return answer{}, drawbridge.Permanent(fmt.Errorf("webhook %s: encode %s event: %w", p.name, ev.Type, err))
	}
	what := fmt.Sprintf("webhook %s: %s %s/%s for %s (%s)", p.name, ev.Type, ev.Resource, ev.Role, ev.Principal.ID, ev.RequestID)
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return answer{}, drawbridge.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "drawbridge-webhook")
	req.Header.Set(signature.Header, signature.Sign(body, p.now(), p.secrets...))
	res, err := p.client.Do(req)
	if err != nil {
		var dns *net.DNSError
		switch {
		case ctx.Err() != nil:
			return answer{}, fmt.Errorf("%s: no answer in time (timeout %s); the receiver may have acted, so it is sent again", what, p.timeout)
		case errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &dns):
			// The event never reached a receiver: nothing was acted on.
			return answer{}, drawbridge.Rejected(fmt.Errorf("%s: %w", what, err))
		}
		return answer{}, fmt.Errorf("%s: %w", what, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	status := res.Status
	switch code := res.StatusCode; {
	case code >= 200 && code < 300:
		return answer{status: status, grantRef: grantRef(raw)}, nil
	case code == http.StatusConflict:
		return answer{status: status, already: true, grantRef: grantRef(raw)}, nil
	case code == http.StatusTooManyRequests || code >= 500:
		err := fmt.Errorf("%s: receiver answered %s: %s", what, status, message(raw))
		if d, ok := outbound.RetryAfter(res.Header.Get("Retry-After"), p.now()); ok {
			err = drawbridge.RetryAfter(err, d)
		}
		if code == http.StatusTooManyRequests {
			return answer{}, drawbridge.Rejected(err)
		}
		return answer{}, err
	case code >= 300 && code < 400:
		return answer{}, drawbridge.Permanent(fmt.Errorf("%s: receiver answered %s (to %s): redirects are not followed, configure the final URL",
			what, status, res.Header.Get("Location")))
	default:
		return answer{}, drawbridge.Permanent(fmt.Errorf("%s: receiver refused (%s): %s", what, status, message(raw)))
	}
}

// grantRef reads {"grant_ref": "…"} from a receiver's answer, if it is one.
func grantRef(raw []byte) string {
	var v struct {
		GrantRef string `json:"grant_ref"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return drawbridge.Clip(v.GrantRef, 256)
}

// message is the receiver's explanation: the message or error of a JSON
// answer ({"message": "…"}, {"error": "…"}, {"error": {"message": "…"}}),
// else its text; clipped, with control characters escaped, since it ends
// up in last_error and in everything that shows it.
func message(raw []byte) string {
	var v struct {
		Message string          `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	text := strings.TrimSpace(string(raw))
	if json.Unmarshal(raw, &v) == nil {
		var nested struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case v.Message != "":
			text = v.Message
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			text = s
		case json.Unmarshal(v.Error, &nested) == nil && nested.Message != "":
			text = nested.Message
		}
	}
	if text == "" {
		return "(no message)"
	}
	return drawbridge.Printable(drawbridge.Clip(text, maxMessage))
}
