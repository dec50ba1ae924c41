package broker_test

// Tests of the provider contract as the core uses it (drawbridge.Provider):
// what a provider is told (GrantSpec, RevokeSpec), what it may answer
// (pending, retry-after hints, details and references), and what the core
// does for providers that lack an optional capability.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// hook is a provider with no optional capability, as a webhook is. It
// records what it was told; answers, when set, scripts its replies.
type hook struct {
	mu      sync.Mutex
	grants  []drawbridge.GrantSpec
	revokes []drawbridge.RevokeSpec
	// grantErr and revokeErr answer the next calls, in order; an empty
	// list means success. pending, when set, answers Grant first, for as
	// many calls as it returns an error.
	grantErr, revokeErr []error
	pending             func() error
}

func (h *hook) Name() string { return "aws" }
func (h *hook) PrincipalRef(_ context.Context, p *drawbridge.Principal) (string, error) {
	return p.ID, nil
}

func (h *hook) Grant(_ context.Context, s drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.grants = append(h.grants, s)
	if h.pending != nil {
		if err := h.pending(); err != nil {
			return drawbridge.GrantResult{}, err
		}
	}
	if len(h.grantErr) > 0 {
		err := h.grantErr[0]
		h.grantErr = h.grantErr[1:]
		return drawbridge.GrantResult{}, err
	}
	return drawbridge.GrantResult{GrantRef: "receipt-" + s.RequestID, Details: map[string]string{"status": "200", "to": "forged"}}, nil
}

func (h *hook) Revoke(_ context.Context, s drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.revokes = append(h.revokes, s)
	if len(h.revokeErr) > 0 {
		err := h.revokeErr[0]
		h.revokeErr = h.revokeErr[1:]
		return drawbridge.RevokeResult{}, err
	}
	return drawbridge.RevokeResult{Details: map[string]string{"status": "204"}}, nil
}

func (h *hook) calls() (grants, revokes int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.grants), len(h.revokes)
}

func eventOf(t *testing.T, e *testenv.Env, id, action string) map[string]string {
	t.Helper()
	evs, err := e.Store.RequestEvents(e.Ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Action == action {
			return evs[i].Details
		}
	}
	t.Fatalf("%s has no %s event (%v)", id, action, e.Actions(t, id))
	return nil
}

// The provider is told the request it serves: its id (the idempotency
// key), the person with their identities, the end computed before the call
// (and recorded as the request's expiry), reason and ticket. What it
// answers — its grant reference and details — is kept: the reference on
// the request and in the audit trail, the details prefixed so they cannot
// pass for the core's own keys.
func TestGrantSpecAndResult(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	h := &hook{}
	useProvider(e, h)
	r, err := e.Broker.Submit(e.Ctx, submitInput(alice, "INC-7"), op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, drawbridge.StateActive)
	s := h.grants[0]
	if s.RequestID != r.ID || s.Principal == nil || s.Principal.ID != alice || s.Principal.Identity(drawbridge.IdentitySlack) == "" ||
		s.Reason != "contract" || s.Ticket != "INC-7" || s.Assignment.PrincipalRef != alice || s.Assignment.Entitlement != r.Entitlement {
		t.Errorf("grant spec %+v does not describe %s", s, r.ID)
	}
	if !s.Until.Equal(r.ExpiresAt) || !s.Until.Equal(r.ProvisionStartedAt.Add(time.Hour)) {
		t.Errorf("provider told the grant ends %v; the request expires %v", s.Until, r.ExpiresAt)
	}
	got := e.Get(t, r.ID)
	if got.GrantRef != "receipt-"+r.ID || got.PrincipalRef != alice {
		t.Errorf("stored grant ref %q principal ref %q", got.GrantRef, got.PrincipalRef)
	}
	d := eventOf(t, e, r.ID, string(drawbridge.EventActivate))
	if d["grant_ref"] != "receipt-"+r.ID || d["provider_status"] != "200" || d["to"] != string(drawbridge.StateActive) || d["provider_to"] != "forged" {
		t.Errorf("activate event details %v", d)
	}

	if _, err := e.Broker.Revoke(e.Ctx, r.ID, "done early", op); err != nil {
		t.Fatal(err)
	}
	v := h.revokes[0]
	if v.RequestID != r.ID || v.GrantRef != "receipt-"+r.ID || v.Requester != alice || v.Reason != "done early" ||
		!v.Until.Equal(r.ExpiresAt) || v.Assignment != s.Assignment {
		t.Errorf("revoke spec %+v does not describe %s", v, r.ID)
	}
	if d := eventOf(t, e, r.ID, string(drawbridge.EventConfirmRevoked)); d["provider_status"] != "204" {
		t.Errorf("confirm event details %v", d)
	}
}

func submitInput(who, ticket string) broker.SubmitInput {
	return broker.SubmitInput{Requester: who, Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: staging, Role: readOnly},
		Duration: time.Hour, Reason: "contract", Ticket: ticket}
}

// A provider that cannot check existence (a webhook) is never credited with
// standing access: each grant is taken for the assignment's own create,
// overlapping grants still share it, and the last one to end removes it.
func TestWithoutExistenceCheckNothingIsStanding(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	h := &hook{}
	useProvider(e, h)
	a := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	b := e.Submit(t, alice, staging, readOnly, 2*time.Hour, "")
	for _, r := range []*drawbridge.Request{a, b} {
		wantState(t, r, drawbridge.StateActive)
		if r.AssignmentFound || r.PreexistingAccess {
			t.Errorf("%s: found %v standing %v; the provider cannot say", r.ID, r.AssignmentFound, r.PreexistingAccess)
		}
		if d := provisionEvent(t, e, r.ID); !strings.Contains(d["standing"], "cannot check") {
			t.Errorf("%s: provision event does not say why nothing is standing: %v", r.ID, d)
		}
	}
	if _, err := e.Broker.Revoke(e.Ctx, a.ID, "", op); err != nil {
		t.Fatal(err)
	}
	if _, revokes := h.calls(); revokes != 0 {
		t.Fatalf("the provider was told to revoke while %s still needs the assignment", b.ID)
	}
	if _, err := e.Broker.Revoke(e.Ctx, b.ID, "", op); err != nil {
		t.Fatal(err)
	}
	if _, revokes := h.calls(); revokes != 1 || h.revokes[0].RequestID != b.ID {
		t.Fatalf("revocations sent: %+v; want one, for the last grant %s", h.revokes, b.ID)
	}
}

// "Pending — look again at T" is not a failed attempt: a slow provider
// (Entra PIM takes minutes) answering it more times than the attempt
// budget never makes the core give up, the next look is at T, and expiry
// still counts from when the provider was first asked.
func TestPendingIsNotAFailedAttempt(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Broker.RetryCap = 10 * time.Minute
	h := &hook{}
	useProvider(e, h)
	answers := e.Broker.MaxProvisionAttempts + 2
	h.pending = func() error {
		if answers == 0 {
			return nil
		}
		answers--
		return drawbridge.Pending("schedule provisioned, activation in progress", e.Clock.Now().Add(3*time.Minute))
	}
	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	start := r.ProvisionStartedAt
	for i := 0; i < 20 && r.State == drawbridge.StateProvisioning; i++ {
		got := e.Get(t, r.ID)
		if got.ProvisionAttempts != 0 || !got.NextAttemptAt.After(e.Clock.Now().Add(time.Minute)) {
			t.Fatalf("after a pending answer: %d attempts counted, next look at %v (now %v)", got.ProvisionAttempts, got.NextAttemptAt, e.Clock.Now())
		}
		grants, _ := h.calls()
		e.Clock.Advance(time.Minute) // not due yet: the provider is not asked
		e.HandleDue(t)
		if g, _ := h.calls(); g != grants {
			t.Fatalf("the provider was asked again before the time it gave")
		}
		e.Clock.Advance(3 * time.Minute)
		e.HandleDue(t)
		r = e.Get(t, r.ID)
	}
	wantState(t, r, drawbridge.StateActive)
	if !r.ProvisionStartedAt.Equal(start) || !r.ExpiresAt.Equal(start.Add(time.Hour)) {
		t.Errorf("expiry %v counts from %v; want from the first ask %v", r.ExpiresAt, r.ProvisionStartedAt, start)
	}
	actions := strings.Join(e.Actions(t, r.ID), ",")
	if strings.Contains(actions, drawbridge.ActionProvisionAttemptFailed) || strings.Count(actions, drawbridge.ActionProvisionPending) != e.Broker.MaxProvisionAttempts+2 {
		t.Errorf("audit actions %s: want every pending answer recorded as such, none as a failure", actions)
	}
	for _, s := range h.grants {
		if s.RequestID != r.ID || !s.Until.Equal(r.ExpiresAt) {
			t.Errorf("a look again sent %+v; want the same spec (the request id is the idempotency key)", s)
		}
	}

	// The same for a removal.
	h.revokeErr = []error{drawbridge.Pending("removal scheduled", e.Clock.Now().Add(2*time.Minute))}
	r, err := e.Broker.Revoke(e.Ctx, r.ID, "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, drawbridge.StateRevoking)
	if r.RevokeAttempts != 0 || r.LastError != "" {
		t.Errorf("pending removal counted as failed: %d attempts, last error %q", r.RevokeAttempts, r.LastError)
	}
	e.Clock.Advance(2 * time.Minute)
	e.HandleDue(t)
	wantState(t, e.Get(t, r.ID), drawbridge.StateRevoked)
}

// A provider's retry-after hint (HTTP 429 Retry-After) is honoured by the
// backoff, up to the backoff's cap: a provider cannot postpone a
// revocation beyond the retry schedule the operator configured.
func TestRetryAfterHintIsHonoured(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Broker.RetryBase, e.Broker.RetryCap = time.Second, 5*time.Minute
	h := &hook{grantErr: []error{drawbridge.RetryAfter(errors.New("429 Too Many Requests"), 2*time.Minute)}}
	useProvider(e, h)
	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	wantState(t, r, drawbridge.StateProvisioning)
	if wait := r.NextAttemptAt.Sub(e.Clock.Now()); wait < 2*time.Minute {
		t.Errorf("next attempt in %v; the provider asked for 2m", wait)
	}
	if d := eventOf(t, e, r.ID, drawbridge.ActionProvisionAttemptFailed); d["retry_after"] != "2m0s" {
		t.Errorf("failed attempt event %v does not record the hint", d)
	}
	e.Clock.Advance(2 * time.Minute)
	e.HandleDue(t)
	wantState(t, e.Get(t, r.ID), drawbridge.StateActive)

	h.revokeErr = []error{drawbridge.RetryAfter(errors.New("429 Too Many Requests"), 24*time.Hour)}
	r, err := e.Broker.Revoke(e.Ctx, r.ID, "", op)
	if err != nil {
		t.Fatal(err)
	}
	if wait := r.NextAttemptAt.Sub(e.Clock.Now()); wait != 5*time.Minute {
		t.Errorf("a revocation told to wait a day waits %v; want the backoff's cap, 5m", wait)
	}
}

// extender is a provider that can move the end of a grant it holds.
type extender struct {
	hook
	extended []drawbridge.GrantSpec
}

func (x *extender) Extend(_ context.Context, s drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	x.extended = append(x.extended, s)
	return drawbridge.GrantResult{GrantRef: "moved-" + s.ExtendsRef}, nil
}

// When an extension becomes ACTIVE on the assignment it shares with its
// grant, the provider is told the later end — through Extend when it has
// it, else through Grant — so a provider that expires access natively
// (Entra PIM, a webhook receiver honouring expires_at) never cuts the
// extended grant short.
func TestExtensionTellsTheProviderTheLaterEnd(t *testing.T) {
	for _, withExtend := range []bool{false, true} {
		t.Run(map[bool]string{false: "grant", true: "extend"}[withExtend], func(t *testing.T) {
			e := testenv.New(t, testenv.Options{})
			x := &extender{}
			if withExtend {
				useProvider(e, x)
			} else {
				useProvider(e, &x.hook)
			}
			parent := e.Submit(t, alice, staging, readOnly, time.Hour, "")
			e.Clock.Advance(30 * time.Minute)
			ext, err := e.Broker.Extend(e.Ctx, parent.ID, time.Hour, "", "", op)
			if err != nil {
				t.Fatal(err)
			}
			wantState(t, ext, drawbridge.StateActive)
			told := x.hook.grants
			if withExtend {
				told = x.extended
			}
			if len(told) == 0 {
				t.Fatal("the provider was not told about the extension")
			}
			s := told[len(told)-1]
			if s.RequestID != ext.ID || s.Extends != parent.ID || s.ExtendsRef != "receipt-"+parent.ID {
				t.Errorf("extension spec %+v does not name the grant it extends", s)
			}
			if want := parent.ExpiresAt.Add(time.Hour); !s.Until.Equal(want) || !ext.ExpiresAt.Equal(want) {
				t.Errorf("provider told %v, extension expires %v; want both at the later end %v", s.Until, ext.ExpiresAt, want)
			}
			if withExtend && (len(x.hook.grants) != 1 || ext.GrantRef != "moved-receipt-"+parent.ID) {
				t.Errorf("with Extend, Grant was called %d times and the grant ref is %q", len(x.hook.grants), ext.GrantRef)
			}
		})
	}
}

// sessionEnder can end the live sessions of an assignment it removed.
type sessionEnder struct {
	hook
	fail  int
	ended []string
}

func (s *sessionEnder) EndSessions(_ context.Context, spec drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.revokes) == 0 {
		return drawbridge.RevokeResult{}, errors.New("asked to end sessions before the removal was confirmed")
	}
	if s.fail > 0 {
		s.fail--
		return drawbridge.RevokeResult{}, errors.New("session service unavailable")
	}
	s.ended = append(s.ended, spec.RequestID)
	return drawbridge.RevokeResult{Details: map[string]string{"sessions_ended": "2"}}, nil
}

// Live sessions are ended only after the provider confirmed the removal,
// and a failure to end them keeps the grant REVOKING and retried.
func TestSessionsEndAfterTheRemoval(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	s := &sessionEnder{fail: 1}
	useProvider(e, s)
	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	r, err := e.Broker.Revoke(e.Ctx, r.ID, "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, drawbridge.StateRevoking)
	if !strings.Contains(r.LastError, "session service unavailable") || r.RevokeAttempts != 1 {
		t.Errorf("last error %q, %d attempts", r.LastError, r.RevokeAttempts)
	}
	e.Clock.Advance(time.Minute)
	e.HandleDue(t)
	wantState(t, e.Get(t, r.ID), drawbridge.StateRevoked)
	if len(s.ended) != 1 {
		t.Fatalf("sessions ended %v", s.ended)
	}
	if d := eventOf(t, e, r.ID, string(drawbridge.EventConfirmRevoked)); d["provider_sessions_ended"] != "2" {
		t.Errorf("confirm event %v does not record the sessions ended", d)
	}
}

// checker is a hook that can check existence, answering with err.
type checker struct {
	hook
	err error
}

func (c *checker) Exists(context.Context, drawbridge.Assignment) (bool, error) { return false, c.err }

// A permanent answer to the existence check (the provider says the
// permission to read assignments is missing) ends the grant FAILED at once
// with the provider's message, as a permanent answer to Grant does; it is
// not retried until the attempt budget runs out. A retryable one is.
func TestPermanentExistenceCheckFails(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	c := &checker{err: drawbridge.Permanent(errors.New("Graph answered 403: the app lacks PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"))}
	useProvider(e, c)
	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	if r.State != drawbridge.StateFailed || !strings.Contains(r.LastError, "PrivilegedAssignmentSchedule") {
		t.Fatalf("state %s, last error %q; want FAILED naming the missing permission", r.State, r.LastError)
	}
	if g, _ := c.calls(); g != 0 {
		t.Fatalf("the provider was asked to grant %d times after a permanent existence-check answer", g)
	}

	c.err = errors.New("connection reset")
	r = e.Submit(t, bob, staging, readOnly, time.Hour, "")
	if r.State == drawbridge.StateFailed {
		t.Fatalf("a retryable existence-check error failed the grant: %q", r.LastError)
	}
}

// otherEnder ends sessions for another provider (end_sessions): it is not
// the provider that granted, and checks that provider's removal first.
type otherEnder struct {
	hook
	granting *hook
	fail     int
	ended    []drawbridge.RevokeSpec
}

func (o *otherEnder) Name() string { return "boundary" }

func (o *otherEnder) EndSessions(_ context.Context, spec drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	o.granting.mu.Lock()
	removed := len(o.granting.revokes) > 0 && len(o.granting.revokeErr) == 0
	o.granting.mu.Unlock()
	if !removed {
		return drawbridge.RevokeResult{}, errors.New("asked to end sessions before the granting provider confirmed the removal")
	}
	if o.fail > 0 {
		o.fail--
		return drawbridge.RevokeResult{}, errors.New("429 Too many requests")
	}
	o.ended = append(o.ended, spec)
	return drawbridge.RevokeResult{Details: map[string]string{"sessions_ended": "s_1234567890"}}, nil
}

// A provider named in another's end_sessions ends the person's sessions
// only after that provider confirmed the removal; a failed removal never
// reaches it, and its own failure keeps the grant REVOKING and retried.
func TestEndSessionsByAnotherProviderAfterTheRemoval(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	granting := &hook{revokeErr: []error{errors.New("Graph answered 503")}}
	ender := &otherEnder{granting: granting, fail: 1}
	e.Broker.Providers = map[string]drawbridge.Provider{"aws": granting, "boundary": ender}
	e.Broker.EndSessionsBy = map[string][]string{"aws": {"boundary"}}
	r := e.Submit(t, alice, staging, readOnly, time.Hour, "")
	r, err := e.Broker.Revoke(e.Ctx, r.ID, "", op)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, drawbridge.StateRevoking)
	if !strings.Contains(r.LastError, "Graph answered 503") || len(ender.ended) != 0 {
		t.Fatalf("after a failed removal: last error %q, sessions ended for %d", r.LastError, len(ender.ended))
	}
	e.Clock.Advance(time.Minute)
	e.HandleDue(t)
	r = e.Get(t, r.ID)
	wantState(t, r, drawbridge.StateRevoking)
	if !strings.Contains(r.LastError, "boundary could not end its live sessions: 429 Too many requests") {
		t.Fatalf("last error %q", r.LastError)
	}
	e.Clock.Advance(time.Minute)
	e.HandleDue(t)
	wantState(t, e.Get(t, r.ID), drawbridge.StateRevoked)
	if len(ender.ended) != 1 || ender.ended[0].Requester != r.Requester || ender.ended[0].Assignment.Provider != "aws" {
		t.Fatalf("sessions ended for %+v", ender.ended)
	}
	if d := eventOf(t, e, r.ID, string(drawbridge.EventConfirmRevoked)); d["provider_boundary_sessions_ended"] != "s_1234567890" {
		t.Errorf("confirm event %v does not record the sessions the other provider ended", d)
	}
}
