// Package storetest is the conformance suite of Drawbridge's stores: the
// behaviour every drawbridge.Backend must have (round trips, optimistic
// versions, the assignment claim and one-live-extension rules across
// processes, due ordering, listing filters and pages, the audit chain and
// the notifier cursors read from it, tokens, counts, readiness), written
// once against the interfaces. A store implementation runs all of it with
// one call from its own tests:
//
//	func TestConformance(t *testing.T) { storetest.Run(t, openMyStore) }
//
// What only one implementation has (SQLite's files, migrations, group
// commit, query plans, tampering through raw SQL) stays in that
// implementation's package. Only tests import this package.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
)

// Factory opens a new, empty store for one test: a new file for SQLite, a
// new database (or schema) for a server database, so tests never see each
// other's rows. The store stamps audit events that arrive without a time
// with now. Everything it opens is closed by t.Cleanup.
type Factory func(t testing.TB, now func() time.Time) Stores

// Stores is a store under test.
type Stores struct {
	drawbridge.Backend
	// Reopen opens another handle on the same store, as a second process
	// would (a CLI beside serve, another replica): its own connections or
	// pool, nothing shared in memory with the first handle, the same
	// clock. The suite's cross-process tests write through both at once,
	// so a rule kept only in one handle's memory fails them. Closed by
	// t.Cleanup.
	Reopen func(t testing.TB) drawbridge.Backend
	// Tamper runs SQL statements on the store's database directly, as
	// someone with write access to it would, failing the test on error.
	// A statement on a table the store does not have (SQLite has no
	// audit_head: it reads the head from audit_events) is skipped.
	Tamper func(t testing.TB, statements ...string)
}

// T0 is the time of the clock the suite gives every store, and the
// creation time of NewRequest's requests. It is not UTC, so a store that
// keeps the zone instead of normalising to UTC fails the round trips.
var T0 = time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))

// tests is the suite, in the order it runs; each gets a fresh store.
var tests = []struct {
	name string
	fn   func(t *testing.T, s Stores)
}{
	// Requests: round trips, checks, optimistic versions.
	{"RequestRoundTripsEveryField", testRequestRoundTripsEveryField},
	{"CreateRequestChecks", testCreateRequestChecks},
	{"GetRequestNotFound", testGetRequestNotFound},
	{"UpdateFromStaleVersionConflicts", testUpdateFromStaleVersionConflicts},
	{"RacingUpdatesExactlyOneWins", testRacingUpdatesExactlyOneWins},
	{"ConcurrentWritersAreIsolated", testConcurrentWritersAreIsolated},
	{"TwoHandlesShareTheChain", testTwoHandlesShareTheChain},
	// Store-level access rules, across handles.
	{"AssignmentClaimAcrossHandles", testAssignmentClaimAcrossHandles},
	{"AssignmentClaimRace", testAssignmentClaimRace},
	{"AssignmentGrants", testAssignmentGrants},
	{"AssignmentGrantsLiveOnly", testAssignmentGrantsLiveOnly},
	{"AssignmentHolders", testAssignmentHolders},
	{"LastEndedGrant", testLastEndedGrant},
	{"OneLiveExtensionPerGrantAcrossHandles", testOneLiveExtensionPerGrantAcrossHandles},
	{"OneLiveExtensionRace", testOneLiveExtensionRace},
	// Reading: filters, pages, due order.
	{"ListRequests", testListRequests},
	{"ListRequestsPaginates", testListRequestsPaginates},
	{"ListRequestsLimits", testListRequestsLimits},
	{"ListRequestsMatchAFullScan", testListRequestsMatchAFullScan},
	{"ListWindowsFollowIDTimes", testListWindowsFollowIDTimes},
	{"ExportRequestsFields", testExportRequestsFields},
	{"DueRequestsAndNextDue", testDueRequestsAndNextDue},
	// The audit chain.
	{"AppendAudit", testAppendAudit},
	{"ScanAuditStopsOnCallerError", testScanAuditStopsOnCallerError},
	{"AuditChainVerifiesAfterManyWrites", testAuditChainVerifiesAfterManyWrites},
	// Rows bound to the chain.
	{"EveryWriteRecordsTheState", testEveryWriteRecordsTheState},
	{"RowEditsAreDetected", testRowEditsAreDetected},
	// The Merkle log and the attacks a checkpoint catches.
	{"MerkleTreeFollowsTheLog", testMerkleTreeFollowsTheLog},
	{"MerkleTreeRebuiltForOlderEvents", testMerkleTreeRebuiltForOlderEvents},
	{"AttackDeleteTheLast50", testAttackDeleteTheLast50},
	{"AttackDeleteAll", testAttackDeleteAll},
	{"AttackEditAndRecompute", testAttackEditAndRecompute},
	{"AttackDuplicateKeyInDetails", testAttackDuplicateKeyInDetails},
	// Notifications: the pre-expiry notice's due time, the outbox, cursors.
	{"NoticeIsDueBeforeExpiry", testNoticeIsDueBeforeExpiry},
	{"AuditAfter", testAuditAfter},
	{"NotifyCursorLease", testNotifyCursorLease},
	{"NotifyCursorLeaseRace", testNotifyCursorLeaseRace},
	// Tokens, counts, readiness.
	{"TokenRoundTrip", testTokenRoundTrip},
	{"TokenChecks", testTokenChecks},
	{"ListTokensNewestFirst", testListTokensNewestFirst},
	{"RevokeToken", testRevokeToken},
	{"CountRequests", testCountRequests},
	{"CountRequestsFollowWrites", testCountRequestsFollowWrites},
	{"Ping", testPing},
	// Replay memory (Slack request signatures).
	{"ReplayGuard", testReplayGuard},
	{"ReplayGuardRace", testReplayGuardRace},
	// Named leases (the periodic jobs one replica runs).
	{"Leases", testLeases},
	{"LeaseRace", testLeaseRace},
	// Computed group memberships (managed groups).
	{"GroupMemberships", testGroupMemberships},
}

// Run runs the whole suite against the stores open makes, each test as a
// subtest of t (go test -run 'TestConformance/AssignmentClaimRace') on a
// store of its own.
func Run(t *testing.T, open Factory) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t, func() time.Time { return T0 }))
		})
	}
}

// NewRequest returns a pending request with the fields every store
// requires, created at T0.
func NewRequest(requester, resource, role string) *drawbridge.Request {
	return &drawbridge.Request{
		ID:               drawbridge.NewRequestID(),
		Requester:        requester,
		Entitlement:      drawbridge.Entitlement{Provider: "aws", Resource: resource, Role: role},
		Duration:         time.Hour,
		Reason:           "deploy",
		Channel:          drawbridge.ChannelCLI,
		State:            drawbridge.StatePendingApproval,
		CreatedAt:        T0,
		ApprovalDeadline: T0.Add(4 * time.Hour),
	}
}

// Create stores r with a submit event and fails the test on error.
func Create(t testing.TB, st drawbridge.Store, r *drawbridge.Request) *drawbridge.Request {
	t.Helper()
	ev := drawbridge.AuditEvent{Actor: r.Requester, Action: "submit", Details: map[string]string{"state": string(r.State)}}
	if err := st.CreateRequest(context.Background(), r, ev); err != nil {
		t.Fatal(err)
	}
	return r
}

// createAll creates rs from a few goroutines at once: a store that shares
// commits between concurrent writers (SQLite's group commit) fills up many
// times faster, which keeps the big tests quick under -race.
func createAll(t *testing.T, st drawbridge.Store, rs []*drawbridge.Request) {
	t.Helper()
	const writers = 8
	next := make(chan *drawbridge.Request)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				if err := st.CreateRequest(context.Background(), r, drawbridge.AuditEvent{Actor: r.Requester, Action: "submit"}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
feed:
	for _, r := range rs {
		select {
		case next <- r:
		case err := <-errs:
			errs <- err
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// Verify checks st's audit chain and fails the test if it cannot be read.
func Verify(t testing.TB, st drawbridge.Store) audit.Result {
	t.Helper()
	res, err := audit.Verify(context.Background(), st.ScanAudit)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func mustCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := drawbridge.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

func ids(rs []*drawbridge.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
