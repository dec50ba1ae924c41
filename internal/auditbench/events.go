package auditbench

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// LoadEvents appends n audit events to the store at path (created with
// sqlite.Open if needed) as the store would — sealed into the chain, with
// their Merkle hashes — but with multi-row INSERTs in large transactions
// on a connection of its own, so a million take seconds rather than an
// hour of fsyncs. Events cycle through a request's lifecycle with
// realistic details; each event's time is a second after the last.
func LoadEvents(ctx context.Context, path string, n int, now time.Time) (time.Duration, error) {
	start := time.Now()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return 0, err
	}
	if err := db.Close(); err != nil {
		return 0, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs),
		RawQuery: "_pragma=synchronous(OFF)&_pragma=cache_size(-262144)&_pragma=busy_timeout(10000)"}
	raw, err := sql.Open("sqlite", u.String())
	if err != nil {
		return 0, err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)

	const perStmt = 100 // rows per INSERT (8 × 100 bound parameters)
	const perTx = 50_000
	steps := []struct{ action, from, to string }{
		{"submit", "", "PENDING_APPROVAL"}, {"approve", "PENDING_APPROVAL", "APPROVED"},
		{"provision", "APPROVED", "PROVISIONING"}, {"activate", "PROVISIONING", "ACTIVE"},
		{"expire", "ACTIVE", "REVOKING"}, {"revoke", "REVOKING", "REVOKED"},
	}
	var hashes [][32]byte // every stored hash, to serve AppendHashes' reads
	read := func(idx []int64) ([][32]byte, error) {
		out := make([][32]byte, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	}
	prev := audit.GenesisHash
	var reqID string
	for seq := int64(1); seq <= int64(n); {
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		for inTx := 0; inTx < perTx && seq <= int64(n); {
			var evRows, hashRows []string
			var evArgs, hashArgs []any
			var leaves [][]byte
			first := seq
			for k := 0; k < perStmt && seq <= int64(n); k++ {
				i := int(seq - 1)
				st := steps[i%len(steps)]
				if i%len(steps) == 0 {
					reqID = drawbridge.NewRequestID()
				}
				ev := drawbridge.AuditEvent{Seq: seq, Time: now.Add(time.Duration(i) * time.Second).UTC(),
					Actor: Requester(i % Requesters), Action: st.action, RequestID: reqID,
					Details: map[string]string{"from": st.from, "to": st.to, "account": Account(i % Accounts), "permission_set": PermissionSet(i % PermissionSets)}}
				if st.from == "" {
					delete(ev.Details, "from")
				}
				audit.Seal(prev, &ev)
				prev = ev.Hash
				evRows = append(evRows, "(?, ?, ?, ?, ?, ?, ?, ?)")
				evArgs = append(evArgs, ev.Seq, ev.Time.UnixNano(), ev.Actor, ev.Action, ev.RequestID, string(audit.CanonicalDetails(ev.Details)), ev.PrevHash, ev.Hash)
				leaves = append(leaves, audit.Leaf(&ev))
				seq++
			}
			firstIdx, hs, err := audit.AppendHashes(first-1, leaves, read)
			if err != nil {
				tx.Rollback()
				return 0, err
			}
			hashes = append(hashes, hs...)
			for j, h := range hs {
				hashRows = append(hashRows, "(?, ?)")
				hashArgs = append(hashArgs, firstIdx+int64(j), h[:])
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO audit_events (seq, time, actor, action, request_id, details, prev_hash, hash) VALUES "+strings.Join(evRows, ", "), evArgs...); err != nil {
				tx.Rollback()
				return 0, fmt.Errorf("auditbench: insert events: %w", err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO audit_hashes (idx, hash) VALUES "+strings.Join(hashRows, ", "), hashArgs...); err != nil {
				tx.Rollback()
				return 0, fmt.Errorf("auditbench: insert hashes: %w", err)
			}
			inTx += len(leaves)
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	if _, err := raw.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
