package auditbench

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// The loader's rows read back through the store exactly as generated.
func TestLoadReadsBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const n = 3000
	st, err := Load(ctx, path, n, now, 7)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g := NewGenerator(n, now, 7)
	total := 0
	for i := 0; ; i++ {
		want := g.Next()
		if want == nil {
			break
		}
		total++
		if i%97 != 0 && i != n-1 {
			continue
		}
		got, err := db.GetRequest(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !drawbridge.ValidRequestID(got.ID) {
			t.Fatalf("id %q is not a valid request id", got.ID)
		}
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if string(wj) != string(gj) || got.Duration != want.Duration || got.DueAt() != want.DueAt() {
			t.Fatalf("request %d read back differently:\n got %s\nwant %s", i, gj, wj)
		}
	}
	if total != n {
		t.Fatalf("generator made %d requests, want %d", total, n)
	}
	sum := 0
	for s, c := range st.ByState {
		rs, err := db.ListRequests(ctx, drawbridge.RequestFilter{States: []drawbridge.State{s}, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if min(c, 1000) != len(rs) {
			t.Errorf("state %s: stored %d, listed %d", s, c, len(rs))
		}
		sum += c
	}
	if sum != n {
		t.Fatalf("states add up to %d, want %d", sum, n)
	}
	t.Logf("%d requests by state %v in %s", n, st.ByState, st.Duration)
}
