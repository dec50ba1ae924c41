package broker_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// lostCreate is the real AWS provider whose first creates reach AWS (the
// assignment is made) but whose answers are lost, as a timeout or a reset
// connection after AWS accepted the call would be; later attempts are
// throttled, so provisioning gives up without ever learning the outcome.
type lostCreate struct {
	*aws.Provider
	lose  int32 // creates whose answer is lost
	calls atomic.Int32
}

func (p *lostCreate) Grant(ctx context.Context, spec drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	if p.calls.Add(1) <= p.lose {
		if _, err := p.Provider.Grant(ctx, spec); err != nil {
			return drawbridge.GrantResult{}, err
		}
		return drawbridge.GrantResult{}, errors.New("read tcp 127.0.0.1: connection reset by peer (the create may have happened)")
	}
	return drawbridge.GrantResult{}, drawbridge.Rejected(errors.New("ThrottlingException: Rate exceeded"))
}

// Item 16 of issue 7: a grant that gives up after a create may have
// succeeded must not leave the assignment behind with the request FAILED
// and nothing watching it. The request goes REVOKING (visible, retried,
// overlap-aware like any revocation) and ends FAILED only once the
// provider confirmed the assignment is gone.
func TestGivingUpAfterAnUncertainCreateRemovesTheAssignment(t *testing.T) {
	for _, lose := range []int32{1, 6} {
		t.Run(map[int32]string{1: "lost, then throttled", 6: "every answer lost"}[lose], func(t *testing.T) {
			e := testenv.New(t, testenv.Options{})
			useProvider(e, &lostCreate{Provider: e.Provider, lose: lose})
			r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
			for i := 0; i < 20 && !e.Get(t, r.ID).State.Terminal(); i++ {
				e.Clock.Advance(5 * time.Minute)
				e.HandleDue(t)
			}
			got := e.Get(t, r.ID)
			wantState(t, got, drawbridge.StateFailed)
			if e.HasAssignment(t, alice, staging, readOnly) {
				t.Fatalf("%s is FAILED (%s) but the assignment its lost create made is still in place", r.ID, got.LastError)
			}
			actions := strings.Join(e.Actions(t, r.ID), ",")
			if !strings.Contains(actions, string(drawbridge.EventAbandon)+",") || !strings.HasSuffix(actions, string(drawbridge.EventConfirmFailed)) {
				t.Errorf("audit actions %s: want an abandon step and a confirmed removal before FAILED", actions)
			}
			if !strings.Contains(got.LastError, "gave up after 6 attempts") {
				t.Errorf("last error %q does not say why provisioning ended", got.LastError)
			}
		})
	}
}

// A definite failure with no earlier uncertain attempt still ends FAILED at
// once: nothing can have been created, so there is nothing to clean up.
func TestGivingUpAfterRejectionsOnlyFailsAtOnce(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	useProvider(e, &lostCreate{Provider: e.Provider, lose: 0})
	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	for i := 0; i < 20 && !e.Get(t, r.ID).State.Terminal(); i++ {
		e.Clock.Advance(5 * time.Minute)
		e.HandleDue(t)
	}
	wantState(t, e.Get(t, r.ID), drawbridge.StateFailed)
	if actions := strings.Join(e.Actions(t, r.ID), ","); strings.Contains(actions, string(drawbridge.EventAbandon)) {
		t.Errorf("audit actions %s: nothing was created, nothing to remove", actions)
	}
}
