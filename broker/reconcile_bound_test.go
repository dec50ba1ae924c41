package broker_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/internal/testenv"
)

// liveRows is a store that counts how many of the rows it returned are
// still reachable, with weak pointers checked after a full collection
// before every read: the peak is how many rows the caller held at once.
type liveRows struct {
	drawbridge.Store
	mu    sync.Mutex
	held  []func() int // rows still reachable through one result
	peak  int
	reads int
}

func (s *liveRows) sample() {
	runtime.GC()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	n := 0
	for _, alive := range s.held {
		n += alive()
	}
	s.peak = max(s.peak, n)
}

func (s *liveRows) track(rs []*drawbridge.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		w := weak.Make(r)
		s.held = append(s.held, func() int {
			if w.Value() == nil {
				return 0
			}
			return 1
		})
	}
}

func (s *liveRows) ListRequests(ctx context.Context, f drawbridge.RequestFilter) ([]*drawbridge.Request, error) {
	s.sample()
	rs, err := s.Store.ListRequests(ctx, f)
	s.track(rs)
	return rs, err
}

func (s *liveRows) AssignmentGrants(ctx context.Context, a drawbridge.Assignment, since time.Time) ([]*drawbridge.Request, error) {
	s.sample()
	rs, err := s.Store.AssignmentGrants(ctx, a, since)
	s.track(rs)
	return rs, err
}

func (s *liveRows) AssignmentHolders(ctx context.Context, provider, resource string, after drawbridge.AssignmentHolder, limit int) ([]drawbridge.AssignmentHolder, error) {
	s.sample()
	hs, err := s.Store.AssignmentHolders(ctx, provider, resource, after, limit)
	if len(hs) > 0 {
		// One weak pointer to the page's array: the rows live and die with it.
		w, n := weak.Make(&hs[0]), len(hs)
		s.mu.Lock()
		s.held = append(s.held, func() int {
			if w.Value() == nil {
				return 0
			}
			return n
		})
		s.mu.Unlock()
	}
	return hs, err
}

func (s *liveRows) LastEndedGrant(ctx context.Context, a drawbridge.Assignment) (*drawbridge.Request, error) {
	s.sample()
	r, err := s.Store.LastEndedGrant(ctx, a)
	if r != nil {
		s.track([]*drawbridge.Request{r})
	}
	return r, err
}

// listingWidth records the most resources one ListAssignments call asked
// about: the provider's answer is held in memory, so it must be one
// resource's assignments, not every resource's at once.
type listingWidth struct {
	drawbridge.Provider
	widest int
}

func (p *listingWidth) ListAssignments(ctx context.Context, resources []string) ([]drawbridge.Assignment, error) {
	p.widest = max(p.widest, len(resources))
	return p.Provider.(drawbridge.AssignmentLister).ListAssignments(ctx, resources)
}

// Reconciliation holds a bounded number of grants at once, however many are
// ACTIVE: it used to load every live grant and every recorded standing
// access as full requests (1.4 GB at a million grants). 3,000 ACTIVE grants
// with their assignments, plus one of each drift: the findings are exact and
// the peak of rows held stays within two store batches.
func TestReconcileHoldsABoundedNumberOfGrants(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	const n = 3000
	accounts := []string{testenv.Staging, testenv.Prod}
	roles := e.Provider.PermissionSetNames()
	var rs []*drawbridge.Request
	for i := range n + 1 {
		principal := fmt.Sprintf("9067e8a1b2-a1b2c3d4-0000-4000-8000-%012d", i)
		r := &drawbridge.Request{ID: drawbridge.NewRequestID(), Requester: fmt.Sprintf("user%d@example.com", i),
			Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: accounts[i%len(accounts)], Role: roles[i%len(roles)]},
			Duration:    time.Hour, Reason: "load", Channel: drawbridge.ChannelCLI, State: drawbridge.StateActive,
			CreatedAt: e.Clock.Now(), PrincipalRef: principal, ProvisionStartedAt: e.Clock.Now(),
			ActivatedAt: e.Clock.Now(), ExpiresAt: e.Clock.Now().Add(time.Hour)}
		rs = append(rs, r)
		if i == n {
			break // the last grant's assignment is missing
		}
		if err := e.Emu.AddAssignment(r.Resource, r.Role, principal); err != nil {
			t.Fatal(err)
		}
	}
	createConcurrently(t, e.Store, rs)
	if err := e.Emu.AddAssignment(testenv.Prod, roles[0], outsider); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Minute)

	store := &liveRows{Store: e.Store}
	prov := &listingWidth{Provider: e.Broker.Providers["aws"]}
	e.Broker.Store, e.Broker.Providers["aws"] = store, prov
	rep, err := e.Broker.Reconcile(e.Ctx, false, testenv.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Grants != n+1 || rep.Assignments != n+1 {
		t.Errorf("checked %d grants and %d assignments, want %d and %d", rep.Grants, rep.Assignments, n+1, n+1)
	}
	if miss := findings(rep, broker.DriftMissing); len(miss) != 1 || miss[0].RequestID != rs[n].ID {
		t.Errorf("missing = %+v, want %s", miss, rs[n].ID)
	}
	if un := findings(rep, broker.DriftUnmanaged); len(un) != 1 || un[0].Assignment.PrincipalRef != outsider {
		t.Errorf("unmanaged = %+v, want the outsider", un)
	}
	if len(rep.Findings) != 2 {
		t.Errorf("%d findings, want 2: %+v", len(rep.Findings), rep.Findings)
	}
	const bound = 2 * 500
	t.Logf("peak %d grants held over %d store reads", store.peak, store.reads)
	if store.peak > bound {
		t.Errorf("reconcile held %d grants at once over %d store reads; want at most %d (two batches) whatever the number of grants", store.peak, store.reads, bound)
	}
	if prov.widest > 1 {
		t.Errorf("reconcile listed %d resources' assignments in one call; want one resource at a time", prov.widest)
	}
}

// createConcurrently writes rs from a few goroutines, so SQLite's group
// commit shares the fsyncs and thousands of rows take a second.
func createConcurrently(t *testing.T, st drawbridge.Store, rs []*drawbridge.Request) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(rs))
	next := make(chan *drawbridge.Request)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				if err := st.CreateRequest(context.Background(), r, drawbridge.AuditEvent{Actor: r.Requester, Action: "submit"}); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, r := range rs {
		next <- r
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
