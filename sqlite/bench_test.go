package sqlite_test

import (
	"context"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/internal/storetest"
)

// BenchmarkCreateAndUpdate measures one request's submit and approval: two
// write transactions, each with its audit event.
func BenchmarkCreateAndUpdate(b *testing.B) {
	ctx := context.Background()
	db, _ := openDB(b)
	for b.Loop() {
		r := storetest.NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
		if err := db.CreateRequest(ctx, r, drawbridge.AuditEvent{Actor: r.Requester, Action: "submit"}); err != nil {
			b.Fatal(err)
		}
		r.State = drawbridge.StateApproved
		if err := db.UpdateRequest(ctx, r, drawbridge.AuditEvent{Actor: "carol@example.com", Action: "approve"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateAndUpdateParallel is the same from several goroutines,
// the shape of a busy server: writers queue on the one write connection.
func BenchmarkCreateAndUpdateParallel(b *testing.B) {
	ctx := context.Background()
	db, _ := openDB(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := storetest.NewRequest("alice@example.com", "123456789012", "ReadOnlyAccess")
			if err := db.CreateRequest(ctx, r, drawbridge.AuditEvent{Actor: r.Requester, Action: "submit"}); err != nil {
				b.Error(err)
				return
			}
			r.State = drawbridge.StateApproved
			if err := db.UpdateRequest(ctx, r, drawbridge.AuditEvent{Actor: "carol@example.com", Action: "approve"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
