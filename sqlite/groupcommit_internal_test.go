package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
)

// One op of a group-committed batch that fails after it wrote — an audit
// event appended, then an error — loses nothing of the others and leaves
// nothing of its own: the batch runs first without savepoints, and when an
// op fails it is rolled back whole and run again with one per op. The
// chain the others appended stays whole (seq contiguous, hashes linked).
func TestGroupCommitFailureInBatchIsolated(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "drawbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	boom := errors.New("boom after writing")
	runs := make([]int, 6)
	var batch []*writeOp
	for i := range runs {
		batch = append(batch, &writeOp{ctx: ctx, done: make(chan error, 1), fn: func(ctx context.Context, tx *sql.Tx) error {
			runs[i]++
			if err := db.appendAudit(ctx, tx, "", []drawbridge.AuditEvent{{Actor: "op", Action: "op" + string(rune('0'+i))}}); err != nil {
				return err
			}
			if i == 2 || i == 4 {
				return boom
			}
			return nil
		}})
	}
	// The writer goroutine is idle: nothing else writes while the batch
	// is committed here directly.
	db.commitBatch(batch)
	for i, op := range batch {
		err := <-op.done
		if want := i == 2 || i == 4; (err != nil) != want || want && !errors.Is(err, boom) {
			t.Errorf("op %d answered %v", i, err)
		}
	}
	var actions []string
	if err := db.ScanAudit(ctx, func(ev drawbridge.AuditEvent) error {
		actions = append(actions, ev.Action)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := len(actions); got != 4 || actions[0] != "op0" || actions[1] != "op1" || actions[2] != "op3" || actions[3] != "op5" {
		t.Fatalf("committed events %v, want op0 op1 op3 op5", actions)
	}
	if res, err := audit.Verify(ctx, db.ScanAudit); err != nil || !res.OK || res.Events != 4 {
		t.Fatalf("chain: %+v %v", res, err)
	}
	// A batch that succeeds runs each op once.
	ok := []*writeOp{}
	for i := range 3 {
		ok = append(ok, &writeOp{ctx: ctx, done: make(chan error, 1), fn: func(ctx context.Context, tx *sql.Tx) error {
			runs[i]++
			return db.appendAudit(ctx, tx, "", []drawbridge.AuditEvent{{Actor: "op", Action: "ok"}})
		}})
	}
	clear(runs)
	db.commitBatch(ok)
	for i, op := range ok {
		if err := <-op.done; err != nil || runs[i] != 1 {
			t.Errorf("op %d of a good batch: %v, ran %d times", i, err, runs[i])
		}
	}
}
