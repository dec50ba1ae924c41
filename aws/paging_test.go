package aws_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/clock"
)

// A list page may be empty and still carry a NextToken (Organizations'
// ListParents does this): every listing follows the token to the end.
func TestEveryListingFollowsEmptyPages(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	em, p := setupWith(t, emulator.Options{}, aws.Config{ResolveGroups: true, Now: clk.Now, MaxTPS: -1})
	seedOrg(t, em)
	empty := emulator.Fault{EmptyPage: true}
	for _, op := range []string{emulator.OpListParents, emulator.OpListTagsForResource} {
		em.Script(op, empty, empty)
	}
	cat := p.Catalog(staticCatalog(), aws.OrgOptions{})
	defer cat.Close()
	if err := cat.Check(paymentsProd, "ReadOnlyAccess"); err != nil {
		t.Fatalf("account behind empty ListParents pages: %v", err)
	}
	ous, tags := cat.ResourceAttrs(paymentsProd)
	if !slices.Equal(ous, []string{"ou-root-prod0000", "ou-root-payments"}) || tags["env"] != "prod" {
		t.Fatalf("OUs %v, tags %v", ous, tags)
	}

	if err := em.AddAssignment(account, "ReadOnlyAccess", uid("standing")); err != nil {
		t.Fatal(err)
	}
	em.Script(emulator.OpListAccountAssignments, empty, empty)
	if ok, err := p.Exists(context.Background(), assignment("ReadOnlyAccess", "standing")); err != nil || !ok {
		t.Fatalf("Exists behind empty pages = %v, %v", ok, err)
	}
	em.Script(emulator.OpListAccountAssignments, empty)
	if got, err := p.ListAssignments(context.Background(), []string{account}); err != nil || len(got) != 1 {
		t.Fatalf("ListAssignments behind an empty page = %v, %v", got, err)
	}

	if err := em.AddUser(uid("alice"), "alice", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := em.AddGroup(uid("g-eng"), "engineers"); err != nil {
		t.Fatal(err)
	}
	if err := em.AddMembership(uid("g-eng"), uid("alice")); err != nil {
		t.Fatal(err)
	}
	em.Script(emulator.OpListGroupMembershipsForMember, empty)
	if names, err := p.GroupNames(context.Background(), uid("alice")); err != nil || !slices.Equal(names, []string{"engineers"}) {
		t.Fatalf("GroupNames behind an empty page = %v, %v", names, err)
	}
}

// Organizations calls have a client-side rate limit of their own: a burst
// of account lookups stays under Organizations' quota instead of being
// answered TooManyRequestsException.
func TestOrganizationsCallsAreRateLimited(t *testing.T) {
	const tps = 50
	const accounts = 60
	em, p := setupWith(t, emulator.Options{OrgRateLimit: tps}, aws.Config{OrgMaxTPS: tps, MaxTPS: -1})
	for i := range accounts {
		if err := em.AddAccount(fmt.Sprintf("%012d", 500000000000+i), fmt.Sprintf("acct-%d", i), "", nil); err != nil {
			t.Fatal(err)
		}
	}
	cat := p.Catalog(staticCatalog(), aws.OrgOptions{})
	defer cat.Close()
	var wg sync.WaitGroup
	for i := range accounts {
		wg.Go(func() {
			if err := cat.Check(fmt.Sprintf("%012d", 500000000000+i), "ReadOnlyAccess"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Each throttled call is retried. A stray one is possible when a loaded
	// machine delivers calls the limiter spaced out all at once; without
	// the limiter most of the burst is throttled and lookups fail.
	if n := em.Calls(emulator.OpDescribeAccount); n > accounts+accounts/10 {
		t.Errorf("%d DescribeAccount calls for %d accounts: Organizations throttled the burst", n, accounts)
	}
}

// The Identity Store says how long to wait when it throttles
// (RetryAfterSeconds); the retry waits at least that long. A wait longer
// than a call should take is not waited out: the throttled error is
// returned (retryable) for the caller's own backoff.
func TestIdentityStoreRetryAfterSecondsIsHonoured(t *testing.T) {
	em, p := setupWith(t, emulator.Options{}, aws.Config{MaxTPS: -1})
	var waits []time.Duration
	aws.SetSleep(p, func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	})
	if err := em.AddUser(uid("alice"), "alice", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	em.Script(emulator.OpGetUserId, emulator.Fault{Code: "ThrottlingException", RetryAfterSeconds: 3})
	if id, err := p.UserID(context.Background(), "alice@example.com"); err != nil || id != uid("alice") {
		t.Fatalf("UserID after one throttled call = %q, %v", id, err)
	}
	if len(waits) != 1 || waits[0] < 3*time.Second {
		t.Fatalf("waited %v before the retry; want at least the 3 s the Identity Store asked for", waits)
	}

	waits = nil
	em.Script(emulator.OpGetUserId, emulator.Fault{Code: "ThrottlingException", RetryAfterSeconds: 600})
	_, err := p.UserID(context.Background(), "bob@example.com")
	if err == nil || drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "ThrottlingException") {
		t.Fatalf("UserID throttled for 10 minutes: %v; want the retryable throttling error", err)
	}
	if len(waits) != 0 || em.Calls(emulator.OpGetUserId) != 3 {
		t.Fatalf("waited %v and sent %d calls; want no wait and no retry", waits, em.Calls(emulator.OpGetUserId))
	}
	// The pause is not lost: the error carries it for the broker's backoff.
	if d, ok := drawbridge.RetryAfterHint(err); !ok || d != 10*time.Minute {
		t.Fatalf("the throttled error carries retry-after %v (%v); want the 10 minutes the Identity Store asked for", d, ok)
	}
}
