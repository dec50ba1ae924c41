package drawbridge_test

import (
	"testing"

	"github.com/drawbridge-jit/drawbridge"
)

// legal is the lifecycle of DESIGN.md, written out independently of the
// implementation's table: every pair not listed here must be refused.
var legal = map[drawbridge.State]map[drawbridge.Event]drawbridge.State{
	drawbridge.StateNew: {
		drawbridge.EventAllow:           drawbridge.StateApproved,
		drawbridge.EventRequireApproval: drawbridge.StatePendingApproval,
		drawbridge.EventDeny:            drawbridge.StateDenied,
	},
	drawbridge.StatePendingApproval: {
		drawbridge.EventApprove: drawbridge.StateApproved,
		drawbridge.EventDeny:    drawbridge.StateDenied,
		drawbridge.EventCancel:  drawbridge.StateCancelled,
	},
	drawbridge.StateApproved: {drawbridge.EventProvision: drawbridge.StateProvisioning},
	drawbridge.StateProvisioning: {
		drawbridge.EventActivate: drawbridge.StateActive,
		drawbridge.EventFail:     drawbridge.StateFailed,
		drawbridge.EventAbandon:  drawbridge.StateRevoking,
	},
	drawbridge.StateActive: {drawbridge.EventExpire: drawbridge.StateRevoking, drawbridge.EventRevoke: drawbridge.StateRevoking},
	drawbridge.StateRevoking: {
		drawbridge.EventConfirmExpired: drawbridge.StateExpired,
		drawbridge.EventConfirmRevoked: drawbridge.StateRevoked,
		drawbridge.EventConfirmFailed:  drawbridge.StateFailed,
	},
}

func TestTransitionEveryPair(t *testing.T) {
	states := append([]drawbridge.State{drawbridge.StateNew}, drawbridge.States...)
	if len(states) != 11 || len(drawbridge.Events) != 14 {
		t.Fatalf("the table below assumes 11 states and 14 events, have %d and %d: update the test", len(states), len(drawbridge.Events))
	}
	nLegal := 0
	for _, from := range states {
		for _, ev := range drawbridge.Events {
			want, ok := legal[from][ev]
			got, err := drawbridge.Transition(from, ev)
			if ok {
				nLegal++
				if err != nil || got != want {
					t.Errorf("Transition(%s, %s) = %s, %v; want %s", from, ev, got, err, want)
				}
				continue
			}
			if err == nil {
				t.Errorf("Transition(%s, %s) = %s, want an error (illegal move)", from, ev, got)
				continue
			}
			if code := drawbridge.ErrorCode(err); code != drawbridge.ECONFLICT {
				t.Errorf("Transition(%s, %s) error code %q, want %q", from, ev, code, drawbridge.ECONFLICT)
			}
			if drawbridge.IsStale(err) {
				t.Errorf("Transition(%s, %s): an illegal move must not be a retryable stale error", from, ev)
			}
			if got != from {
				t.Errorf("Transition(%s, %s) moved to %s on error; want it to stay %s", from, ev, got, from)
			}
		}
	}
	if nLegal != 15 {
		t.Errorf("%d legal transitions checked, want 15", nLegal)
	}
}

func TestTerminalStatesNeverLeave(t *testing.T) {
	terminal := map[drawbridge.State]bool{
		drawbridge.StateDenied: true, drawbridge.StateCancelled: true, drawbridge.StateFailed: true,
		drawbridge.StateExpired: true, drawbridge.StateRevoked: true,
	}
	for _, s := range append([]drawbridge.State{drawbridge.StateNew}, drawbridge.States...) {
		if s.Terminal() != terminal[s] {
			t.Errorf("%s.Terminal() = %v, want %v", s, s.Terminal(), terminal[s])
		}
		if !terminal[s] {
			continue
		}
		for _, ev := range drawbridge.Events {
			if to, err := drawbridge.Transition(s, ev); err == nil {
				t.Errorf("terminal %s left by %s to %s", s, ev, to)
			}
		}
	}
}

func TestParseState(t *testing.T) {
	for _, s := range drawbridge.States {
		got, err := drawbridge.ParseState(string(s))
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "active", "NEW", "EXPIRE"} {
		if _, err := drawbridge.ParseState(bad); drawbridge.ErrorCode(err) != drawbridge.EINVALID {
			t.Errorf("ParseState(%q) error %v, want EINVALID", bad, err)
		}
	}
}
