package notify

import (
	"context"
	"log/slog"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// Log is the structured-log notifier (kind: log): one log record per
// notification, with the same fields a webhook receives. It never fails,
// so its cursor only lags when the store does.
type Log struct {
	Logger *slog.Logger
}

// Notify writes n as one "notification" record at level Info.
func (l Log) Notify(ctx context.Context, n drawbridge.Notification) error {
	attrs := []any{"type", n.Type, "seq", n.Seq, "request", n.RequestID, "principal", n.Principal,
		"provider", n.Provider, "resource", n.Resource, "role", n.Role, "state", n.State, "actor", n.Actor}
	if !n.ExpiresAt.IsZero() {
		attrs = append(attrs, "expires_at", n.ExpiresAt.Format(time.RFC3339))
	}
	if n.Detail != "" {
		attrs = append(attrs, "detail", n.Detail)
	}
	if len(n.Approvers) > 0 {
		attrs = append(attrs, "approvers", n.Approvers)
	}
	if n.Attempts > 0 {
		attrs = append(attrs, "attempts", n.Attempts)
	}
	l.Logger.InfoContext(ctx, "notification", attrs...)
	return nil
}
