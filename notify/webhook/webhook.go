// Package webhook is the generic signed-webhook notifier (notify: kind
// webhook): each notification is POSTed as JSON to one URL, signed with
// the Drawbridge-Signature header of package signature (one v1 value per
// configured secret, so secrets rotate without downtime), with the event's
// sequence number as Idempotency-Key. Teams, Discord, Matrix bridges or an
// incident tool listen on the other end.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/signature"
)

// Headers set on every delivery besides the signature.
const (
	// IdempotencyKeyHeader carries Notification.Seq: a receiver that has
	// seen the key acts on the body no second time.
	IdempotencyKeyHeader = "Idempotency-Key"
	// EventHeader carries Notification.Type, for receivers that route
	// before parsing.
	EventHeader = "Drawbridge-Event"
)

// Notifier delivers notifications to one URL.
type Notifier struct {
	url     string
	secrets [][]byte
	client  *nethttp.Client
	clock   clock.Clock
}

// New returns a notifier for rawURL signing with every secret (at least
// one). client nil means a client without redirects; the worker bounds each
// delivery with its own timeout.
func New(rawURL string, secrets []string, client *nethttp.Client, clk clock.Clock) (*Notifier, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "webhook notifier: url %q must be an absolute http(s) URL", redact(rawURL))
	}
	if len(secrets) == 0 {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "webhook notifier %s: needs at least one secret to sign with", redact(rawURL))
	}
	n := &Notifier{url: rawURL, client: client, clock: clk}
	for _, s := range secrets {
		n.secrets = append(n.secrets, []byte(s))
	}
	if n.client == nil {
		// A redirect would send the signed body somewhere nobody configured.
		n.client = &nethttp.Client{CheckRedirect: func(*nethttp.Request, []*nethttp.Request) error { return nethttp.ErrUseLastResponse }}
	}
	if n.clock == nil {
		n.clock = clock.Real{}
	}
	return n, nil
}

// Notify POSTs n. Only a 2xx answer is a delivery; anything else (a
// redirect included) is an error naming the status and the start of the
// receiver's answer, and the worker tries again later.
func (n *Notifier) Notify(ctx context.Context, note drawbridge.Notification) error {
	body, err := json.Marshal(note)
	if err != nil {
		return fmt.Errorf("webhook %s: encode: %w", redact(n.url), err)
	}
	req, err := nethttp.NewRequestWithContext(ctx, nethttp.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", redact(n.url), err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "drawbridge-notify")
	req.Header.Set(signature.Header, signature.Sign(body, n.clock.Now(), n.secrets...))
	req.Header.Set(IdempotencyKeyHeader, strconv.FormatInt(note.Seq, 10))
	req.Header.Set(EventHeader, note.Type)
	resp, err := n.client.Do(req)
	if err != nil {
		// A *url.Error's text repeats the URL, query and all: say it
		// once, redacted.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook %s: %w", redact(n.url), err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return fmt.Errorf("webhook %s: HTTP %d: %s", redact(n.url), resp.StatusCode, drawbridge.Printable(strings.TrimSpace(string(answer))))
}

// redact is rawURL without user info, query or fragment, which may carry
// credentials: what errors, logs and metrics may show.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable url)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
