package aws_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

const account = "123456789012"

// setup starts the emulator on loopback and a provider pointed at it.
func setup(t *testing.T, delay time.Duration) (*emulator.Server, *aws.Provider) {
	t.Helper()
	opts := emulator.SandboxOptions()
	opts.Delay = delay
	em, err := emulator.Start("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	p, err := aws.New(context.Background(), aws.Config{
		InstanceARN:     em.InstanceARN(),
		IdentityStoreID: em.IdentityStoreID(),
		PermissionSets:  em.PermissionSetARNs(),
		Endpoint:        em.URL(),
		PollInterval:    2 * time.Millisecond,
		MaxTPS:          -1, // quota_test.go covers the limiter
	})
	if err != nil {
		t.Fatal(err)
	}
	return em, p
}

// assignment is the test user called name's assignment of role in account.
func assignment(role, name string) drawbridge.Assignment {
	return drawbridge.Assignment{Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: account, Role: role}, PrincipalRef: uid(name)}
}

// uid is the Identity Store user (or group) id the tests give the one
// called name: AWS's format — ten hex digits, a dash, a UUID — with name's
// bytes as the UUID's hex digits, so that ids sort as the names do.
func uid(name string) string {
	if len(name) > 16 {
		panic("uid: name longer than 16 bytes: " + name)
	}
	h := hex.EncodeToString([]byte(name)) + strings.Repeat("0", 32-2*len(name))
	return "9067e8a1b2-" + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func TestGrantExistsRevoke(t *testing.T) {
	em, p := setup(t, 10*time.Millisecond)
	ctx := context.Background()
	a := assignment("ReadOnlyAccess", "9067-user")

	if ok, err := p.Exists(ctx, a); err != nil || ok {
		t.Fatalf("Exists before grant = %v, %v", ok, err)
	}
	if err := grant(ctx, p, a); err != nil {
		t.Fatal(err)
	}
	if !em.HasAssignment(account, "ReadOnlyAccess", uid("9067-user")) {
		t.Fatal("Grant returned before the assignment existed")
	}
	if em.Calls(emulator.OpDescribeAccountAssignmentCreationStatus) == 0 {
		t.Error("Grant did not poll the creation status")
	}
	if ok, err := p.Exists(ctx, a); err != nil || !ok {
		t.Fatalf("Exists after grant = %v, %v", ok, err)
	}
	// Idempotent, as in AWS.
	if err := grant(ctx, p, a); err != nil {
		t.Fatalf("second grant: %v", err)
	}
	if err := revoke(ctx, p, a); err != nil {
		t.Fatal(err)
	}
	if em.HasAssignment(account, "ReadOnlyAccess", uid("9067-user")) {
		t.Fatal("Revoke returned before the assignment was gone")
	}
	if ok, err := p.Exists(ctx, a); err != nil || ok {
		t.Fatalf("Exists after revoke = %v, %v", ok, err)
	}
	if err := revoke(ctx, p, a); err != nil {
		t.Fatalf("revoking a missing assignment: %v", err)
	}
}

// Exists asks about the one principal in the one account
// (ListAccountAssignmentsForPrincipal with the account filter), so its cost
// does not grow with the assignments others hold: 250 others used to mean
// three pages of ListAccountAssignments, against AWS's 20 calls/s.
func TestExistsAsksAboutOnePrincipal(t *testing.T) {
	em, p := setup(t, 0)
	for i := range 250 {
		if err := em.AddAssignment(account, "PowerUserAccess", uid(fmt.Sprintf("a-%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := em.AddAssignment(account, "PowerUserAccess", uid("zz-standing")); err != nil {
		t.Fatal(err)
	}
	ok, err := p.Exists(context.Background(), assignment("PowerUserAccess", "zz-standing"))
	if err != nil || !ok {
		t.Fatalf("Exists = %v, %v; want true", ok, err)
	}
	if n, m := em.Calls(emulator.OpListAccountAssignments), em.Calls(emulator.OpListAccountAssignmentsForPrincipal); n != 0 || m != 1 {
		t.Errorf("%d ListAccountAssignments and %d ListAccountAssignmentsForPrincipal calls, want 0 and 1", n, m)
	}
	// The same user in another account, and another permission set here,
	// are not this assignment.
	if err := em.AddAssignment("210987654321", "ReadOnlyAccess", uid("zz-standing")); err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Exists(context.Background(), assignment("ReadOnlyAccess", "zz-standing")); err != nil || ok {
		t.Errorf("Exists = %v, %v: matched another permission set or account", ok, err)
	}
	// Every page is read, an empty one included (AWS may answer fewer
	// results than asked for and a NextToken).
	em.Script(emulator.OpListAccountAssignmentsForPrincipal, emulator.Fault{EmptyPage: true})
	if ok, err := p.Exists(context.Background(), assignment("PowerUserAccess", "zz-standing")); err != nil || !ok {
		t.Errorf("Exists after an empty first page = %v, %v; want true", ok, err)
	}
}

func TestAsyncFailedIsPermanent(t *testing.T) {
	em, p := setup(t, 5*time.Millisecond)
	em.Fail(emulator.OpCreateAccountAssignment, emulator.Fault{AsyncFailed: true, FailureReason: "Permission set not provisioned to account", Times: 1})
	err := grant(context.Background(), p, assignment("AdministratorAccess", "u1"))
	if !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "Permission set not provisioned to account") {
		t.Fatalf("want a permanent error with the failure reason, got %v", err)
	}
	if !strings.HasPrefix(err.Error(), "aws: CreateAccountAssignment 123456789012/AdministratorAccess for "+uid("u1")+": ") {
		t.Errorf("error does not name the operation and assignment: %v", err)
	}
	if em.HasAssignment(account, "AdministratorAccess", uid("u1")) {
		t.Fatal("FAILED creation left an assignment")
	}
}

func TestRevokeFailedWhileAssignmentRemains(t *testing.T) {
	em, p := setup(t, 0)
	a := assignment("ReadOnlyAccess", "u2")
	if err := em.AddAssignment(account, "ReadOnlyAccess", uid("u2")); err != nil {
		t.Fatal(err)
	}
	em.Fail(emulator.OpDeleteAccountAssignment, emulator.Fault{AsyncFailed: true, FailureReason: "boom", Times: 1})
	if err := revoke(context.Background(), p, a); !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("want permanent error, got %v", err)
	}
	// FAILED for an assignment that is not there is still "gone".
	em.RemoveAssignment(account, "ReadOnlyAccess", uid("u2"))
	em.Fail(emulator.OpDeleteAccountAssignment, emulator.Fault{AsyncFailed: true, FailureReason: "not found", Times: 1})
	if err := revoke(context.Background(), p, a); err != nil {
		t.Fatalf("revoke of a missing assignment that AWS reports FAILED: %v", err)
	}
}

func TestErrorClassification(t *testing.T) {
	cases := []struct {
		fault     emulator.Fault
		op        string
		permanent bool
	}{
		{emulator.Fault{Code: "ThrottlingException"}, emulator.OpDeleteAccountAssignment, false},
		{emulator.Fault{Code: "ConflictException"}, emulator.OpDeleteAccountAssignment, false},
		{emulator.Fault{Code: "InternalServerException"}, emulator.OpCreateAccountAssignment, false},
		{emulator.Fault{Code: "ServiceUnavailable", HTTPStatus: 503}, emulator.OpCreateAccountAssignment, false},
		{emulator.Fault{Code: "SomethingNew"}, emulator.OpCreateAccountAssignment, false},
		{emulator.Fault{Code: "ValidationException", HTTPStatus: 502}, emulator.OpCreateAccountAssignment, false},
		{emulator.Fault{Code: "AccessDeniedException"}, emulator.OpDeleteAccountAssignment, true},
		{emulator.Fault{Code: "ValidationException"}, emulator.OpCreateAccountAssignment, true},
		{emulator.Fault{Code: "ResourceNotFoundException"}, emulator.OpListAccountAssignmentsForPrincipal, true},
		{emulator.Fault{Code: "ServiceQuotaExceededException"}, emulator.OpCreateAccountAssignment, true},
	}
	for _, tc := range cases {
		t.Run(tc.fault.Code+"/"+tc.op, func(t *testing.T) {
			em, p := setup(t, 0)
			em.Fail(tc.op, tc.fault)
			a := assignment("ReadOnlyAccess", "9067")
			var err error
			switch tc.op {
			case emulator.OpCreateAccountAssignment:
				err = grant(context.Background(), p, a)
			case emulator.OpDeleteAccountAssignment:
				err = revoke(context.Background(), p, a)
			default:
				_, err = p.Exists(context.Background(), a)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if got := drawbridge.IsPermanent(err); got != tc.permanent {
				t.Fatalf("permanent = %v, want %v: %v", got, tc.permanent, err)
			}
			want := fmt.Sprintf("aws: %s 123456789012/ReadOnlyAccess for %s: %s: ", tc.op, uid("9067"), tc.fault.Code)
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q, want prefix %q", err, want)
			}
			if n := em.Calls(tc.op); n != 1 {
				t.Errorf("%d calls: the SDK retried on its own", n)
			}
		})
	}
}

func TestThrottledPollingIsRetriedWithinTheAttempt(t *testing.T) {
	em, p := setup(t, 5*time.Millisecond)
	em.Fail(emulator.OpDescribeAccountAssignmentCreationStatus, emulator.Fault{Code: "ThrottlingException", Times: 2})
	if err := grant(context.Background(), p, assignment("ReadOnlyAccess", "u")); err != nil {
		t.Fatalf("two throttled status calls failed the grant: %v", err)
	}
	if n := em.Calls(emulator.OpCreateAccountAssignment); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}

	em.Fail(emulator.OpDescribeAccountAssignmentDeletionStatus, emulator.Fault{Code: "ThrottlingException"})
	err := revoke(context.Background(), p, assignment("ReadOnlyAccess", "u"))
	if err == nil || drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "DescribeAccountAssignmentDeletionStatus") {
		t.Fatalf("want a retryable status error, got %v", err)
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	em, p := setup(t, 0)
	em.SetLatency(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := revoke(ctx, p, assignment("ReadOnlyAccess", "u"))
	if err == nil || drawbridge.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a retryable deadline error, got %v", err)
	}
}

func TestPollingStopsWithContext(t *testing.T) {
	_, p := setup(t, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := grant(ctx, p, assignment("ReadOnlyAccess", "u"))
	if err == nil || drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "IN_PROGRESS") {
		t.Fatalf("want a retryable still-in-progress error, got %v", err)
	}
}

func TestUnknownPermissionSet(t *testing.T) {
	em, p := setup(t, 0)
	err := grant(context.Background(), p, assignment("DBAdmin", "u"))
	if !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "AdministratorAccess, PowerUserAccess, ReadOnlyAccess") {
		t.Fatalf("want a permanent error listing the permission sets, got %v", err)
	}
	if em.Calls(emulator.OpCreateAccountAssignment) != 0 {
		t.Error("called AWS for an unknown permission set")
	}
	if got := p.PermissionSetNames(); strings.Join(got, ",") != "AdministratorAccess,PowerUserAccess,ReadOnlyAccess" {
		t.Errorf("PermissionSetNames = %v", got)
	}
}

func TestPrincipalRef(t *testing.T) {
	_, p := setup(t, 0)
	id, err := p.PrincipalRef(context.Background(), &drawbridge.Principal{ID: "alice@example.com", Identities: map[string]string{"aws": uid("9067-abc")}})
	if err != nil || id != uid("9067-abc") {
		t.Fatalf("PrincipalRef = %q, %v", id, err)
	}
	// Without an identity store to look people up in, the directory must
	// carry the id.
	em, _ := setup(t, 0)
	noStore, err := aws.New(context.Background(), aws.Config{
		InstanceARN: em.InstanceARN(), PermissionSets: em.PermissionSetARNs(), Endpoint: em.URL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = noStore.PrincipalRef(context.Background(), &drawbridge.Principal{ID: "bob@example.com"})
	if drawbridge.ErrorCode(err) != drawbridge.EINVALID || !drawbridge.IsPermanent(err) ||
		!strings.Contains(err.Error(), "bob@example.com") || !strings.Contains(err.Error(), "directory.users[].aws_user_id") {
		t.Fatalf("PrincipalRef without an AWS user id: %v", err)
	}
	if em.Calls(emulator.OpGetUserId) != 0 {
		t.Error("looked up a user without an identity store id")
	}
	if p.Name() != "aws" {
		t.Errorf("Name = %q", p.Name())
	}
}

func TestConcurrentGrants(t *testing.T) {
	em, p := setup(t, 2*time.Millisecond)
	var wg sync.WaitGroup
	for i := range 25 {
		wg.Go(func() {
			a := assignment("ReadOnlyAccess", fmt.Sprintf("user-%02d", i))
			if err := grant(context.Background(), p, a); err != nil {
				t.Error(err)
			}
			if ok, err := p.Exists(context.Background(), a); err != nil || !ok {
				t.Errorf("Exists(%s) = %v, %v", a.PrincipalRef, ok, err)
			}
		})
	}
	wg.Wait()
	if n := len(em.Assignments()); n != 25 {
		t.Fatalf("%d assignments, want 25", n)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	good := func() aws.Config {
		return aws.Config{
			InstanceARN:    emulator.SandboxInstanceARN,
			PermissionSets: map[string]string{"ReadOnlyAccess": emulator.PermissionSetARN("ReadOnlyAccess")},
			Endpoint:       "http://127.0.0.1:1",
		}
	}
	cases := []struct {
		name string
		edit func(*aws.Config)
		want string
	}{
		{"no instance", func(c *aws.Config) { c.InstanceARN = "" }, "instance ARN is required"},
		{"bad instance", func(c *aws.Config) { c.InstanceARN = "arn:aws:iam::123:role/x" }, "not an IAM Identity Center instance ARN"},
		{"no permission sets", func(c *aws.Config) { c.PermissionSets = nil }, "no permission sets"},
		{"bad permission set", func(c *aws.Config) { c.PermissionSets = map[string]string{"ReadOnlyAccess": "ps-1"} }, "permission set ReadOnlyAccess"},
		{"other instance's permission set", func(c *aws.Config) {
			c.PermissionSets = map[string]string{"X": "arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-0123456789abcdef"}
		}, "another instance"},
		{"bad endpoint", func(c *aws.Config) { c.Endpoint = "127.0.0.1:1" }, "not an http(s) URL"},
		{"half credentials", func(c *aws.Config) { c.AccessKeyID = "AKID" }, "set together"},
		{"negative poll", func(c *aws.Config) { c.PollInterval = -time.Second }, "negative"},
		{"bad user attribute", func(c *aws.Config) { c.UserAttribute = "emails" }, `user attribute "emails" is not emails.value or userName`},
		{"groups without a store", func(c *aws.Config) { c.ResolveGroups = true }, "needs the identity store id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.edit(&cfg)
			_, err := aws.New(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || drawbridge.ErrorCode(err) != drawbridge.EINVALID {
				t.Fatalf("New: %v; want an EINVALID error containing %q", err, tc.want)
			}
		})
	}
	if _, err := aws.New(context.Background(), good()); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}

// The emulator is also an http.Handler, so httptest servers work as well.
func TestWithHTTPTest(t *testing.T) {
	em := emulator.New(emulator.Options{})
	srv := httptest.NewServer(em)
	defer srv.Close()
	p, err := aws.New(context.Background(), aws.Config{
		InstanceARN:    em.InstanceARN(),
		PermissionSets: em.PermissionSetARNs(),
		Endpoint:       srv.URL,
		HTTPClient:     srv.Client(),
		PollInterval:   time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := grant(context.Background(), p, assignment("PowerUserAccess", "u")); err != nil {
		t.Fatal(err)
	}
	if !em.HasAssignment(account, "PowerUserAccess", uid("u")) {
		t.Fatal("no assignment")
	}
}

func TestNewAgainstAWSNeedsARegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	cfg := aws.Config{
		InstanceARN:    emulator.SandboxInstanceARN,
		PermissionSets: map[string]string{"ReadOnlyAccess": emulator.PermissionSetARN("ReadOnlyAccess")},
	}
	_, err := aws.New(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "region is required") {
		t.Fatalf("New without a region: %v", err)
	}
	cfg.Region = "eu-west-1"
	if _, err := aws.New(context.Background(), cfg); err != nil {
		t.Fatalf("New with a region: %v", err)
	}
}

// A transient failure while listing (here throttling on the second page)
// is retried inside Exists, re-asking for the same page, instead of failing
// the grant that wanted to know.
func TestExistsRetriesTransientListFailure(t *testing.T) {
	em, p := setup(t, 0)
	if err := em.AddAssignment(account, "PowerUserAccess", uid("zz-standing")); err != nil {
		t.Fatal(err)
	}
	em.Script(emulator.OpListAccountAssignmentsForPrincipal, emulator.Fault{EmptyPage: true}, emulator.Fault{Code: "ThrottlingException"})
	ok, err := p.Exists(context.Background(), assignment("PowerUserAccess", "zz-standing"))
	if err != nil || !ok {
		t.Fatalf("Exists = %v, %v; want true after one retried page", ok, err)
	}
	if n := em.Calls(emulator.OpListAccountAssignmentsForPrincipal); n != 3 {
		t.Errorf("%d list calls, want 3 (page 1, throttled page 2, page 2 again)", n)
	}
}

// A permanent failure is not retried.
func TestExistsDoesNotRetryPermanentFailure(t *testing.T) {
	em, p := setup(t, 0)
	em.Fail(emulator.OpListAccountAssignmentsForPrincipal, emulator.Fault{Code: "AccessDeniedException"})
	em.Fail(emulator.OpListAccountAssignments, emulator.Fault{Code: "AccessDeniedException"})
	if _, err := p.Exists(context.Background(), assignment("PowerUserAccess", "u")); err == nil || !drawbridge.IsPermanent(err) {
		t.Fatalf("err = %v, want a permanent error", err)
	}
	if n, m := em.Calls(emulator.OpListAccountAssignmentsForPrincipal), em.Calls(emulator.OpListAccountAssignments); n != 1 || m != 1 {
		t.Errorf("%d and %d list calls, want 1 of each (the principal's, then the account's)", n, m)
	}
}

// A role without sso:ListAccountAssignmentsForPrincipal (an IAM policy
// written before Drawbridge asked for it) still answers from the account's
// listing, which the policy always allowed, and stops asking the refused
// call: an upgrade must not make every grant fail.
func TestExistsFallsBackToTheAccountListing(t *testing.T) {
	em, p := setup(t, 0)
	if err := em.AddAssignment(account, "PowerUserAccess", uid("standing")); err != nil {
		t.Fatal(err)
	}
	em.Fail(emulator.OpListAccountAssignmentsForPrincipal, emulator.Fault{Code: "AccessDeniedException"})
	for range 3 {
		if ok, err := p.Exists(context.Background(), assignment("PowerUserAccess", "standing")); err != nil || !ok {
			t.Fatalf("Exists = %v, %v; want true from ListAccountAssignments", ok, err)
		}
	}
	if n, m := em.Calls(emulator.OpListAccountAssignmentsForPrincipal), em.Calls(emulator.OpListAccountAssignments); n != 1 || m != 3 {
		t.Errorf("%d principal and %d account listings, want 1 refused, then 3 account listings", n, m)
	}
}

// grant and revoke call the provider with only the assignment, as most
// tests here are about AWS's side of one call.
func grant(ctx context.Context, p *aws.Provider, a drawbridge.Assignment) error {
	_, err := p.Grant(ctx, drawbridge.GrantSpec{RequestID: "req_test", Assignment: a})
	return err
}

func revoke(ctx context.Context, p *aws.Provider, a drawbridge.Assignment) error {
	_, err := p.Revoke(ctx, drawbridge.RevokeSpec{RequestID: "req_test", Assignment: a})
	return err
}

// A creation AWS answers SUCCEEDED in the create response itself is done:
// one call, no status poll. A deletion answered so is still confirmed with
// one status call, so that EXPIRED and REVOKED always rest on the status
// API's word.
func TestInlineSucceededCreateNeedsNoStatusCall(t *testing.T) {
	em, p := setup(t, 0)
	ctx := context.Background()
	a := assignment("ReadOnlyAccess", "inline")
	if err := grant(ctx, p, a); err != nil {
		t.Fatal(err)
	}
	if n, m := em.Calls(emulator.OpCreateAccountAssignment), em.Calls(emulator.OpDescribeAccountAssignmentCreationStatus); n != 1 || m != 0 {
		t.Errorf("grant: %d creates and %d status calls, want 1 and 0", n, m)
	}
	if err := revoke(ctx, p, a); err != nil {
		t.Fatal(err)
	}
	if n, m := em.Calls(emulator.OpDeleteAccountAssignment), em.Calls(emulator.OpDescribeAccountAssignmentDeletionStatus); n != 1 || m != 1 {
		t.Errorf("revoke: %d deletes and %d status calls, want 1 and 1", n, m)
	}
}
