package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/slack-go/slack/socketmode"
)

// RunSocket serves Slack over Socket Mode until ctx ends: client (made
// with the app-level token, xapp-…) opens a WebSocket to Slack, and each
// envelope it carries — a slash command, a click or modal submission, an
// Events API event — is served by the same code as the HTTP endpoints,
// and acknowledged with the answer the HTTP endpoint would have given.
// Envelopes need no signature: the connection itself is authenticated by
// the app-level token. The workspace, app and enterprise are checked as
// over HTTP, and the client reconnects by itself when Slack asks it to or the
// connection breaks.
func (h *Handler) RunSocket(ctx context.Context, client *socketmode.Client) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-client.Events:
				if !ok {
					return
				}
				if ev.Request != nil && ev.Request.EnvelopeID != "" {
					req := *ev.Request
					// Each envelope on its own: a slow command must not
					// hold up the acknowledgement of the next.
					h.background(func() { h.envelope(ctx, client, ev.Type, req) })
				}
			}
		}
	}()
	defer func() { cancel(); <-done }()
	// The client reconnects by itself, when Slack asks it to and when a
	// connection breaks; it returns only when the app-level token is
	// refused or ctx ends.
	if err := client.RunContext(ctx); ctx.Err() == nil {
		return fmt.Errorf("slack: Socket Mode: %w (check slack.app_token)", err)
	}
	return nil
}

// envelope serves one Socket Mode request and acknowledges it, with the
// reply as its payload when there is one (Slack shows it to the user, as
// it does an HTTP response body).
func (h *Handler) envelope(ctx context.Context, client *socketmode.Client, typ socketmode.EventType, req socketmode.Request) {
	var payload any
	switch typ {
	case socketmode.EventTypeSlashCommand:
		form, err := commandForm(req.Payload)
		if err != nil {
			h.logger().Warn("slack: Socket Mode slash command not understood", "error", err)
			break
		}
		payload = h.command(ctx, form)
	case socketmode.EventTypeInteractive:
		rep, err := h.interaction(ctx, req.Payload)
		if err != nil {
			h.logger().Warn("slack: Socket Mode interaction not understood", "error", err)
		} else if rep != nil {
			payload = *rep
		}
	case socketmode.EventTypeEventsAPI:
		if _, err := h.event(ctx, req.Payload); err != nil {
			h.logger().Warn("slack: Socket Mode event not understood", "error", err)
		}
	}
	if err := client.AckCtx(ctx, req.EnvelopeID, payload); err != nil {
		h.logger().Warn("slack: Socket Mode envelope not acknowledged", "type", string(typ), "error", err)
	}
}

// commandForm turns a Socket Mode slash command (a JSON object of the
// fields Slack would have posted as a form) into that form.
func commandForm(payload json.RawMessage) (url.Values, error) {
	var fields map[string]any
	if err := json.Unmarshal(payload, &fields); err != nil {
		return nil, err
	}
	form := url.Values{}
	for k, v := range fields {
		if s, ok := v.(string); ok {
			form.Set(k, s)
		}
	}
	return form, nil
}
