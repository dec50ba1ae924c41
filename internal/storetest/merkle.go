package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
)

// signer is the checkpoint key of the suite's logs.
var signer = sync.OnceValue(func() audit.Signer {
	skey, _, err := audit.GenerateKey("storetest.example.com/audit")
	if err != nil {
		panic(err)
	}
	s, err := audit.ParseSigningKey(skey)
	if err != nil {
		panic(err)
	}
	return s
})

// auditLog writes n requests with a submit event each plus an event that
// records no change every tenth, and returns a checkpoint of the result.
func auditLog(t *testing.T, s Stores, n int) audit.Checkpoint {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		r := Create(t, s, NewRequest(fmt.Sprintf("user%d@example.com", i), "123456789012", "ReadOnlyAccess"))
		if i%10 == 0 {
			if err := s.AppendAudit(ctx, drawbridge.AuditEvent{Actor: "expiry", Action: drawbridge.ActionRevokeAttemptFailed, RequestID: r.ID,
				Details: map[string]string{"error": "aws: ThrottlingException", "attempt": "1"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, err := audit.NewCheckpoint(ctx, s, signer())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func verifyWith(t testing.TB, st drawbridge.Store, cps ...audit.Checkpoint) audit.Result {
	t.Helper()
	res, err := audit.Verify(context.Background(), st.ScanAudit, cps...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func events(t testing.TB, st drawbridge.Store) []drawbridge.AuditEvent {
	t.Helper()
	var evs []drawbridge.AuditEvent
	if err := st.ScanAudit(context.Background(), func(ev drawbridge.AuditEvent) error {
		evs = append(evs, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

// truncate is the SQL that deletes every event after keep, with its
// Merkle hashes, and moves PostgreSQL's chain head back: a careful
// attacker's truncation.
func truncate(evs []drawbridge.AuditEvent, keep int) []string {
	head := audit.GenesisHash
	if keep > 0 {
		head = evs[keep-1].Hash
	}
	return []string{
		fmt.Sprintf(`DELETE FROM audit_events WHERE seq > %d`, keep),
		fmt.Sprintf(`DELETE FROM audit_hashes WHERE idx >= %d`, tlog.StoredHashCount(int64(keep))),
		fmt.Sprintf(`UPDATE audit_head SET seq = %d, hash = '%s' WHERE id = 1`, keep, head),
	}
}

// testMerkleTreeFollowsTheLog: every append, batched or concurrent, leaves
// stored hashes that agree with the events, and every event has an
// inclusion proof in a checkpoint of the log.
func testMerkleTreeFollowsTheLog(t *testing.T, s Stores) {
	ctx := context.Background()
	rs := make([]*drawbridge.Request, 40)
	for i := range rs {
		rs[i] = NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
	}
	createAll(t, s, rs)
	c := auditLog(t, s, 5)
	if c.Size != 46 {
		t.Fatalf("checkpoint of %d events, want 46", c.Size)
	}
	res := verifyWith(t, s, c)
	if !res.OK || res.Checkpoints != 1 {
		t.Fatalf("log: %+v", res)
	}
	if err := audit.CheckStoredTree(ctx, s, res); err != nil {
		t.Fatal(err)
	}
	v, err := audit.ParseVerifierKey(signer().Verifier)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events(t, s) {
		p, err := audit.Prove(ctx, s, ev, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := audit.VerifyProof(p.Marshal(), v)
		if err != nil {
			t.Fatalf("event %d: %v", ev.Seq, err)
		}
		if got.Event.Seq != ev.Seq || got.Event.Actor != ev.Actor || got.Event.Details["state"] != ev.Details["state"] {
			t.Fatalf("proved %+v, want %+v", got.Event, ev)
		}
	}
	// A second handle sees the same tree and extends it, with text that
	// is not UTF-8 (a provider's error message), stored and hashed as
	// JSON would write it.
	other := s.Reopen(t)
	if err := other.AppendAudit(ctx, drawbridge.AuditEvent{Actor: "mallory@example.com\xff", Action: "login_denied",
		Details: map[string]string{"error": "bad \xfe\xff bytes", "k\xff": "<&>"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.AuditTreeSize(ctx); err != nil || n != 47 {
		t.Fatalf("tree size %d, %v; want 47", n, err)
	}
	res = verifyWith(t, s, c)
	if !res.OK || res.LastSeq != 47 {
		t.Fatalf("grown log: %+v", res)
	}
	if err := audit.CheckStoredTree(ctx, s, res); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuditHashes(ctx, []int64{tlog.StoredHashCount(47)}); drawbridge.ErrorCode(err) != drawbridge.ENOTFOUND {
		t.Fatalf("a hash beyond the tree: %v, want ENOTFOUND", err)
	}
}

// testMerkleTreeRebuiltForOlderEvents: events without stored hashes (a
// store from before the tree) are hashed in when the store opens, to the
// same root.
func testMerkleTreeRebuiltForOlderEvents(t *testing.T, s Stores) {
	c := auditLog(t, s, 12)
	s.Tamper(t, `DELETE FROM audit_hashes`)
	res := verifyWith(t, s.Reopen(t), c)
	if !res.OK || res.Checkpoints != 1 {
		t.Fatalf("after rebuilding the tree: %+v", res)
	}
	if err := audit.CheckStoredTree(context.Background(), s, res); err != nil {
		t.Fatal(err)
	}
}

// The attacks of issue 13, each by someone with write access to the
// database who recomputes what they can: each is detected given a
// checkpoint taken before it.

func testAttackDeleteTheLast50(t *testing.T, s Stores) {
	c := auditLog(t, s, 60)
	evs := events(t, s)
	s.Tamper(t, truncate(evs, len(evs)-50)...)
	if res := verifyWith(t, s); !res.OK {
		t.Fatalf("without a checkpoint the truncated log is self-consistent, got %+v", res)
	}
	res := verifyWith(t, s.Reopen(t), c)
	want := "the log has 16 events, but a checkpoint saw 66: events 17 to 66 were deleted from the end"
	if res.OK || res.FirstBadSeq != 17 || res.Reason != want {
		t.Fatalf("got %+v\nwant %q", res, want)
	}
}

func testAttackDeleteAll(t *testing.T, s Stores) {
	c := auditLog(t, s, 3)
	s.Tamper(t, truncate(events(t, s), 0)...)
	res := verifyWith(t, s.Reopen(t), c)
	if res.OK || res.FirstBadSeq != 1 || !strings.Contains(res.Reason, "the log has 0 events, but a checkpoint saw 4") {
		t.Fatalf("got %+v", res)
	}
}

func testAttackEditAndRecompute(t *testing.T, s Stores) {
	c := auditLog(t, s, 20)
	evs := events(t, s)
	// Edit event 7 and recompute every chain hash after it, then drop the
	// Merkle hashes so the store rebuilds them from the edited events.
	evs[6].Actor = "mallory@example.com"
	stmts := []string{`UPDATE audit_events SET actor = 'mallory@example.com' WHERE seq = 7`}
	for i := 6; i < len(evs); i++ {
		audit.Seal(evs[i-1].Hash, &evs[i])
		stmts = append(stmts, fmt.Sprintf(`UPDATE audit_events SET prev_hash = '%s', hash = '%s' WHERE seq = %d`, evs[i].PrevHash, evs[i].Hash, evs[i].Seq))
	}
	stmts = append(stmts, `DELETE FROM audit_hashes`,
		fmt.Sprintf(`UPDATE audit_head SET hash = '%s' WHERE id = 1`, evs[len(evs)-1].Hash))
	s.Tamper(t, stmts...)
	forged := s.Reopen(t)
	res := verifyWith(t, forged)
	if !res.OK {
		t.Fatalf("without a checkpoint the rewritten log is self-consistent, got %+v", res)
	}
	if err := audit.CheckStoredTree(context.Background(), forged, res); err != nil {
		t.Fatalf("the rebuilt tree should agree with the forged events: %v", err)
	}
	res = verifyWith(t, forged, c)
	if res.OK || res.FirstBadSeq != 22 || !strings.Contains(res.Reason, "the first 22 events do not hash to the root of the checkpoint of 22 events") {
		t.Fatalf("got %+v", res)
	}
}

func testAttackDuplicateKeyInDetails(t *testing.T, s Stores) {
	auditLog(t, s, 3)
	// Go's decoder reads the last "state", SQL's json_extract the first:
	// the chain's hash still matches what Go reads.
	s.Tamper(t, `UPDATE audit_events SET details = '{"state":"ACTIVE","state":"PENDING_APPROVAL"}' WHERE seq = 3`)
	res := verifyWith(t, s)
	want := `event 3: stored details are not canonical JSON (duplicate key "state"): edited in the database?`
	if res.OK || res.FirstBadSeq != 3 || res.Reason != want {
		t.Fatalf("got %+v\nwant %q", res, want)
	}
}
