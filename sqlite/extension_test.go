package sqlite_test

import (
	"context"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
)

// One live extension per grant is the store's rule too, not only the
// broker's check-then-create: two `extend` calls in two processes at the
// same instant (serve and a CLI on one file) both pass the broker's read,
// and only the write transaction can refuse the second.
func TestOneLiveExtensionPerGrantAcrossHandles(t *testing.T) {
	ctx := context.Background()
	serve, cli := openTwice(t)

	parent := grantIn(t, serve, drawbridge.StateActive)
	extension := func() *drawbridge.Request {
		x := newRequest(parent.Requester, parent.Resource, parent.Role)
		x.Extends = parent.ID
		return x
	}
	first := create(t, serve, extension())
	second := extension()
	err := cli.CreateRequest(ctx, second, drawbridge.AuditEvent{Action: "submit"})
	mustCode(t, err, drawbridge.ECONFLICT)
	if _, gerr := serve.GetRequest(ctx, second.ID); drawbridge.ErrorCode(gerr) != drawbridge.ENOTFOUND {
		t.Fatalf("the refused extension was written: %v", gerr)
	}

	// A recorded refusal (DENIED by policy) takes nothing away and is kept.
	denied := extension()
	denied.State = drawbridge.StateDenied
	create(t, cli, denied)

	// Once the first has ended, the grant may be extended again.
	first.State, first.EndedAt = drawbridge.StateCancelled, t0
	if err := serve.UpdateRequest(ctx, first); err != nil {
		t.Fatal(err)
	}
	create(t, cli, extension())
}
