package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/drawbridge-jit/drawbridge"
)

// memStore is a log in memory, appended through AppendHashes exactly as
// the stores append.
type memStore struct {
	events []drawbridge.AuditEvent
	hashes [][32]byte
}

func (m *memStore) append(t testing.TB, evs ...drawbridge.AuditEvent) {
	t.Helper()
	prev := GenesisHash
	if n := len(m.events); n > 0 {
		prev = m.events[n-1].Hash
	}
	var leaves [][]byte
	for _, ev := range evs {
		ev.Seq = int64(len(m.events) + 1)
		Seal(prev, &ev)
		prev = ev.Hash
		m.events = append(m.events, ev)
		leaves = append(leaves, Leaf(&ev))
	}
	first, hs, err := AppendHashes(int64(len(m.events)-len(evs)), leaves, m.read)
	if err != nil {
		t.Fatal(err)
	}
	if first != int64(len(m.hashes)) {
		t.Fatalf("first stored index %d, have %d hashes", first, len(m.hashes))
	}
	m.hashes = append(m.hashes, hs...)
}

func (m *memStore) read(indexes []int64) ([][32]byte, error) {
	out := make([][32]byte, len(indexes))
	for i, idx := range indexes {
		if idx >= int64(len(m.hashes)) {
			return nil, drawbridge.Errorf(drawbridge.ENOTFOUND, "hash %d", idx)
		}
		out[i] = m.hashes[idx]
	}
	return out, nil
}

func (m *memStore) AuditTreeSize(context.Context) (int64, error) { return int64(len(m.events)), nil }
func (m *memStore) AuditHashes(_ context.Context, idx []int64) ([][32]byte, error) {
	return m.read(idx)
}

func (m *memStore) scan(_ context.Context, fn func(drawbridge.AuditEvent) error) error {
	for _, ev := range m.events {
		if err := fn(ev); err != nil {
			return err
		}
	}
	return nil
}

func event(i int) drawbridge.AuditEvent {
	return drawbridge.AuditEvent{
		Time:   time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Actor:  "alice@example.com",
		Action: "approve", RequestID: "req_01",
		Details: map[string]string{"from": "PENDING_APPROVAL", "to": "APPROVED", "i": strings.Repeat("x", i%7), "html": "<&>"},
	}
}

func TestTreeMatchesTlog(t *testing.T) {
	m := &memStore{}
	var tr tree
	for i := range 70 {
		// Batches of different sizes: AppendHashes reads its own batch.
		for range i % 3 {
			m.append(t, event(i))
			tr.append(LeafHash(&m.events[len(m.events)-1]))
		}
		want, err := tlog.TreeHash(int64(len(m.events)), Reader(context.Background(), m))
		if err != nil {
			t.Fatal(err)
		}
		if tr.root() != want || tr.size != int64(len(m.events)) {
			t.Fatalf("size %d: root %x, tlog says %x", len(m.events), tr.root(), want)
		}
		if int64(len(m.hashes)) != tlog.StoredHashCount(int64(len(m.events))) {
			t.Fatalf("size %d: %d stored hashes, want %d", len(m.events), len(m.hashes), tlog.StoredHashCount(int64(len(m.events))))
		}
	}
	var empty tree
	if want, _ := tlog.TreeHash(0, nil); empty.root() != want {
		t.Fatal("empty tree root is not RFC 6962's")
	}
}

func TestLeafIsCanonicalAndRoundTrips(t *testing.T) {
	ev := event(3)
	ev.Seq = 7
	ev.Time = time.Date(2026, 3, 1, 10, 0, 0, 5, time.FixedZone("CET", 3600))
	leaf := Leaf(&ev)
	want := `{"action":"approve","actor":"alice@example.com","details":{"from":"PENDING_APPROVAL","html":"\u003c\u0026\u003e","i":"xxx","to":"APPROVED"},"request_id":"req_01","seq":7,"time":"2026-03-01T09:00:00.000000005Z"}`
	if string(leaf) != want {
		t.Fatalf("leaf\n%s\nwant\n%s", leaf, want)
	}
	got, err := ParseLeaf(leaf)
	if err != nil || !bytes.Equal(Leaf(&got), leaf) {
		t.Fatalf("ParseLeaf: %+v, %v", got, err)
	}
	for _, bad := range []string{
		strings.Replace(want, `"action":"approve",`, `"action":"approve", `, 1),
		strings.Replace(want, `"from":"PENDING_APPROVAL",`, `"from":"PENDING_APPROVAL","from":"X",`, 1),
		strings.Replace(want, `"time":"2026-03-01T09:00:00.000000005Z"`, `"time":"2026-03-01T10:00:00.000000005+01:00"`, 1),
	} {
		if _, err := ParseLeaf([]byte(bad)); err == nil {
			t.Errorf("ParseLeaf accepted a non-canonical leaf: %s", bad)
		}
	}
}

func TestDecodeDetailsRefusesWhatTheStoreDidNotWrite(t *testing.T) {
	if d, err := DecodeDetails([]byte(`{"a":"1","b":"2"}`)); err != nil || d["a"] != "1" || d["b"] != "2" {
		t.Fatalf("canonical details: %v, %v", d, err)
	}
	if d, err := DecodeDetails([]byte(`{}`)); err != nil || d != nil {
		t.Fatalf("empty details: %v, %v", d, err)
	}
	for raw, want := range map[string]string{
		`{"to":"DENIED","to":"APPROVED"}`: `duplicate key "to"`,
		`{"b":"2","a":"1"}`:               "canonical",
		`{"a": "1"}`:                      "canonical",
		`{"a":1}`:                         "not a string",
		`["a"]`:                           "not a JSON object",
		`{"a":"1"}x`:                      "after",
		`{"a":"<"}`:                       "canonical",
	} {
		if _, err := DecodeDetails([]byte(raw)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeDetails(%s) = %v, want an error about %q", raw, err, want)
		}
	}
}

// CanonicalDetails must write exactly what encoding/json writes: stores
// written before it (json.Marshal) and after must agree byte for byte.
func TestCanonicalDetailsIsEncodingJSON(t *testing.T) {
	values := []string{"", "plain", `quote"`, `back\slash`, "<script>&", "tab\there", "nl\n", "é", "日本", "\u2028", "bad\xffutf8", "\x7f", "~"}
	for i, k := range values {
		d := map[string]string{}
		for j, v := range values {
			d[values[(i+j)%len(values)]+k] = v
		}
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := CanonicalDetails(d); !bytes.Equal(got, want) {
			t.Fatalf("CanonicalDetails\n%s\njson.Marshal\n%s", got, want)
		}
		ev := drawbridge.AuditEvent{Details: d}
		Normalize(&ev)
		stored := CanonicalDetails(ev.Details)
		dec, err := DecodeDetails(stored)
		if err != nil || !bytes.Equal(CanonicalDetails(dec), stored) {
			t.Fatalf("round trip of %s: %v", stored, err)
		}
	}
}
