package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/drawbridge-jit/drawbridge"
)

// The Merkle log. Every audit event is a leaf of an RFC 6962 Merkle tree
// (golang.org/x/mod/sumdb/tlog): leaf n (0-based) is event seq n+1, so leaf
// numbers are as gap-free as sequence numbers. The leaf's bytes are the
// event's canonical JSON (Leaf); the store keeps the tree's stored hashes
// (tlog.StoredHashes) append-only beside the events, written in the
// transaction that appends the event, so any committed tree size has all
// of its hashes committed too. A signed checkpoint (checkpoint.go) of size
// N and root R pins the first N events: a log that no longer hashes to R
// at size N was rewritten, however carefully its hashes were recomputed.

// BadDetailsKey is the one key a store puts in Details when the stored
// details are not canonical JSON (a duplicate key, reordered keys, extra
// spaces, a non-string value): the value is the stored text, and Verify
// reports the event by name instead of reading one of two values.
const BadDetailsKey = "<undecodable details>"

// CanonicalDetails returns the bytes a store writes for details: a JSON
// object with keys sorted and no whitespace (encoding/json sorts map keys),
// "{}" when empty. A map cannot hold a key twice, so duplicate keys are
// impossible by construction.
func CanonicalDetails(details map[string]string) []byte {
	if len(details) == 0 {
		return []byte("{}")
	}
	// The bytes of json.Marshal(details), without its reflection: this
	// runs for every event a verify reads.
	keys := make([]string, 0, len(details))
	n := 2
	for k, v := range details {
		keys = append(keys, k)
		n += len(k) + len(v) + 6
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.Grow(n)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, k)
		b.WriteByte(':')
		writeString(&b, details[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// Normalize replaces invalid UTF-8 in ev's text with U+FFFD, as a JSON
// encoder would on the way to the store: stores call it before Seal, so
// what is hashed is what is stored and read back.
func Normalize(ev *drawbridge.AuditEvent) {
	fix := func(s string) string {
		if utf8.ValidString(s) {
			return s
		}
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	ev.Actor, ev.Action, ev.RequestID = fix(ev.Actor), fix(ev.Action), fix(ev.RequestID)
	for k, v := range ev.Details {
		if fk, fv := fix(k), fix(v); fk != k || fv != v {
			delete(ev.Details, k)
			ev.Details[fk] = fv
		}
	}
}

// DecodeDetails decodes stored details and refuses anything that is not
// exactly what CanonicalDetails writes: a duplicate key (which SQL's
// json_extract and Go's decoder would read differently), keys out of
// order, whitespace, or values that are not strings. Stores call it on
// every read; a refused row gets BadDetailsKey.
func DecodeDetails(raw []byte) (map[string]string, error) {
	var out map[string]string
	if json.Unmarshal(raw, &out) == nil && out != nil && bytes.Equal(CanonicalDetails(out), raw) {
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	}
	// Not canonical (a duplicate key leaves the map a pair short, so it
	// lands here too): find the reason to report.
	return nil, detailsProblem(raw)
}

// detailsProblem names what is wrong with stored details that are not
// canonical.
func detailsProblem(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	out := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		k, _ := t.(string)
		var v string
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("the value of %q is not a string", k)
		}
		if _, dup := out[k]; dup {
			return fmt.Errorf("duplicate key %q", k)
		}
		out[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("text after the JSON object")
	}
	return errors.New("not in canonical form (keys sorted, no whitespace, encoding/json escaping)")
}

// Leaf returns the bytes of ev's Merkle leaf: its canonical JSON, keys
// sorted, no whitespace, time in UTC RFC 3339 with nanoseconds and the
// details exactly as stored (docs/audit-event.schema.json). PrevHash and
// Hash are not part of it: the tree replaces the chain as the proof.
func Leaf(ev *drawbridge.AuditEvent) []byte {
	var b bytes.Buffer
	b.WriteString(`{"action":`)
	writeString(&b, ev.Action)
	b.WriteString(`,"actor":`)
	writeString(&b, ev.Actor)
	b.WriteString(`,"details":`)
	b.Write(CanonicalDetails(ev.Details))
	b.WriteString(`,"request_id":`)
	writeString(&b, ev.RequestID)
	b.WriteString(`,"seq":`)
	b.WriteString(strconv.FormatInt(ev.Seq, 10))
	b.WriteString(`,"time":`)
	writeString(&b, ev.Time.UTC().Format(time.RFC3339Nano))
	b.WriteString(`}`)
	return b.Bytes()
}

// writeString writes s as encoding/json does: quoted, with <, >, & and
// control characters escaped and invalid UTF-8 replaced. Plain printable
// ASCII, nearly every string here, is written as is.
func writeString(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			b.Write(q)
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

// ParseLeaf decodes a leaf written by Leaf and refuses any other bytes for
// the same event, so a proof's event text is exactly what was hashed.
func ParseLeaf(leaf []byte) (drawbridge.AuditEvent, error) {
	var raw struct {
		Action    string          `json:"action"`
		Actor     string          `json:"actor"`
		Details   json.RawMessage `json:"details"`
		RequestID string          `json:"request_id"`
		Seq       int64           `json:"seq"`
		Time      time.Time       `json:"time"`
	}
	if err := json.Unmarshal(leaf, &raw); err != nil {
		return drawbridge.AuditEvent{}, fmt.Errorf("audit event: %w", err)
	}
	details, err := DecodeDetails(raw.Details)
	if err != nil {
		return drawbridge.AuditEvent{}, fmt.Errorf("audit event details: %w", err)
	}
	ev := drawbridge.AuditEvent{Seq: raw.Seq, Time: raw.Time.UTC(), Actor: raw.Actor, Action: raw.Action, RequestID: raw.RequestID, Details: details}
	if !bytes.Equal(Leaf(&ev), leaf) {
		return drawbridge.AuditEvent{}, errors.New("audit event: not in canonical form")
	}
	return ev, nil
}

// LeafHash is the Merkle leaf hash of ev (RFC 6962: SHA-256 of 0x00 and the
// leaf), what a SIEM copy of the event is checked with.
func LeafHash(ev *drawbridge.AuditEvent) tlog.Hash {
	return tlog.RecordHash(Leaf(ev))
}

// HashStore is what the Merkle log reads from a store (drawbridge.Store
// has both methods).
type HashStore interface {
	// AuditTreeSize is the number of committed events.
	AuditTreeSize(ctx context.Context) (int64, error)
	// AuditHashes returns the stored hashes at the given storage indexes
	// (tlog.StoredHashIndex), in that order.
	AuditHashes(ctx context.Context, indexes []int64) ([][32]byte, error)
}

// Reader adapts a store to tlog.HashReader.
func Reader(ctx context.Context, s HashStore) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		hs, err := s.AuditHashes(ctx, indexes)
		if err != nil {
			return nil, err
		}
		out := make([]tlog.Hash, len(hs))
		for i, h := range hs {
			out[i] = h
		}
		return out, nil
	})
}

// StoredLeafHash returns the leaf hash the store holds for event seq: the
// "leaf hash of event N" a streaming sink sends beside the event.
func StoredLeafHash(ctx context.Context, s HashStore, seq int64) (tlog.Hash, error) {
	if seq < 1 {
		return tlog.Hash{}, drawbridge.Errorf(drawbridge.EINVALID, "audit event %d: sequence numbers start at 1", seq)
	}
	hs, err := Reader(ctx, s).ReadHashes([]int64{tlog.StoredHashIndex(0, seq-1)})
	if err != nil {
		return tlog.Hash{}, err
	}
	return hs[0], nil
}

// AppendHashes computes the stored hashes a store writes when it appends
// leaves after a tree of size n: they go at the consecutive storage indexes
// from first on. read reads hashes already stored (inside the appending
// transaction); hashes computed here for earlier leaves of the same batch
// are served from memory, so a store may queue its inserts.
func AppendHashes(n int64, leaves [][]byte, read func(indexes []int64) ([][32]byte, error)) (first int64, hashes [][32]byte, err error) {
	first = tlog.StoredHashIndex(0, n)
	r := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		var missing []int64
		for i, idx := range indexes {
			if idx >= first {
				out[i] = hashes[idx-first]
			} else {
				missing = append(missing, idx)
			}
		}
		if len(missing) == 0 {
			return out, nil
		}
		got, err := read(missing)
		if err != nil {
			return nil, err
		}
		if len(got) != len(missing) {
			return nil, fmt.Errorf("read %d stored hashes, got %d", len(missing), len(got))
		}
		j := 0
		for i, idx := range indexes {
			if idx < first {
				out[i] = got[j]
				j++
			}
		}
		return out, nil
	})
	for i, leaf := range leaves {
		hs, err := tlog.StoredHashes(n+int64(i), leaf, r)
		if err != nil {
			return 0, nil, fmt.Errorf("merkle hashes of audit event %d: %w", n+int64(i)+1, err)
		}
		for _, h := range hs {
			hashes = append(hashes, h)
		}
	}
	return first, hashes, nil
}

// tree rebuilds a Merkle tree's root from its leaves in order, keeping only
// the right edge (one hash per level): how Verify recomputes a million
// leaves in constant memory.
type tree struct {
	size int64
	edge []tlog.Hash // roots of the complete subtrees, largest first
}

func (t *tree) append(leafHash tlog.Hash) {
	t.edge = append(t.edge, leafHash)
	// Leaf t.size merges with its left neighbours once per trailing 1 bit.
	for n := t.size; n&1 == 1; n >>= 1 {
		k := len(t.edge)
		t.edge = append(t.edge[:k-2], tlog.NodeHash(t.edge[k-2], t.edge[k-1]))
	}
	t.size++
}

// root is the RFC 6962 tree hash: the complete subtrees folded from the
// right.
func (t *tree) root() tlog.Hash {
	if len(t.edge) == 0 {
		h, _ := tlog.TreeHash(0, nil) // RFC 6962's empty tree: SHA-256 of nothing
		return h
	}
	h := t.edge[len(t.edge)-1]
	for i := len(t.edge) - 2; i >= 0; i-- {
		h = tlog.NodeHash(t.edge[i], h)
	}
	return h
}
