package expiry_test

import (
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/expiry"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// noticeEvents returns the expiry_notice events of a request.
func noticeEvents(t *testing.T, e *testenv.Env, id string) []drawbridge.AuditEvent {
	t.Helper()
	evs, err := e.Store.RequestEvents(e.Ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var out []drawbridge.AuditEvent
	for _, ev := range evs {
		if ev.Action == drawbridge.ActionExpiryNotice {
			out = append(out, ev)
		}
	}
	return out
}

// The pre-expiry notice has its own due time, 10 minutes before expiry by
// default: the engine (MaxSleep an hour, so only due times wake it) records
// it exactly then, once, and still expires the grant exactly at its end.
// An extension gets a fresh notice for the new end, and the grant it
// extends, whose access the extension continues, none.
func TestExpiryNoticeFiresOnTime(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	eng := expiry.New(e.Broker, time.Hour, 2)
	e.Broker.OnChange = eng.Notify
	runEngine(t, eng)
	waitAsleep(t, e, 1)

	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	if r.State != drawbridge.StateActive {
		t.Fatalf("grant is %s", r.State)
	}
	if want := r.ExpiresAt.Add(-10 * time.Minute); !r.DueAt().Equal(want) {
		t.Fatalf("an ACTIVE grant is due at %v, want the notice at %v", r.DueAt(), want)
	}
	waitAsleep(t, e, 2)
	e.Clock.Advance(50*time.Minute - time.Second)
	time.Sleep(20 * time.Millisecond) // give a wrongly early engine the chance to act
	if n := len(noticeEvents(t, e, r.ID)); n != 0 {
		t.Fatalf("%d notices one second before the notice time", n)
	}
	e.Clock.Advance(time.Second)
	waitFor(t, "the expiry notice", func() bool { return len(noticeEvents(t, e, r.ID)) == 1 })
	ev := noticeEvents(t, e, r.ID)[0]
	if !ev.Time.Equal(testenv.Start.Add(50*time.Minute)) || ev.Details["expires_at"] != r.ExpiresAt.Format("2006-01-02T15:04:05.000Z07:00") {
		t.Errorf("notice at %v with details %v", ev.Time, ev.Details)
	}
	got := e.Get(t, r.ID)
	if got.State != drawbridge.StateActive || !got.DueAt().Equal(r.ExpiresAt) || !got.ExpiresAt.Equal(r.ExpiresAt) {
		t.Fatalf("after the notice: %s, due %v, expires %v; want ACTIVE, due and expiring at %v", got.State, got.DueAt(), got.ExpiresAt, r.ExpiresAt)
	}

	// Extend now: the extension runs from the grant's end for 30 minutes
	// and gets its own notice 10 minutes before that.
	x, err := e.Broker.Extend(e.Ctx, r.ID, 30*time.Minute, "", "", testenv.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if x.State != drawbridge.StateActive || !x.ExpiresAt.Equal(r.ExpiresAt.Add(30*time.Minute)) {
		t.Fatalf("extension %s expires %v", x.State, x.ExpiresAt)
	}
	e.Clock.Advance(10 * time.Minute) // the grant's own end
	waitState(t, e, r.ID, drawbridge.StateExpired)
	if n := len(noticeEvents(t, e, r.ID)); n != 1 {
		t.Errorf("the grant got %d notices, want exactly 1", n)
	}
	if got := e.Get(t, r.ID); !got.EndedAt.Equal(r.ExpiresAt) {
		t.Errorf("grant ended %v, want at its expiry %v: the notice must not move it", got.EndedAt, r.ExpiresAt)
	}
	e.Clock.Advance(20*time.Minute - time.Second)
	time.Sleep(20 * time.Millisecond)
	if n := len(noticeEvents(t, e, x.ID)); n != 0 {
		t.Fatalf("extension noticed %d times before its notice time", n)
	}
	e.Clock.Advance(time.Second)
	waitFor(t, "the extension's notice", func() bool { return len(noticeEvents(t, e, x.ID)) == 1 })
	e.Clock.Advance(10 * time.Minute)
	waitState(t, e, x.ID, drawbridge.StateExpired)
	if n := len(noticeEvents(t, e, x.ID)); n != 1 {
		t.Errorf("extension noticed %d times, want 1", n)
	}
}

// A grant extended before its notice time is not noticed (its access goes
// on); a grant shorter than the notice lead gets no notice, since
// grant.active already said when it ends; a late engine that finds both
// the notice and the expiry due expires without a stale notice.
func TestExpiryNoticeSkipped(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	extended := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	if _, err := e.Broker.Extend(e.Ctx, extended.ID, time.Hour, "", "", testenv.Operator); err != nil {
		t.Fatal(err)
	}
	short := e.Submit(t, bob, staging, readOnly, 5*time.Minute, "")
	if !short.DueAt().Equal(short.ExpiresAt) {
		t.Errorf("5-minute grant due %v, want its expiry %v", short.DueAt(), short.ExpiresAt)
	}
	e.Clock.Advance(50 * time.Minute)
	e.HandleDue(t)
	if n := len(noticeEvents(t, e, extended.ID)); n != 0 {
		t.Errorf("a grant whose access an ACTIVE extension continues got %d notices", n)
	}
	if got := e.Get(t, extended.ID); !got.DueAt().Equal(got.ExpiresAt) || got.State != drawbridge.StateActive {
		t.Errorf("extended grant %s due %v, want its expiry %v", got.State, got.DueAt(), got.ExpiresAt)
	}
	if n := len(noticeEvents(t, e, short.ID)); n != 0 {
		t.Errorf("a 5-minute grant got %d notices", n)
	}
	late := e.Submit(t, bob, prod, readOnly, time.Hour, "")
	e.Clock.Advance(70 * time.Minute) // past late's notice and expiry in one jump
	e.HandleDue(t)
	if got := e.Get(t, late.ID); got.State != drawbridge.StateExpired {
		t.Fatalf("late grant is %s", got.State)
	}
	if n := len(noticeEvents(t, e, late.ID)); n != 0 {
		t.Errorf("late grant: %d notices after its expiry", n)
	}
}

// Two processes that both find the notice due record it once: the notice
// is written under the request's version, so the slower one's write is
// stale and records nothing.
func TestExpiryNoticeRecordedOnceByTwoProcesses(t *testing.T) {
	a := testenv.New(t, testenv.Options{})
	b := testenv.New(t, testenv.Options{SameStoreAs: a, Emulator: a.Emu, Clock: a.Clock})
	r := a.Submit(t, alice, staging, readOnly, time.Hour, "")
	a.Clock.Advance(50 * time.Minute)
	dueA, err := a.Store.DueRequests(a.Ctx, a.Clock.Now(), 10)
	if err != nil || len(dueA) != 1 {
		t.Fatalf("due in a: %d, %v", len(dueA), err)
	}
	dueB, err := b.Store.DueRequests(b.Ctx, b.Clock.Now(), 10)
	if err != nil || len(dueB) != 1 {
		t.Fatalf("due in b: %d, %v", len(dueB), err)
	}
	if _, err := a.Broker.HandleDue(a.Ctx, dueA[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Broker.HandleDue(b.Ctx, dueB[0]); !drawbridge.IsStale(err) {
		t.Fatalf("the second process's notice: %v, want a stale write", err)
	}
	if n := len(noticeEvents(t, a, r.ID)); n != 1 {
		t.Fatalf("%d notices, want 1", n)
	}
}
