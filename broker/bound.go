package broker

import (
	"context"

	"github.com/drawbridge-jit/drawbridge"
)

// bound returns r as revocation must see it: the state the audit chain
// recorded for r last, when r's row differs from it. The row is a copy
// anyone with write access to the store can edit; the chain is what the
// hashes (and checkpoints) protect. So an edited row never keeps access:
// every recorded field wins, except that the grant ends at the earlier of
// the row's end and the recorded one, and keeps its assignment as
// standing access only when both say so. The mismatch is logged and
// reported (OnRowMismatch). A row with no recorded state (written before
// rows were bound to the chain) is taken as it is. A row that changed
// while it was checked is a stale error, as a lost race is.
func (b *Broker) bound(ctx context.Context, r *drawbridge.Request) (*drawbridge.Request, error) {
	check, events, err := drawbridge.CheckStored(ctx, b.Store, r)
	if err != nil {
		return nil, err
	}
	if !check.Bound || check.OK() {
		return r, nil
	}
	b.Logger.Error("request row differs from the state its audit trail recorded: acting on the recorded state",
		"request", r.ID, "fields", check.Mismatch, "recorded_at_seq", check.Seq)
	if b.OnRowMismatch != nil {
		b.OnRowMismatch(r.ID, check.Mismatch)
	}
	rec, _, _, valid := drawbridge.Recorded(events)
	if !valid {
		// The record itself was not written by Drawbridge (audit verify
		// names the event): trust neither, and keep no standing access.
		c := r.Clone()
		c.PreexistingAccess = false
		return c, nil
	}
	c := rec.Restore(r)
	if !r.ExpiresAt.IsZero() && (c.ExpiresAt.IsZero() || r.ExpiresAt.Before(c.ExpiresAt)) {
		c.ExpiresAt = r.ExpiresAt
	}
	c.PreexistingAccess = rec.PreexistingAccess && r.PreexistingAccess
	return c, nil
}
