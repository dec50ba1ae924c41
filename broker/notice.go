package broker

import (
	"context"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// The pre-expiry notice.
//
// An ACTIVE grant has a due time of its own, NoticeAt, NoticeBefore ahead
// of its expiry, set when it becomes ACTIVE. When it comes, the expiry
// engine records an expiry_notice audit event (the outbox entry of the
// grant.expiring notification) and clears NoticeAt in the same write, under
// the request's version check: of several engines only one records it, and
// once recorded it is never due again. The expiry keeps its own time: the
// notice is always earlier, a grant whose notice step fails still expires
// at ExpiresAt (HandleDue expires whatever is ACTIVE past its end), and an
// engine that wakes late finds the expiry, not a stale notice.

// DefaultNoticeBefore is how long before its expiry a grant's notice is
// due unless configured (expiry.notice_before).
const DefaultNoticeBefore = 10 * time.Minute

// ActionNotice is the engine step that records a pre-expiry notice.
const ActionNotice = "notice expiry"

// noticeAt is when r, activated at now, is due for its notice: NoticeBefore
// ahead of its expiry, or never when that is not after now — a grant
// shorter than the lead was told its end by grant.active a moment ago.
// An extension gets its own notice for its own, later end.
func (b *Broker) noticeAt(r *drawbridge.Request, now time.Time) time.Time {
	if b.NoticeBefore <= 0 {
		return time.Time{}
	}
	at := r.ExpiresAt.Add(-b.NoticeBefore)
	if !at.After(now) {
		return time.Time{}
	}
	return at
}

// noticeExpiring records r's pre-expiry notice. A grant whose access an
// ACTIVE extension continues is not ending, so its notice is dropped
// without an event: the extension gives its own for the real end.
func (b *Broker) noticeExpiring(ctx context.Context, r *drawbridge.Request) (*drawbridge.Request, error) {
	if r.NoticeAt.IsZero() {
		return r, nil
	}
	r.NoticeAt = time.Time{}
	exts, err := b.extensionsOf(ctx, r)
	if err != nil {
		return nil, err
	}
	for _, x := range exts {
		if x.State == drawbridge.StateActive {
			return r, b.Store.UpdateRequest(ctx, r)
		}
	}
	ev := b.event(System, drawbridge.ActionExpiryNotice, r, map[string]string{
		"expires_at": r.ExpiresAt.Format(timeFormat), "notice_before": b.NoticeBefore.String()})
	if err := b.Store.UpdateRequest(ctx, r, ev); err != nil {
		return nil, err
	}
	b.changed(r.DueAt())
	return r, nil
}
