package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/smithy-go"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

const account = "123456789012"

// client returns the real ssoadmin SDK client pointed at url.
func client(url string) *ssoadmin.Client {
	return ssoadmin.NewFromConfig(awssdk.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	}, func(o *ssoadmin.Options) {
		o.BaseEndpoint = awssdk.String(url)
		o.Retryer = awssdk.NopRetryer{}
	})
}

func start(t *testing.T, opts emulator.Options) (*emulator.Server, *ssoadmin.Client) {
	t.Helper()
	s, err := emulator.Start("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, client(s.URL())
}

func createInput(psName, user string) *ssoadmin.CreateAccountAssignmentInput {
	return &ssoadmin.CreateAccountAssignmentInput{
		InstanceArn:      awssdk.String(emulator.SandboxInstanceARN),
		TargetId:         awssdk.String(account),
		TargetType:       types.TargetTypeAwsAccount,
		PermissionSetArn: awssdk.String(emulator.PermissionSetARN(psName)),
		PrincipalType:    types.PrincipalTypeUser,
		PrincipalId:      awssdk.String(user),
	}
}

func deleteInput(psName, user string) *ssoadmin.DeleteAccountAssignmentInput {
	in := createInput(psName, user)
	return &ssoadmin.DeleteAccountAssignmentInput{
		InstanceArn: in.InstanceArn, TargetId: in.TargetId, TargetType: in.TargetType,
		PermissionSetArn: in.PermissionSetArn, PrincipalType: in.PrincipalType, PrincipalId: in.PrincipalId,
	}
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae.ErrorCode()
}

func TestCreateIsAsynchronous(t *testing.T) {
	opts := emulator.SandboxOptions()
	opts.Delay = 30 * time.Millisecond
	s, c := start(t, opts)
	ctx := context.Background()

	out, err := c.CreateAccountAssignment(ctx, createInput("ReadOnlyAccess", userN(1)))
	if err != nil {
		t.Fatal(err)
	}
	st := out.AccountAssignmentCreationStatus
	if st.Status != types.StatusValuesInProgress || len(awssdk.ToString(st.RequestId)) != 36 {
		t.Fatalf("create status = %s, request id %q; want IN_PROGRESS with a UUID", st.Status, awssdk.ToString(st.RequestId))
	}
	if st.CreatedDate == nil || time.Since(*st.CreatedDate) > time.Minute {
		t.Errorf("CreatedDate = %v, want about now", st.CreatedDate)
	}
	if awssdk.ToString(st.PrincipalId) != userN(1) || awssdk.ToString(st.TargetId) != account || st.TargetType != types.TargetTypeAwsAccount {
		t.Errorf("status echoes %+v", st)
	}
	if s.HasAssignment(account, "ReadOnlyAccess", userN(1)) {
		t.Fatal("assignment present before the operation completed")
	}
	time.Sleep(40 * time.Millisecond)
	desc, err := c.DescribeAccountAssignmentCreationStatus(ctx, &ssoadmin.DescribeAccountAssignmentCreationStatusInput{
		InstanceArn:                        awssdk.String(emulator.SandboxInstanceARN),
		AccountAssignmentCreationRequestId: st.RequestId,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.AccountAssignmentCreationStatus.Status; got != types.StatusValuesSucceeded {
		t.Fatalf("status after delay = %s, want SUCCEEDED", got)
	}
	if !s.HasAssignment(account, "ReadOnlyAccess", userN(1)) {
		t.Fatal("assignment missing after SUCCEEDED")
	}

	// The creation request id is not a deletion request id.
	_, err = c.DescribeAccountAssignmentDeletionStatus(ctx, &ssoadmin.DescribeAccountAssignmentDeletionStatusInput{
		InstanceArn:                        awssdk.String(emulator.SandboxInstanceARN),
		AccountAssignmentDeletionRequestId: st.RequestId,
	})
	if code := apiCode(t, err); code != "ResourceNotFoundException" {
		t.Errorf("describe deletion of a creation id: %s", code)
	}
}

func TestZeroDelayAnswersSucceededAtOnce(t *testing.T) {
	s, c := start(t, emulator.Options{})
	ctx := context.Background()
	out, err := c.CreateAccountAssignment(ctx, createInput("AdministratorAccess", userN(0)))
	if err != nil {
		t.Fatal(err)
	}
	if out.AccountAssignmentCreationStatus.Status != types.StatusValuesSucceeded || !s.HasAssignment(account, "AdministratorAccess", userN(0)) {
		t.Fatalf("status %s, assignment %v", out.AccountAssignmentCreationStatus.Status, s.HasAssignment(account, "AdministratorAccess", userN(0)))
	}
	// Idempotent: creating it again succeeds and changes nothing.
	if _, err := c.CreateAccountAssignment(ctx, createInput("AdministratorAccess", userN(0))); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Assignments()); n != 1 {
		t.Fatalf("%d assignments after a repeated create, want 1", n)
	}
	del, err := c.DeleteAccountAssignment(ctx, deleteInput("AdministratorAccess", userN(0)))
	if err != nil {
		t.Fatal(err)
	}
	if del.AccountAssignmentDeletionStatus.Status != types.StatusValuesSucceeded || s.HasAssignment(account, "AdministratorAccess", userN(0)) {
		t.Fatal("delete did not remove the assignment at once")
	}
	// Deleting a missing assignment also succeeds.
	del, err = c.DeleteAccountAssignment(ctx, deleteInput("AdministratorAccess", userN(0)))
	if err != nil || del.AccountAssignmentDeletionStatus.Status != types.StatusValuesSucceeded {
		t.Fatalf("delete of a missing assignment: %v", err)
	}
}

func TestValidation(t *testing.T) {
	_, c := start(t, emulator.Options{})
	ctx := context.Background()
	cases := []struct {
		name string
		edit func(*ssoadmin.CreateAccountAssignmentInput)
		code string
	}{
		{"malformed instance", func(in *ssoadmin.CreateAccountAssignmentInput) { in.InstanceArn = awssdk.String("nope") }, "ValidationException"},
		{"other instance", func(in *ssoadmin.CreateAccountAssignmentInput) {
			in.InstanceArn = awssdk.String("arn:aws:sso:::instance/ssoins-1111111111111111")
		}, "ResourceNotFoundException"},
		{"malformed permission set", func(in *ssoadmin.CreateAccountAssignmentInput) { in.PermissionSetArn = awssdk.String("ps") }, "ValidationException"},
		{"unknown permission set", func(in *ssoadmin.CreateAccountAssignmentInput) {
			in.PermissionSetArn = awssdk.String("arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-ffffffffffffffff")
		}, "ResourceNotFoundException"},
		{"bad account", func(in *ssoadmin.CreateAccountAssignmentInput) { in.TargetId = awssdk.String("12345") }, "ValidationException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := createInput("ReadOnlyAccess", userN(0))
			tc.edit(in)
			_, err := c.CreateAccountAssignment(ctx, in)
			if code := apiCode(t, err); code != tc.code {
				t.Fatalf("code %s, want %s (%v)", code, tc.code, err)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	s, c := start(t, emulator.Options{Delay: 10 * time.Millisecond})
	ctx := context.Background()

	s.Fail(emulator.OpCreateAccountAssignment, emulator.Fault{Code: "ThrottlingException", Times: 2})
	for i := range 2 {
		_, err := c.CreateAccountAssignment(ctx, createInput("ReadOnlyAccess", userN(0)))
		var te *types.ThrottlingException
		if !errors.As(err, &te) || te.ErrorMessage() != "Rate exceeded" {
			t.Fatalf("call %d: want ThrottlingException: Rate exceeded, got %v", i, err)
		}
	}
	if _, err := c.CreateAccountAssignment(ctx, createInput("ReadOnlyAccess", userN(0))); err != nil {
		t.Fatalf("fault outlived Times: %v", err)
	}
	if n := s.Calls(emulator.OpCreateAccountAssignment); n != 3 {
		t.Errorf("Calls = %d, want 3", n)
	}

	s.Fail(emulator.OpListPermissionSets, emulator.Fault{Code: "InternalServerException", Message: "boom"})
	_, err := c.ListPermissionSets(ctx, &ssoadmin.ListPermissionSetsInput{InstanceArn: awssdk.String(emulator.SandboxInstanceARN)})
	var ie *types.InternalServerException
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "StatusCode: 500") || ie.ErrorMessage() != "boom" {
		t.Fatalf("want InternalServerException with 500, got %v", err)
	}
	s.Fail(emulator.OpListPermissionSets, emulator.Fault{})
	if _, err := c.ListPermissionSets(ctx, &ssoadmin.ListPermissionSetsInput{InstanceArn: awssdk.String(emulator.SandboxInstanceARN)}); err != nil {
		t.Fatalf("cleared fault still fires: %v", err)
	}

	s.Fail(emulator.OpDeleteAccountAssignment, emulator.Fault{AsyncFailed: true, FailureReason: "Received a 409 from IAM", Times: 1})
	time.Sleep(15 * time.Millisecond)
	del, err := c.DeleteAccountAssignment(ctx, deleteInput("ReadOnlyAccess", userN(0)))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(15 * time.Millisecond)
	st, err := c.DescribeAccountAssignmentDeletionStatus(ctx, &ssoadmin.DescribeAccountAssignmentDeletionStatusInput{
		InstanceArn:                        awssdk.String(emulator.SandboxInstanceARN),
		AccountAssignmentDeletionRequestId: del.AccountAssignmentDeletionStatus.RequestId,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.AccountAssignmentDeletionStatus; got.Status != types.StatusValuesFailed || awssdk.ToString(got.FailureReason) != "Received a 409 from IAM" {
		t.Fatalf("status %s reason %q, want FAILED with the injected reason", got.Status, awssdk.ToString(got.FailureReason))
	}
	if !s.HasAssignment(account, "ReadOnlyAccess", userN(0)) {
		t.Fatal("a FAILED deletion removed the assignment")
	}
}

func TestLatency(t *testing.T) {
	s, c := start(t, emulator.Options{})
	s.SetLatency(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.ListInstances(ctx, &ssoadmin.ListInstancesInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a deadline error, got %v", err)
	}
}

func TestListAccountAssignmentsPages(t *testing.T) {
	s, c := start(t, emulator.Options{})
	for i := range 7 {
		if err := s.AddAssignment(account, "PowerUserAccess", userN(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddAssignment("210987654321", "PowerUserAccess", userN(500)); err != nil {
		t.Fatal(err)
	}
	pages := ssoadmin.NewListAccountAssignmentsPaginator(c, &ssoadmin.ListAccountAssignmentsInput{
		InstanceArn:      awssdk.String(emulator.SandboxInstanceARN),
		AccountId:        awssdk.String(account),
		PermissionSetArn: awssdk.String(emulator.PermissionSetARN("PowerUserAccess")),
		MaxResults:       awssdk.Int32(3),
	})
	var got []string
	n := 0
	for pages.HasMorePages() {
		out, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, a := range out.AccountAssignments {
			got = append(got, awssdk.ToString(a.PrincipalId))
		}
	}
	if n != 3 || len(got) != 7 || got[0] != userN(0) || got[6] != userN(6) {
		t.Fatalf("%d pages, principals %v; want 3 pages of user-0…user-6", n, got)
	}
	_, err := c.ListAccountAssignments(context.Background(), &ssoadmin.ListAccountAssignmentsInput{
		InstanceArn:      awssdk.String(emulator.SandboxInstanceARN),
		AccountId:        awssdk.String(account),
		PermissionSetArn: awssdk.String(emulator.PermissionSetARN("PowerUserAccess")),
		NextToken:        awssdk.String("garbage"),
	})
	if code := apiCode(t, err); code != "ValidationException" {
		t.Fatalf("bad NextToken: %s", code)
	}
}

func TestPermissionSetsAndInstances(t *testing.T) {
	_, c := start(t, emulator.SandboxOptions())
	ctx := context.Background()
	inst, err := c.ListInstances(ctx, &ssoadmin.ListInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inst.Instances) != 1 || awssdk.ToString(inst.Instances[0].InstanceArn) != emulator.SandboxInstanceARN ||
		awssdk.ToString(inst.Instances[0].IdentityStoreId) != emulator.SandboxIdentityStoreID {
		t.Fatalf("instances %+v", inst.Instances)
	}
	list, err := c.ListPermissionSets(ctx, &ssoadmin.ListPermissionSetsInput{InstanceArn: awssdk.String(emulator.SandboxInstanceARN)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.PermissionSets) != 3 || list.NextToken != nil {
		t.Fatalf("permission sets %v next %v", list.PermissionSets, list.NextToken)
	}
	ps, err := c.DescribePermissionSet(ctx, &ssoadmin.DescribePermissionSetInput{
		InstanceArn:      awssdk.String(emulator.SandboxInstanceARN),
		PermissionSetArn: awssdk.String(emulator.PermissionSetARN("AdministratorAccess")),
	})
	if err != nil {
		t.Fatal(err)
	}
	if awssdk.ToString(ps.PermissionSet.Name) != "AdministratorAccess" || awssdk.ToString(ps.PermissionSet.SessionDuration) != "PT1H" {
		t.Fatalf("permission set %+v", ps.PermissionSet)
	}
}

func TestPermissionSetARNIsStable(t *testing.T) {
	got := emulator.PermissionSetARN("ReadOnlyAccess")
	if got != emulator.PermissionSetARN("ReadOnlyAccess") || got == emulator.PermissionSetARN("PowerUserAccess") {
		t.Fatal("ARNs are not a function of the name")
	}
	if !strings.HasPrefix(got, "arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-") || len(got) != len("arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-")+16 {
		t.Fatalf("ARN %q", got)
	}
	if s := emulator.New(emulator.SandboxOptions()); s.PermissionSetARNs()["ReadOnlyAccess"] != got {
		t.Fatal("server and package disagree on the ARN")
	}
}

func TestUnknownOperation(t *testing.T) {
	srv := httptest.NewServer(emulator.New(emulator.Options{}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "SWBExternalService.CreatePermissionSet")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
		t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "192.0.2.1:0", "example.com:80"} {
		if s, err := emulator.Start(addr, emulator.Options{}); err == nil {
			s.Close()
			t.Errorf("Start(%q) accepted a non-loopback address", addr)
		} else if !strings.Contains(err.Error(), "loopback") {
			t.Errorf("Start(%q): %v does not say why", addr, err)
		}
	}
}

func TestRateLimitAndInFlight(t *testing.T) {
	_, c := start(t, emulator.Options{MaxInFlight: 2, Delay: time.Hour})
	ctx := context.Background()
	for i := range 2 {
		if _, err := c.CreateAccountAssignment(ctx, createInput("ReadOnlyAccess", userN(i))); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.CreateAccountAssignment(ctx, createInput("ReadOnlyAccess", userN(3)))
	if code := apiCode(t, err); code != "ThrottlingException" {
		t.Fatalf("third outstanding operation: %s", code)
	}

	_, c = start(t, emulator.Options{RateLimit: 5})
	throttled := 0
	for range 20 {
		if _, err := c.ListInstances(ctx, &ssoadmin.ListInstancesInput{}); err != nil {
			throttled++
		}
	}
	if throttled < 10 {
		t.Fatalf("only %d of 20 immediate calls throttled at 5/s", throttled)
	}
}

func TestConcurrentUse(t *testing.T) {
	s, c := start(t, emulator.Options{Delay: time.Millisecond})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			user := userN(i)
			if _, err := c.CreateAccountAssignment(ctx, createInput("ReadOnlyAccess", user)); err != nil {
				t.Error(err)
			}
			s.HasAssignment(account, "ReadOnlyAccess", user)
			s.Assignments()
			s.Calls(emulator.OpCreateAccountAssignment)
		})
	}
	wg.Wait()
	time.Sleep(5 * time.Millisecond)
	if n := len(s.Assignments()); n != 20 {
		t.Fatalf("%d assignments, want 20", n)
	}
}

// OnChange reports each assignment appearing and disappearing once, when
// it takes effect: a second create of a present assignment and a delete of
// an absent one change nothing and are not reported.
func TestOnChangeReportsEffectiveChanges(t *testing.T) {
	var got []string
	opts := emulator.SandboxOptions()
	opts.Delay = 0
	opts.OnChange = func(a emulator.Assignment, present bool, _ time.Time) {
		got = append(got, a.AccountID+"/"+a.PermissionSet+"/"+a.PrincipalID+"="+map[bool]string{true: "present", false: "gone"}[present])
	}
	s := emulator.New(opts)
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := client(srv.URL)
	ctx := context.Background()
	in := &ssoadmin.CreateAccountAssignmentInput{InstanceArn: awssdk.String(emulator.SandboxInstanceARN),
		PermissionSetArn: awssdk.String(s.PermissionSetARN("ReadOnlyAccess")), PrincipalId: awssdk.String(userN(1)),
		PrincipalType: types.PrincipalTypeUser, TargetId: awssdk.String(account), TargetType: types.TargetTypeAwsAccount}
	for range 2 {
		if _, err := c.CreateAccountAssignment(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	del := &ssoadmin.DeleteAccountAssignmentInput{InstanceArn: in.InstanceArn, PermissionSetArn: in.PermissionSetArn,
		PrincipalId: in.PrincipalId, PrincipalType: in.PrincipalType, TargetId: in.TargetId, TargetType: in.TargetType}
	for range 2 {
		if _, err := c.DeleteAccountAssignment(ctx, del); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{account + "/ReadOnlyAccess/" + userN(1) + "=present", account + "/ReadOnlyAccess/" + userN(1) + "=gone"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("OnChange saw %q, want %q", got, want)
	}
}

// ListAccountAssignmentsForPrincipal answers what one principal holds, only
// in the filtered account when a filter is given, in pages.
func TestListAccountAssignmentsForPrincipal(t *testing.T) {
	s, c := start(t, emulator.Options{})
	ctx := context.Background()
	const other = "210987654321"
	for _, ps := range []string{"AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess"} {
		for _, acct := range []string{account, other} {
			if err := s.AddAssignment(acct, ps, userN(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.AddAssignment(account, "ReadOnlyAccess", userN(2)); err != nil {
		t.Fatal(err)
	}
	list := func(filter *types.ListAccountAssignmentsFilter, user string, max int32) (pages int, got []string) {
		t.Helper()
		p := ssoadmin.NewListAccountAssignmentsForPrincipalPaginator(c, &ssoadmin.ListAccountAssignmentsForPrincipalInput{
			InstanceArn: awssdk.String(emulator.SandboxInstanceARN), PrincipalId: awssdk.String(user),
			PrincipalType: types.PrincipalTypeUser, Filter: filter, MaxResults: awssdk.Int32(max),
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, a := range out.AccountAssignments {
				if awssdk.ToString(a.PrincipalId) != user || a.PrincipalType != types.PrincipalTypeUser {
					t.Fatalf("listing for %s holds %+v", user, a)
				}
				got = append(got, awssdk.ToString(a.AccountId)+" "+awssdk.ToString(a.PermissionSetArn))
			}
		}
		return pages, got
	}
	pages, got := list(&types.ListAccountAssignmentsFilter{AccountId: awssdk.String(other)}, userN(1), 2)
	want := []string{other + " " + emulator.PermissionSetARN("AdministratorAccess"), other + " " + emulator.PermissionSetARN("PowerUserAccess"),
		other + " " + emulator.PermissionSetARN("ReadOnlyAccess")}
	slices.Sort(want)
	if pages != 2 || !slices.Equal(got, want) {
		t.Fatalf("filtered by %s: %d pages %v, want 2 pages %v", other, pages, got, want)
	}
	if pages, got = list(nil, userN(1), 100); pages != 1 || len(got) != 6 {
		t.Fatalf("unfiltered: %d pages %v, want all 6 in one", pages, got)
	}
	if _, got = list(&types.ListAccountAssignmentsFilter{AccountId: awssdk.String(account)}, userN(2), 100); len(got) != 1 {
		t.Fatalf("user 2: %v", got)
	}
	if _, got = list(nil, userN(3), 100); len(got) != 0 {
		t.Fatalf("a user with nothing: %v", got)
	}
	s.RemoveAssignment(account, "ReadOnlyAccess", userN(2))
	if _, got = list(nil, userN(2), 100); len(got) != 0 {
		t.Fatalf("after removal: %v", got)
	}
	for _, in := range []*ssoadmin.ListAccountAssignmentsForPrincipalInput{
		{InstanceArn: awssdk.String(emulator.SandboxInstanceARN), PrincipalId: awssdk.String(userN(1)), PrincipalType: types.PrincipalTypeUser,
			Filter: &types.ListAccountAssignmentsFilter{AccountId: awssdk.String("12345")}},
		{InstanceArn: awssdk.String(emulator.SandboxInstanceARN), PrincipalId: awssdk.String("alice"), PrincipalType: types.PrincipalTypeUser},
		{InstanceArn: awssdk.String(emulator.SandboxInstanceARN), PrincipalId: awssdk.String(userN(1)), PrincipalType: types.PrincipalTypeUser,
			NextToken: awssdk.String("garbage")},
	} {
		if _, err := c.ListAccountAssignmentsForPrincipal(ctx, in); apiCode(t, err) != "ValidationException" {
			t.Fatalf("%+v: %v, want ValidationException", in, err)
		}
	}
}
