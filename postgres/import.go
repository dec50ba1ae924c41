package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
)

// Import writes another store's contents into this empty one, exactly:
// requests with their versions, audit events with their sequence numbers
// and hashes (the chain is copied, not re-sealed, so checkpoints and
// proofs made on the source stay valid), and tokens; the chain's view of
// each request (request_bindings) is rebuilt from the copied events. It is one
// transaction, refused when the database already holds requests, events
// or tokens. events must be the source's whole chain in order.
func (db *DB) Import(ctx context.Context, requests []*drawbridge.Request, events []drawbridge.AuditEvent, tokens []*drawbridge.Token) error {
	return db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM requests) + (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM tokens)`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return drawbridge.Errorf(drawbridge.ECONFLICT, "the target database is not empty (%d requests, events and tokens): copy into a new, migrated database", n)
		}
		// Extensions refer to the requests they extend: every row goes in
		// without its link first, then the links.
		batch := &pgx.Batch{}
		var skew int64
		for _, r := range requests {
			if err := validateRequest(r); err != nil {
				return err
			}
			skew = max(skew, drawbridge.RequestIDSkew(r.ID, r.CreatedAt))
			args, err := requestArgs(r, r.Version)
			if err != nil {
				return err
			}
			args[17] = nil // extends, set below
			batch.Queue(insertRequestSQL, args...)
		}
		for _, r := range requests {
			if r.Extends != "" {
				batch.Queue(`UPDATE requests SET extends = $1 WHERE id = $2`, r.Extends, r.ID)
			}
		}
		var seq int64
		head := audit.GenesisHash
		leaves := make([][]byte, 0, len(events))
		for _, ev := range events {
			if ev.Seq != seq+1 || ev.PrevHash != head {
				return drawbridge.Errorf(drawbridge.EINVALID, "audit event %d does not follow event %d of the source's chain: verify the source (drawbridge audit verify) first", ev.Seq, seq)
			}
			batch.Queue(`INSERT INTO audit_events (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				ev.Seq, ev.Time.UnixNano(), ev.Actor, ev.Action, ev.RequestID, string(audit.CanonicalDetails(ev.Details)), ev.PrevHash, ev.Hash)
			leaves = append(leaves, audit.Leaf(&ev))
			seq, head = ev.Seq, ev.Hash
		}
		// The tree is rebuilt from the same leaves, so its root — and every
		// checkpoint signed on the source — stays the same.
		if err := queueHashes(ctx, tx, batch, 0, leaves); err != nil {
			return err
		}
		batch.Queue(`UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, seq, head)
		// The chain's view of each request is rebuilt from the copied
		// chain, not copied: it is an index of the events.
		recorded := map[string]drawbridge.RequestState{}
		for _, ev := range events {
			if text, ok := ev.Details[drawbridge.DetailRequestState]; ok {
				if st, valid := drawbridge.ParseRequestState(text); valid {
					recorded[ev.RequestID] = st
				}
			}
		}
		for id, st := range recorded {
			if due := st.Due(); !due.IsZero() {
				batch.Queue(`INSERT INTO request_bindings (request_id, chain_due) VALUES ($1, $2)`, id, due.UnixNano())
			}
		}
		batch.Queue(`UPDATE request_id_skew SET ms = GREATEST(ms, $1)`, skew)
		for _, t := range tokens {
			roles, _ := json.Marshal(orEmpty(rolesToStrings(t.Roles)))
			providers, _ := json.Marshal(orEmpty(t.Scope.Providers))
			accounts, _ := json.Marshal(orEmpty(t.Scope.Resources))
			sets, _ := json.Marshal(orEmpty(t.Scope.Roles))
			batch.Queue(`INSERT INTO tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				t.ID, t.Principal, string(roles), string(providers), string(accounts), string(sets), t.Description, t.Hash,
				nanos(t.CreatedAt), nanos(t.ExpiresAt), nanos(t.RevokedAt))
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		return nil
	})
}
