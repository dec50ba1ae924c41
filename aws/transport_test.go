package aws_test

import (
	"context"
	"testing"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

// TestNoResponseIsLostOnLoopback sends thousands of two-page listings one
// after another and expects every response to arrive on the first try over
// one reused connection. net/http's writeLoop, after the response has
// arrived, drains the request body through its WriteTo; smithy-go has closed
// that body by then and its WriteTo answers (0, io.EOF), which writeLoop
// takes for a write error: it closes the connection under the response
// still being read ("use of closed network connection", about one call in
// 1,500) and, more often, the connection is just not reused. A lost
// response shows here as a list call retried by Exists, a connection not
// reused as one more connection accepted by the emulator.
func TestNoResponseIsLostOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 3,000 calls")
	}
	em, p := setup(t, 0)
	const lookups = 1500
	for i := range lookups {
		// Two pages: an empty one with a token, then the answer.
		em.Script(emulator.OpListAccountAssignmentsForPrincipal, emulator.Fault{EmptyPage: true})
		if _, err := p.Exists(context.Background(), assignment("PowerUserAccess", "nobody")); err != nil {
			t.Fatalf("lookup %d: %v", i, err)
		}
	}
	if n := em.Calls(emulator.OpListAccountAssignmentsForPrincipal); n != 2*lookups {
		t.Errorf("%d list calls for %d two-page lookups: %d responses were lost and retried", n, lookups, n-2*lookups)
	}
	// Sequential calls reuse one connection. Not exactly one: net/http
	// hands a finished connection back to its pool from another goroutine,
	// and on a loaded machine the next call can get there first and dial.
	// The writeLoop failure closed about one connection in 16 calls; the
	// bound is far below that.
	if n := em.Connections(); n > 2*lookups/100 {
		t.Errorf("%d connections for %d sequential calls: connections are not reused", n, 2*lookups)
	}
}
