// Package audit is Drawbridge's tamper-evident audit trail: it seals events
// into a SHA-256 hash chain, verifies a stored chain and reports the first
// event that was edited, deleted or reordered, and exports events as CSV or
// JSON Lines. It does no I/O of its own: stores call Seal when they append,
// and Verify reads whatever a store's scan function streams.
package audit

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/drawbridge-jit/drawbridge"
)

// GenesisHash is the prev_hash of the first event of every chain.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// encodingVersion is hashed first, so that a future change of the canonical
// encoding can never produce a hash that collides with a v1 one.
const encodingVersion = "drawbridge-audit-v1"

// Seal links ev to the event before it: it sets ev.PrevHash to prevHash and
// ev.Hash to the hex SHA-256 of prevHash and ev's canonical encoding. The
// store calls it inside the transaction that assigns ev.Seq, after ev.Time
// is set; changing any sealed field afterwards breaks the chain.
func Seal(prevHash string, ev *drawbridge.AuditEvent) {
	ev.PrevHash = prevHash
	ev.Hash = Hash(prevHash, ev)
}

// Hash returns the hash Seal would give ev after prevHash, without changing
// ev. ev.PrevHash and ev.Hash themselves are not part of the input.
func Hash(prevHash string, ev *drawbridge.AuditEvent) string {
	h := sha256.New()
	field(h, encodingVersion)
	field(h, prevHash)
	field(h, strconv.FormatInt(ev.Seq, 10))
	field(h, ev.Time.UTC().Format(time.RFC3339Nano))
	field(h, ev.Actor)
	field(h, ev.Action)
	field(h, ev.RequestID)
	keys := make([]string, 0, len(ev.Details))
	for k := range ev.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	field(h, strconv.Itoa(len(keys)))
	for _, k := range keys {
		field(h, k)
		field(h, ev.Details[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// field writes s length-prefixed ("<len>:<bytes>"), so that no choice of
// field contents can shift a boundary: actor "ab"+action "c" and actor
// "a"+action "bc" hash differently, and so do details {"a=b": ""} and
// {"a": "b"}.
func field(h hash.Hash, s string) {
	h.Write([]byte(strconv.Itoa(len(s))))
	h.Write([]byte{':'})
	h.Write([]byte(s))
}

// Result is the outcome of Verify.
type Result struct {
	// Events is the number of events read; Verify stops at the first bad
	// one, so when OK is false it counts up to and including that event.
	Events int64
	OK     bool
	// FirstBadSeq is the seq of the first event at which the chain breaks
	// (for a deletion, the event that follows the gap); 0 when OK.
	FirstBadSeq int64
	// Reason explains the break for a person; empty when OK.
	Reason string
	// LastHash is the hash of the last good event (GenesisHash for an empty
	// chain). Recording it somewhere the database's writers cannot reach —
	// a log shipper, a ticket, a signed note — is what makes truncation and
	// wholesale rewriting detectable later: see Verify.
	LastHash string
	// LastSeq is the seq of the last good event, 0 for an empty chain:
	// also the size of the Merkle tree of the good events.
	LastSeq int64
	// Root is the Merkle tree hash of the good events (base64, as in a
	// checkpoint).
	Root string
	// Checkpoints is the number of checkpoints the log was found to extend.
	Checkpoints int

	root tlog.Hash
}

// ScanFunc streams audit events in seq order, as drawbridge.Store.ScanAudit
// does; pass store.ScanAudit.
type ScanFunc func(ctx context.Context, fn func(drawbridge.AuditEvent) error) error

// errStop ends a scan early once the first break is found.
var errStop = errors.New("audit: stop scan")

// Verify streams the chain and checks that it starts at seq 1 from
// GenesisHash, that seqs are consecutive, that each event's stored details
// are canonical JSON (no duplicate key), that each event's prev_hash is
// the hash of the event before it, and that each event's hash matches its
// contents; it rebuilds the Merkle tree of the events and checks that the
// log extends every checkpoint given. It reports the first break in the
// Result; the error is only for a failing scan (the store could not be
// read). The checkpoints must already be opened with the log's public key
// (OpenCheckpoint).
//
// What the log alone cannot show: removing events from the end
// (truncation) leaves a shorter log that still verifies, and so does a log
// whose every hash after an edit was recomputed by someone who can write
// the database. A checkpoint kept outside the database catches both: the
// first Size events must still hash to its root.
func Verify(ctx context.Context, scan ScanFunc, checkpoints ...Checkpoint) (Result, error) {
	res := Result{OK: true, LastHash: GenesisHash}
	cps := slices.Clone(checkpoints)
	slices.SortFunc(cps, func(a, b Checkpoint) int { return cmp.Compare(a.Size, b.Size) })
	var t tree
	// checkpointsAt checks the checkpoints of the tree's current size.
	checkpointsAt := func() bool {
		for len(cps) > 0 && cps[0].Size == t.size {
			if t.root() != cps[0].Root {
				res.OK = false
				res.FirstBadSeq = max(t.size, 1)
				res.Reason = fmt.Sprintf("the first %d events do not hash to the root of the checkpoint of %d events: an event at or before %d was changed, deleted or inserted and the hashes after it recomputed", t.size, t.size, t.size)
				return false
			}
			res.Checkpoints++
			cps = cps[1:]
		}
		return true
	}
	if !checkpointsAt() {
		return res, nil
	}
	var prev *drawbridge.AuditEvent
	fail := func(seq int64, format string, args ...any) error {
		res.OK = false
		res.FirstBadSeq = seq
		res.Reason = fmt.Sprintf(format, args...)
		return errStop
	}
	err := scan(ctx, func(ev drawbridge.AuditEvent) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		res.Events++
		switch {
		case prev == nil && ev.Seq != 1:
			if ev.Seq > 1 {
				return fail(ev.Seq, "event %d is the first event: %s missing (deleted?)", ev.Seq, missing(1, ev.Seq-1))
			}
			return fail(ev.Seq, "event %d: sequence numbers start at 1", ev.Seq)
		case prev == nil && ev.PrevHash != GenesisHash:
			return fail(ev.Seq, "event 1: prev_hash is not the genesis hash (replaced?)")
		case prev != nil && ev.Seq <= prev.Seq:
			return fail(ev.Seq, "event %d follows event %d: out of order (reordered?)", ev.Seq, prev.Seq)
		case prev != nil && ev.Seq > prev.Seq+1:
			return fail(ev.Seq, "event %d follows event %d: %s missing (deleted?)", ev.Seq, prev.Seq, missing(prev.Seq+1, ev.Seq-1))
		case prev != nil && ev.PrevHash != prev.Hash:
			return fail(ev.Seq, "event %d: prev_hash does not match event %d's hash (reordered or replaced?)", ev.Seq, prev.Seq)
		case ev.Details[BadDetailsKey] != "":
			_, derr := DecodeDetails([]byte(ev.Details[BadDetailsKey]))
			return fail(ev.Seq, "event %d: stored details are not canonical JSON (%v): edited in the database?", ev.Seq, derr)
		case Hash(ev.PrevHash, &ev) != ev.Hash:
			return fail(ev.Seq, "event %d: hash does not match its contents (edited?)", ev.Seq)
		}
		prev = &ev
		res.LastHash, res.LastSeq = ev.Hash, ev.Seq
		t.append(LeafHash(&ev))
		if !checkpointsAt() {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return res, fmt.Errorf("verify audit chain: %w", err)
	}
	res.root = t.root()
	res.Root = base64.StdEncoding.EncodeToString(res.root[:])
	if res.OK && len(cps) > 0 {
		last := cps[len(cps)-1].Size
		res.OK = false
		res.FirstBadSeq = t.size + 1
		gone := fmt.Sprintf("events %d to %d were", t.size+1, last)
		if t.size+1 == last {
			gone = fmt.Sprintf("event %d was", last)
		}
		res.Reason = fmt.Sprintf("the log has %d events, but a checkpoint saw %d: %s deleted from the end", t.size, last, gone)
	}
	return res, nil
}

// CheckStoredTree checks that the Merkle hashes the store serves proofs
// and checkpoints from agree with the events Verify read: a mismatch means
// the audit_hashes table was edited apart from the events.
func CheckStoredTree(ctx context.Context, s HashStore, res Result) error {
	stored, err := tlog.TreeHash(res.LastSeq, Reader(ctx, s))
	if err != nil {
		return fmt.Errorf("stored Merkle hashes of %d events: %w", res.LastSeq, err)
	}
	if stored != res.root {
		return fmt.Errorf("the stored Merkle hashes of the first %d events do not match the events (the audit hash table was edited): checkpoints and proofs made from them will not verify", res.LastSeq)
	}
	return nil
}

// missing names the seqs from..to, inclusive, for a gap message.
func missing(from, to int64) string {
	if from == to {
		return fmt.Sprintf("event %d is", from)
	}
	return fmt.Sprintf("events %d to %d are", from, to)
}
