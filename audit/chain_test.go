package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
)

// chain builds n sealed events the way a store does.
func chain(n int) []drawbridge.AuditEvent {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))
	evs := make([]drawbridge.AuditEvent, n)
	prev := audit.GenesisHash
	for i := range evs {
		evs[i] = drawbridge.AuditEvent{
			Seq:       int64(i + 1),
			Time:      t0.Add(time.Duration(i) * time.Second),
			Actor:     "alice@example.com",
			Action:    "approve",
			RequestID: "req_0123",
			Details:   map[string]string{"from": "PENDING_APPROVAL", "to": "APPROVED", "n": string(rune('a' + i%26))},
		}
		audit.Seal(prev, &evs[i])
		prev = evs[i].Hash
	}
	return evs
}

func scanOf(evs []drawbridge.AuditEvent) audit.ScanFunc {
	return func(ctx context.Context, fn func(drawbridge.AuditEvent) error) error {
		for _, ev := range evs {
			if err := fn(ev); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestSealIsDeterministicAndLinks(t *testing.T) {
	evs := chain(3)
	if evs[0].PrevHash != audit.GenesisHash || len(audit.GenesisHash) != 64 {
		t.Fatalf("first prev hash = %q, want 64 zeros", evs[0].PrevHash)
	}
	if evs[1].PrevHash != evs[0].Hash || evs[2].PrevHash != evs[1].Hash {
		t.Fatal("events are not linked")
	}
	again := chain(3)
	for i := range evs {
		if evs[i].Hash != again[i].Hash {
			t.Fatalf("event %d: hash not deterministic", i+1)
		}
	}
	// The same instant in another zone is the same event.
	ev := evs[0]
	ev.Time = ev.Time.UTC()
	if audit.Hash(ev.PrevHash, &ev) != evs[0].Hash {
		t.Fatal("hash depends on the time zone of Time")
	}
}

func TestHashCoversEveryField(t *testing.T) {
	base := chain(1)[0]
	mutations := map[string]func(*drawbridge.AuditEvent){
		"seq":        func(e *drawbridge.AuditEvent) { e.Seq++ },
		"time":       func(e *drawbridge.AuditEvent) { e.Time = e.Time.Add(time.Nanosecond) },
		"actor":      func(e *drawbridge.AuditEvent) { e.Actor = "mallory@example.com" },
		"action":     func(e *drawbridge.AuditEvent) { e.Action = "deny" },
		"request_id": func(e *drawbridge.AuditEvent) { e.RequestID = "req_9999" },
		"details value": func(e *drawbridge.AuditEvent) {
			e.Details = map[string]string{"from": "PENDING_APPROVAL", "to": "DENIED", "n": "a"}
		},
		"details added": func(e *drawbridge.AuditEvent) {
			e.Details = map[string]string{"from": "PENDING_APPROVAL", "to": "APPROVED", "n": "a", "x": ""}
		},
		"details remove": func(e *drawbridge.AuditEvent) {
			e.Details = map[string]string{"from": "PENDING_APPROVAL", "to": "APPROVED"}
		},
	}
	for name, mutate := range mutations {
		ev := base
		mutate(&ev)
		if audit.Hash(base.PrevHash, &ev) == base.Hash {
			t.Errorf("changing %s does not change the hash", name)
		}
	}
	if audit.Hash(strings.Repeat("1", 64), &base) == base.Hash {
		t.Error("prev hash is not part of the hash")
	}
}

func TestHashHasNoFieldBoundaryAmbiguity(t *testing.T) {
	pairs := []struct{ a, b drawbridge.AuditEvent }{
		{drawbridge.AuditEvent{Actor: "ab", Action: "c"}, drawbridge.AuditEvent{Actor: "a", Action: "bc"}},
		{drawbridge.AuditEvent{Action: "x", RequestID: ""}, drawbridge.AuditEvent{Action: "", RequestID: "x"}},
		{
			drawbridge.AuditEvent{Details: map[string]string{"a": "b"}},
			drawbridge.AuditEvent{Details: map[string]string{"ab": ""}},
		},
		{
			drawbridge.AuditEvent{Details: map[string]string{"a": "1:b"}},
			drawbridge.AuditEvent{Details: map[string]string{"a": "", "b": ""}},
		},
	}
	for i, p := range pairs {
		if audit.Hash(audit.GenesisHash, &p.a) == audit.Hash(audit.GenesisHash, &p.b) {
			t.Errorf("pair %d: different events hash the same", i)
		}
	}
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		tamper  func([]drawbridge.AuditEvent) []drawbridge.AuditEvent
		badSeq  int64
		reason  string
		nEvents int64
	}{
		{name: "intact", tamper: func(e []drawbridge.AuditEvent) []drawbridge.AuditEvent { return e }, nEvents: 10},
		{
			name:   "edited actor",
			tamper: func(e []drawbridge.AuditEvent) []drawbridge.AuditEvent { e[4].Actor = "mallory"; return e },
			badSeq: 5, reason: "event 5: hash does not match its contents (edited?)", nEvents: 5,
		},
		{
			name:   "edited details",
			tamper: func(e []drawbridge.AuditEvent) []drawbridge.AuditEvent { e[2].Details["to"] = "DENIED"; return e },
			badSeq: 3, reason: "event 3: hash does not match its contents (edited?)", nEvents: 3,
		},
		{
			name:   "deleted one",
			tamper: func(e []drawbridge.AuditEvent) []drawbridge.AuditEvent { return append(e[:5:5], e[6:]...) },
			badSeq: 7, reason: "event 7 follows event 5: event 6 is missing (deleted?)", nEvents: 6,
		},
		{
			name:   "deleted several",
			tamper: func(e []drawbridge.AuditEvent) []drawbridge.AuditEvent { return append(e[:2:2], e[5:]...) },
			badSeq: 6, reason: "event 6 follows event 2: events 3 to 5 are missing (deleted?)", nEvents: 3,
		},
		{
			name:   "deleted the first",
			tamper: func(e []drawbridge.AuditEvent) []drawbridge.AuditEvent { return e[1:] },
			badSeq: 2, reason: "event 2 is the first event: event 1 is missing (deleted?)", nEvents: 1,
		},
		{
			name: "contents swapped, seqs kept",
			tamper: func(e []drawbridge.AuditEvent) []drawbridge.AuditEvent {
				e[5], e[6] = e[6], e[5]
				e[5].Seq, e[6].Seq = 6, 7
				return e
			},
			badSeq: 6, reason: "event 6: prev_hash does not match event 5's hash (reordered or replaced?)", nEvents: 6,
		},
		{
			name: "deleted and renumbered",
			tamper: func(e []drawbridge.AuditEvent) []drawbridge.AuditEvent {
				e = append(e[:3:3], e[4:]...)
				for i := 3; i < len(e); i++ {
					e[i].Seq--
				}
				return e
			},
			badSeq: 4, reason: "event 4: prev_hash does not match event 3's hash (reordered or replaced?)", nEvents: 4,
		},
		{
			name:   "streamed out of order",
			tamper: func(e []drawbridge.AuditEvent) []drawbridge.AuditEvent { e[3], e[4] = e[4], e[3]; return e },
			badSeq: 5, reason: "event 5 follows event 3: event 4 is missing (deleted?)", nEvents: 4,
		},
		{
			name: "edited and rehashed, but the next link breaks",
			tamper: func(e []drawbridge.AuditEvent) []drawbridge.AuditEvent {
				e[1].Actor = "mallory"
				audit.Seal(e[1].PrevHash, &e[1])
				return e
			},
			badSeq: 3, reason: "event 3: prev_hash does not match event 2's hash (reordered or replaced?)", nEvents: 3,
		},
		{
			name: "first event relinked",
			tamper: func(e []drawbridge.AuditEvent) []drawbridge.AuditEvent {
				audit.Seal(strings.Repeat("f", 64), &e[0])
				return e
			},
			badSeq: 1, reason: "event 1: prev_hash is not the genesis hash (replaced?)", nEvents: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := tt.tamper(chain(10))
			res, err := audit.Verify(ctx, scanOf(evs))
			if err != nil {
				t.Fatal(err)
			}
			if tt.badSeq == 0 {
				if !res.OK || res.Reason != "" || res.FirstBadSeq != 0 {
					t.Fatalf("intact chain reported bad: %+v", res)
				}
				if res.LastHash != evs[len(evs)-1].Hash || res.LastSeq != 10 {
					t.Fatalf("LastHash/LastSeq = %s/%d, want the last event's", res.LastHash, res.LastSeq)
				}
			} else if res.OK || res.FirstBadSeq != tt.badSeq || res.Reason != tt.reason {
				t.Fatalf("got OK=%v seq=%d reason=%q\nwant seq=%d reason=%q", res.OK, res.FirstBadSeq, res.Reason, tt.badSeq, tt.reason)
			}
			if res.Events != tt.nEvents {
				t.Fatalf("Events = %d, want %d", res.Events, tt.nEvents)
			}
		})
	}
}

func TestVerifyEmptyChain(t *testing.T) {
	res, err := audit.Verify(context.Background(), scanOf(nil))
	if err != nil || !res.OK || res.Events != 0 || res.LastHash != audit.GenesisHash {
		t.Fatalf("empty chain: %+v, %v", res, err)
	}
}

func TestVerifyReportsScanErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	scan := func(ctx context.Context, fn func(drawbridge.AuditEvent) error) error {
		if err := fn(chain(1)[0]); err != nil {
			return err
		}
		return boom
	}
	if _, err := audit.Verify(context.Background(), scan); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the scan's error", err)
	}
}
