package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/drawbridge-jit/drawbridge/signature"
)

// Receiver is the receiving end of the webhook provider, as an
// http.Handler: it verifies each event's signature (any of Secrets, a
// timestamp within Tolerance) and hands the event to Handle. It serves
// `drawbridge dev` (which prints what it receives) and is the reference
// for receivers written in Go (docs/providers.md).
type Receiver struct {
	Secrets [][]byte
	// Tolerance is how far a signature's timestamp may be from Now;
	// signature.DefaultTolerance when zero.
	Tolerance time.Duration
	// Now is the receiver's clock; time.Now when nil.
	Now func() time.Time
	// Handle gives or takes the access. A nil error answers 200; an
	// error answers 500 with its text, and Drawbridge sends the event
	// again later. Events repeat (timeouts, crashes): Handle must treat
	// the same (type, request_id) as done once.
	Handle func(ctx context.Context, ev Event) error
}

// ServeHTTP verifies and handles one event. A body that is not signed
// with a known secret is refused with 401 and never handled.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an event", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAnswer+1))
	if err != nil || len(body) > maxAnswer {
		http.Error(w, "event too large or unreadable", http.StatusBadRequest)
		return
	}
	now, tol := time.Now, rc.Tolerance
	if rc.Now != nil {
		now = rc.Now
	}
	if tol == 0 {
		tol = signature.DefaultTolerance
	}
	if err := signature.Verify(r.Header.Get(signature.Header), body, now(), tol, rc.Secrets...); err != nil {
		http.Error(w, "signature: "+err.Error(), http.StatusUnauthorized)
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil || (ev.Type != TypeGrant && ev.Type != TypeRevoke) || ev.RequestID == "" {
		http.Error(w, fmt.Sprintf("not a grant or revoke event: %s", body), http.StatusBadRequest)
		return
	}
	if err := rc.Handle(r.Context(), ev); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}
