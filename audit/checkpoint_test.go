package audit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/clock"
)

const origin = "drawbridge.example.com/audit"

func keys(t testing.TB) (Signer, string) {
	t.Helper()
	skey, vkey, err := GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSigningKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	if s.Verifier != vkey {
		t.Fatalf("derived public key %s, keygen wrote %s", s.Verifier, vkey)
	}
	return s, vkey
}

func logOf(t testing.TB, n int) *memStore {
	m := &memStore{}
	for i := range n {
		m.append(t, event(i))
	}
	return m
}

func checkpoint(t testing.TB, m *memStore, s Signer) Checkpoint {
	t.Helper()
	c, err := NewCheckpoint(context.Background(), m, s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckpointFormatAndSignature(t *testing.T) {
	s, vkey := keys(t)
	m := logOf(t, 5)
	c := checkpoint(t, m, s)
	body, _, _ := strings.Cut(string(c.Signed), "\n\n")
	lines := strings.Split(body, "\n")
	if len(lines) != 3 || lines[0] != origin || lines[1] != "5" || len(lines[2]) != 44 {
		t.Fatalf("checkpoint body is not origin, size, base64 root:\n%s", c.Signed)
	}
	if !strings.Contains(string(c.Signed), "\n\n— "+origin+" ") {
		t.Fatalf("no note signature line:\n%s", c.Signed)
	}
	v, err := ParseVerifierKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenCheckpoint(c.Signed, v)
	if err != nil || got.Size != 5 || got.Root != c.Root || got.Origin != origin {
		t.Fatalf("OpenCheckpoint = %+v, %v", got, err)
	}
	forged := bytes.Replace(c.Signed, []byte("\n5\n"), []byte("\n4\n"), 1)
	if _, err := OpenCheckpoint(forged, v); err == nil {
		t.Fatal("a checkpoint with an edited size opened")
	}
	_, other := keys(t)
	ov, _ := ParseVerifierKey(other)
	if _, err := OpenCheckpoint(c.Signed, ov); err == nil || !strings.Contains(err.Error(), "not signed by the key") {
		t.Fatalf("another key's verifier: %v", err)
	}
	if _, _, err := GenerateKey("drawbridge example"); err == nil {
		t.Fatal("an origin with a space made a key")
	}
	if _, err := ParseSigningKey(vkey); err == nil {
		t.Fatal("a public key parsed as a signing key")
	}
}

// rewrite rebuilds a store from events, recomputing every chain hash and
// every Merkle hash: what someone with write access to the database and
// this code can do.
func rewrite(t testing.TB, evs []drawbridge.AuditEvent) *memStore {
	m := &memStore{}
	for _, ev := range evs {
		m.append(t, ev)
	}
	return m
}

func TestVerifyAgainstCheckpointDetectsEachAttack(t *testing.T) {
	ctx := context.Background()
	s, _ := keys(t)
	orig := logOf(t, 200)
	earlier := checkpoint(t, orig, s)
	tests := []struct {
		name   string
		attack func() *memStore
		seq    int64
		reason string
	}{
		{"delete the last 50", func() *memStore { return rewrite(t, orig.events[:150]) },
			151, "the log has 150 events, but a checkpoint saw 200: events 151 to 200 were deleted from the end"},
		{"delete the last 50 and append new ones", func() *memStore {
			m := rewrite(t, orig.events[:150])
			for i := range 60 {
				m.append(t, event(1000+i))
			}
			return m
		}, 200, "the first 200 events do not hash to the root of the checkpoint of 200 events: an event at or before 200 was changed, deleted or inserted and the hashes after it recomputed"},
		{"delete all", func() *memStore { return &memStore{} },
			1, "the log has 0 events, but a checkpoint saw 200: events 1 to 200 were deleted from the end"},
		{"edit one and recompute every later hash", func() *memStore {
			evs := append([]drawbridge.AuditEvent(nil), orig.events...)
			evs[41].Actor = "mallory@example.com"
			return rewrite(t, evs)
		}, 200, "the first 200 events do not hash to the root of the checkpoint of 200 events: an event at or before 200 was changed, deleted or inserted and the hashes after it recomputed"},
		{"duplicate key in details", func() *memStore {
			m := rewrite(t, orig.events)
			m.events[9].Details = map[string]string{BadDetailsKey: `{"from":"PENDING_APPROVAL","html":"\u003c\u0026\u003e","i":"xx","to":"DENIED","to":"APPROVED"}`}
			return m
		}, 10, `event 10: stored details are not canonical JSON (duplicate key "to"): edited in the database?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.attack()
			res, err := Verify(ctx, m.scan, earlier)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK || res.FirstBadSeq != tt.seq || res.Reason != tt.reason {
				t.Fatalf("got OK=%v seq=%d %q\nwant seq=%d %q", res.OK, res.FirstBadSeq, res.Reason, tt.seq, tt.reason)
			}
		})
	}
	// The intact log, grown since, extends the checkpoint.
	orig.append(t, event(500))
	res, err := Verify(ctx, orig.scan, earlier)
	if err != nil || !res.OK || res.Checkpoints != 1 || res.LastSeq != 201 {
		t.Fatalf("intact log: %+v, %v", res, err)
	}
	if err := CheckStoredTree(ctx, orig, res); err != nil {
		t.Fatal(err)
	}
	orig.hashes[tlog.StoredHashIndex(0, 200)][0] ^= 1
	if err := CheckStoredTree(ctx, orig, res); err == nil {
		t.Fatal("an edited stored hash went unnoticed")
	}
}

func TestInclusionProofVerifiesOfflineAndForgeriesFail(t *testing.T) {
	ctx := context.Background()
	s, vkey := keys(t)
	m := logOf(t, 77)
	c := checkpoint(t, m, s)
	m.append(t, event(99)) // the log grows after the checkpoint
	p, err := Prove(ctx, m, m.events[41], c)
	if err != nil {
		t.Fatal(err)
	}
	text := p.Marshal()
	v, _ := ParseVerifierKey(vkey)
	got, err := VerifyProof(text, v)
	if err != nil {
		t.Fatal(err)
	}
	if got.Event.Seq != 42 || got.Event.Actor != "alice@example.com" || got.Checkpoint.Size != 77 {
		t.Fatalf("proved %+v", got.Event)
	}
	forgeries := map[string][]byte{
		"event edited":       bytes.Replace(text, []byte(`"actor":"alice@example.com"`), []byte(`"actor":"mallory@example.com"`), 1),
		"event renumbered":   bytes.Replace(text, []byte(`"seq":42`), []byte(`"seq":43`), 1),
		"details edited":     bytes.Replace(text, []byte(`"to":"APPROVED"`), []byte(`"to":"DENIED"`), 1),
		"proof hash dropped": dropLine(text, "hash "),
		"checkpoint edited":  bytes.Replace(text, []byte("\n77\n"), []byte("\n78\n"), 1),
	}
	for name, forged := range forgeries {
		if bytes.Equal(forged, text) {
			t.Fatalf("%s: forgery changed nothing", name)
		}
		if _, err := VerifyProof(forged, v); err == nil {
			t.Errorf("%s: forged proof verified", name)
		}
	}
	// A forged event with a proof made for it from a rewritten log fails
	// against the real checkpoint.
	evs := append([]drawbridge.AuditEvent(nil), m.events[:77]...)
	evs[41].Actor = "mallory@example.com"
	fake := rewrite(t, evs)
	fc := checkpoint(t, fake, s)
	fp, err := Prove(ctx, fake, fake.events[41], fc)
	if err != nil {
		t.Fatal(err)
	}
	fp.Checkpoint = c
	if _, err := VerifyProof(fp.Marshal(), v); err == nil {
		t.Fatal("a proof of a forged event verified against the real checkpoint")
	}
	_, other := keys(t)
	ov, _ := ParseVerifierKey(other)
	if _, err := VerifyProof(text, ov); err == nil {
		t.Fatal("a proof verified with another log's key")
	}
}

func dropLine(text []byte, prefix string) []byte {
	var out [][]byte
	dropped := false
	for _, l := range bytes.SplitAfter(text, []byte("\n")) {
		if !dropped && bytes.HasPrefix(l, []byte(prefix)) {
			dropped = true
			continue
		}
		out = append(out, l)
	}
	return bytes.Join(out, nil)
}

// TestPublicationInterruptedAtEveryStep stops a publication at each point
// a kill could land (mid-write of the temporary file, before the rename,
// before the link) and checks that every file a reader can see is a whole
// checkpoint that verifies, and that all of them are consistent.
func TestPublicationInterruptedAtEveryStep(t *testing.T) {
	ctx := context.Background()
	s, vkey := keys(t)
	v, _ := ParseVerifierKey(vkey)
	dir := t.TempDir()
	sink := FileSink{Latest: filepath.Join(dir, "latest.checkpoint"), Dir: filepath.Join(dir, "all")}
	if err := os.Mkdir(sink.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := logOf(t, 3)
	p := &Publisher{Store: m, Signer: s, Sinks: []Sink{sink}}
	killed := errors.New("killed")
	defer func() { step = func(string) error { return nil } }()
	for i, at := range []string{"", "write", "link", "rename", "write", ""} {
		m.append(t, event(i))
		step = func(s string) error {
			if s == at {
				return killed
			}
			return nil
		}
		if _, err := p.Publish(ctx); (err != nil) != (at != "") {
			t.Fatalf("publication %d stopped at %q: %v", i, at, err)
		}
		var cps []Checkpoint
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			c, err := OpenCheckpoint(b, v)
			if err != nil {
				t.Fatalf("after a stop at %q, %s does not verify: %v", at, path, err)
			}
			cps = append(cps, c)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := Verify(ctx, m.scan, cps...); err != nil || !res.OK || res.Checkpoints != len(cps) {
			t.Fatalf("after a stop at %q: published checkpoints are not consistent with the log: %+v, %v", at, res, err)
		}
	}
	latest, ok := p.Latest()
	if !ok || latest.Size != 9 {
		t.Fatalf("Latest = %d, %v", latest.Size, ok)
	}
	// A temporary file left by a kill never looks like a checkpoint.
	ents, _ := os.ReadDir(sink.Dir)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".checkpoint") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestPublisherRefusesToSignAContradictingHistory(t *testing.T) {
	ctx := context.Background()
	s, _ := keys(t)
	m := logOf(t, 10)
	p := &Publisher{Store: m, Signer: s, Sinks: []Sink{FileSink{Dir: t.TempDir()}}}
	if _, err := p.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	evs := append([]drawbridge.AuditEvent(nil), m.events...)
	evs[2].Action = "deny"
	*m = *rewrite(t, evs)
	m.append(t, event(11))
	if _, err := p.Publish(ctx); err == nil || !strings.Contains(err.Error(), "history was rewritten") {
		t.Fatalf("publishing a rewritten log: %v", err)
	}
	*m = *rewrite(t, evs[:5])
	if _, err := p.Publish(ctx); err == nil || !strings.Contains(err.Error(), "events were deleted") {
		t.Fatalf("publishing a truncated log: %v", err)
	}
}

func TestPublisherRunsOnTheClock(t *testing.T) {
	s, _ := keys(t)
	m := logOf(t, 1)
	fake := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	p := &Publisher{Store: m, Signer: s, Sinks: []Sink{FileSink{Dir: dir}}, Interval: 5 * time.Minute, Clock: fake}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, func(err error) { t.Error(err) }) }()
	waitFor := func(size int64) {
		t.Helper()
		for range 10000 {
			if c, ok := p.Latest(); ok && c.Size == size && fake.Waiters() == 1 {
				return
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatalf("no checkpoint of size %d", size)
	}
	waitFor(1)
	m.append(t, event(1), event(2))
	fake.Advance(5*time.Minute - time.Nanosecond)
	if c, _ := p.Latest(); c.Size != 1 {
		t.Fatal("published before the interval")
	}
	fake.Advance(time.Nanosecond)
	waitFor(3)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"1.checkpoint", "3.checkpoint"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}
