package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/metrics"
)

// bare is a provider with no optional capability (a webhook); the types
// below add one capability each, and calls records what was forwarded.
type bare struct{ calls *[]string }

func (bare) Name() string { return "hooks" }
func (bare) PrincipalRef(_ context.Context, p *drawbridge.Principal) (string, error) {
	return p.ID, nil
}
func (b bare) Grant(context.Context, drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	*b.calls = append(*b.calls, "grant")
	return drawbridge.GrantResult{}, nil
}
func (b bare) Revoke(context.Context, drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	*b.calls = append(*b.calls, "revoke")
	return drawbridge.RevokeResult{}, nil
}

type withExists struct{ bare }

func (p withExists) Exists(context.Context, drawbridge.Assignment) (bool, error) {
	*p.calls = append(*p.calls, "exists")
	return true, nil
}

type withList struct{ bare }

func (p withList) ListAssignments(context.Context, []string) ([]drawbridge.Assignment, error) {
	*p.calls = append(*p.calls, "list")
	return nil, nil
}

type withDater struct{ bare }

func (p withDater) AssignmentCreatedAt(context.Context, drawbridge.Assignment) (time.Time, bool, error) {
	*p.calls = append(*p.calls, "created_at")
	return time.Time{}, false, nil
}

type withSessions struct{ bare }

func (p withSessions) EndSessions(context.Context, drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	*p.calls = append(*p.calls, "end_sessions")
	return drawbridge.RevokeResult{}, nil
}

type withExtend struct{ bare }

func (p withExtend) Extend(context.Context, drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	*p.calls = append(*p.calls, "extend")
	return drawbridge.GrantResult{}, nil
}

// awsLike can check existence and list, like the AWS provider.
type awsLike struct {
	withExists
	withList
}

func (p awsLike) Name() string { return "aws" }
func (p awsLike) PrincipalRef(ctx context.Context, who *drawbridge.Principal) (string, error) {
	return p.withExists.PrincipalRef(ctx, who)
}
func (p awsLike) Grant(ctx context.Context, s drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	return p.withExists.Grant(ctx, s)
}
func (p awsLike) Revoke(ctx context.Context, s drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	return p.withExists.Revoke(ctx, s)
}

// everything has every capability.
type everything struct {
	awsLike
	withDater
	withSessions
	withExtend
}

func (p everything) Name() string { return "all" }
func (p everything) PrincipalRef(ctx context.Context, who *drawbridge.Principal) (string, error) {
	return p.awsLike.PrincipalRef(ctx, who)
}
func (p everything) Grant(ctx context.Context, s drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	return p.awsLike.Grant(ctx, s)
}
func (p everything) Revoke(ctx context.Context, s drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	return p.awsLike.Revoke(ctx, s)
}

// capabilities calls every capability p has and returns their names.
func capabilities(t *testing.T, p drawbridge.Provider) []string {
	t.Helper()
	ctx := context.Background()
	var has []string
	if c, ok := p.(drawbridge.ExistenceChecker); ok {
		has = append(has, "exists")
		if _, err := c.Exists(ctx, drawbridge.Assignment{}); err != nil {
			t.Fatal(err)
		}
	}
	if c, ok := p.(drawbridge.AssignmentLister); ok {
		has = append(has, "list")
		if _, err := c.ListAssignments(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if c, ok := p.(drawbridge.AssignmentDater); ok {
		has = append(has, "created_at")
		if _, _, err := c.AssignmentCreatedAt(ctx, drawbridge.Assignment{}); err != nil {
			t.Fatal(err)
		}
	}
	if c, ok := p.(drawbridge.SessionEnder); ok {
		has = append(has, "end_sessions")
		if _, err := c.EndSessions(ctx, drawbridge.RevokeSpec{}); err != nil {
			t.Fatal(err)
		}
	}
	if c, ok := p.(drawbridge.Extender); ok {
		has = append(has, "extend")
		if _, err := c.Extend(ctx, drawbridge.GrantSpec{}); err != nil {
			t.Fatal(err)
		}
	}
	return has
}

// The metrics decorator has exactly the capabilities of the provider it
// wraps: none claimed that the provider lacks (a webhook cannot list or
// check existence; today's decorator pretended every provider could list),
// none hidden, and each call reaches the provider and is timed.
func TestDecoratorForwardsExactlyTheProvidersCapabilities(t *testing.T) {
	for _, mk := range []func(b bare) drawbridge.Provider{
		func(b bare) drawbridge.Provider { return b },
		func(b bare) drawbridge.Provider { return withExists{b} },
		func(b bare) drawbridge.Provider { return withList{b} },
		func(b bare) drawbridge.Provider { return withDater{b} },
		func(b bare) drawbridge.Provider { return withSessions{b} },
		func(b bare) drawbridge.Provider { return withExtend{b} },
		func(b bare) drawbridge.Provider { return awsLike{withExists{b}, withList{b}} },
		func(b bare) drawbridge.Provider {
			return everything{awsLike{withExists{b}, withList{b}}, withDater{b}, withSessions{b}, withExtend{b}}
		},
	} {
		var direct, decorated []string
		p := mk(bare{calls: &direct})
		want := capabilities(t, p)
		m := metrics.New(nil, nil)
		d := m.Provider(mk(bare{calls: &decorated}))
		got := capabilities(t, d)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%T: the decorated provider has capabilities [%s]; the provider it wraps has [%s]",
				p, strings.Join(got, ","), strings.Join(want, ","))
		}
		if strings.Join(decorated, ",") != strings.Join(direct, ",") {
			t.Errorf("%T: calls through the decorator reached [%s], want [%s]", p, strings.Join(decorated, ","), strings.Join(direct, ","))
		}
		out := scrape(t, m)
		for _, op := range want {
			if !strings.Contains(out, `op="`+op+`"`) {
				t.Errorf("%T: %s calls are not timed", p, op)
			}
		}
	}
}

// pending answers "accepted, look again later".
type pending struct{ bare }

func (pending) Grant(context.Context, drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	return drawbridge.GrantResult{}, drawbridge.Pending("activation in progress", time.Now().Add(time.Minute))
}

// A provider's "pending" answer is not an error: it is timed, never
// counted among the provider's failed calls (an alert on errors would
// otherwise fire for every slow activation).
func TestPendingIsNoProviderError(t *testing.T) {
	m := metrics.New(nil, nil)
	var calls []string
	p := m.Provider(pending{bare{calls: &calls}})
	if _, err := p.Grant(context.Background(), drawbridge.GrantSpec{}); drawbridge.AsPending(err) == nil {
		t.Fatalf("grant: %v", err)
	}
	out := scrape(t, m)
	if !strings.Contains(out, `drawbridge_provider_call_duration_seconds_count{op="grant",provider="hooks"} 1`) {
		t.Errorf("the pending call is not timed:\n%s", out)
	}
	if strings.Contains(out, `drawbridge_provider_call_errors_total{op="grant"`) {
		t.Errorf("a pending answer was counted as a provider error")
	}
}
