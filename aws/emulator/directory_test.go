package emulator_test

import (
	"context"
	"errors"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

var creds = credentials.NewStaticCredentialsProvider("AKID", "secret", "")

func identityStoreClient(url string) *identitystore.Client {
	return identitystore.NewFromConfig(awssdk.Config{Region: "us-east-1", Credentials: creds}, func(o *identitystore.Options) {
		o.BaseEndpoint = awssdk.String(url)
		o.Retryer = awssdk.NopRetryer{}
	})
}

func organizationsClient(url string) *organizations.Client {
	return organizations.NewFromConfig(awssdk.Config{Region: "us-east-1", Credentials: creds}, func(o *organizations.Options) {
		o.BaseEndpoint = awssdk.String(url)
		o.Retryer = awssdk.NopRetryer{}
	})
}

func byAttribute(path, value string) istypes.AlternateIdentifier {
	return &istypes.AlternateIdentifierMemberUniqueAttribute{Value: istypes.UniqueAttribute{
		AttributePath: awssdk.String(path), AttributeValue: document.NewLazyDocument(value)}}
}

func TestIdentityStore(t *testing.T) {
	s, _ := start(t, emulator.Options{})
	c := identityStoreClient(s.URL())
	ctx := context.Background()
	store := awssdk.String(emulator.SandboxIdentityStoreID)
	for _, err := range []error{s.AddUser(aliceID, "alice", "Alice@Example.com"), s.AddGroup(engID, "engineers"), s.AddGroup(sreID, "sre-leads")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []string{sreID, engID} {
		if err := s.AddMembership(g, aliceID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddMembership(userN(999), aliceID); err == nil {
		t.Error("membership of an unknown group accepted")
	}

	for _, tc := range []struct{ path, value string }{{"emails.value", "alice@example.com"}, {"userName", "ALICE"}} {
		out, err := c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: store, AlternateIdentifier: byAttribute(tc.path, tc.value)})
		if err != nil || awssdk.ToString(out.UserId) != aliceID {
			t.Fatalf("GetUserId(%s=%s) = %v, %v", tc.path, tc.value, out, err)
		}
	}
	_, err := c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: store, AlternateIdentifier: byAttribute("emails.value", "bob@example.com")})
	var nf *istypes.ResourceNotFoundException
	if !errors.As(err, &nf) || nf.ResourceType != istypes.ResourceTypeUser {
		t.Fatalf("GetUserId of an unknown user: %v; want a typed ResourceNotFoundException for USER", err)
	}
	_, err = c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: awssdk.String("d-9999999999"), AlternateIdentifier: byAttribute("userName", "alice")})
	if !errors.As(err, &nf) || nf.ResourceType != istypes.ResourceTypeIdentityStore {
		t.Fatalf("GetUserId in another identity store: %v", err)
	}

	user, err := c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: store, UserId: awssdk.String(aliceID)})
	if err != nil || awssdk.ToString(user.UserName) != "alice" || len(user.Emails) != 1 || awssdk.ToString(user.Emails[0].Value) != "Alice@Example.com" {
		t.Fatalf("DescribeUser = %+v, %v", user, err)
	}

	var groups []string
	pages := identitystore.NewListGroupMembershipsForMemberPaginator(c, &identitystore.ListGroupMembershipsForMemberInput{
		IdentityStoreId: store, MemberId: &istypes.MemberIdMemberUserId{Value: aliceID}, MaxResults: awssdk.Int32(1)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.GroupMemberships {
			if uid, ok := m.MemberId.(*istypes.MemberIdMemberUserId); !ok || uid.Value != aliceID {
				t.Errorf("membership member %#v", m.MemberId)
			}
			groups = append(groups, awssdk.ToString(m.GroupId))
		}
	}
	if len(groups) != 2 || groups[0] != engID || groups[1] != sreID {
		t.Fatalf("memberships over pages of one = %v", groups)
	}

	g, err := c.DescribeGroup(ctx, &identitystore.DescribeGroupInput{IdentityStoreId: store, GroupId: awssdk.String(sreID)})
	if err != nil || awssdk.ToString(g.DisplayName) != "sre-leads" {
		t.Fatalf("DescribeGroup = %+v, %v", g, err)
	}
	gid, err := c.GetGroupId(ctx, &identitystore.GetGroupIdInput{IdentityStoreId: store, AlternateIdentifier: byAttribute("displayName", "engineers")})
	if err != nil || awssdk.ToString(gid.GroupId) != engID {
		t.Fatalf("GetGroupId = %+v, %v", gid, err)
	}
	if n := s.Calls(emulator.OpGetUserId); n != 4 {
		t.Errorf("Calls(GetUserId) = %d, want 4", n)
	}
}

func TestOrganizations(t *testing.T) {
	s, _ := start(t, emulator.Options{})
	c := organizationsClient(s.URL())
	ctx := context.Background()
	if err := s.AddOU("ou-0000-prod0000", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.AddOU("ou-0000-payments", "ou-0000-prod0000"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddOU("ou-0000-orphan00", "ou-0000-missing0"); err == nil {
		t.Error("OU under an unknown parent accepted")
	}
	if err := s.AddAccount(account, "payments-prod", "ou-0000-payments", map[string]string{"env": "prod", "team": "payments"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAccount("210987654321", "sandbox", "", nil); err != nil {
		t.Fatal(err)
	}

	roots, err := c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 || awssdk.ToString(roots.Roots[0].Id) != emulator.SandboxRootID {
		t.Fatalf("ListRoots = %+v, %v", roots, err)
	}
	var path []string
	for child := account; ; {
		out, err := c.ListParents(ctx, &organizations.ListParentsInput{ChildId: awssdk.String(child)})
		if err != nil || len(out.Parents) != 1 {
			t.Fatalf("ListParents(%s) = %+v, %v", child, out, err)
		}
		p := out.Parents[0]
		if p.Type == orgtypes.ParentTypeRoot {
			break
		}
		child = awssdk.ToString(p.Id)
		path = append(path, child)
	}
	if len(path) != 2 || path[0] != "ou-0000-payments" || path[1] != "ou-0000-prod0000" {
		t.Fatalf("parents innermost first = %v", path)
	}
	_, err = c.ListParents(ctx, &organizations.ListParentsInput{ChildId: awssdk.String("999999999999")})
	var cnf *orgtypes.ChildNotFoundException
	if !errors.As(err, &cnf) {
		t.Fatalf("ListParents of an unknown account: %v", err)
	}

	tags, err := c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: awssdk.String(account)})
	if err != nil || len(tags.Tags) != 2 || awssdk.ToString(tags.Tags[0].Key) != "env" || awssdk.ToString(tags.Tags[0].Value) != "prod" {
		t.Fatalf("ListTagsForResource = %+v, %v", tags, err)
	}

	acct, err := c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: awssdk.String(account)})
	if err != nil || awssdk.ToString(acct.Account.Name) != "payments-prod" || acct.Account.State != orgtypes.AccountStateActive || acct.Account.JoinedTimestamp == nil {
		t.Fatalf("DescribeAccount = %+v, %v", acct, err)
	}
	_, err = c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: awssdk.String("999999999999")})
	var anf *orgtypes.AccountNotFoundException
	if !errors.As(err, &anf) {
		t.Fatalf("DescribeAccount of an unknown account: %v", err)
	}

	list, err := c.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: awssdk.String(emulator.SandboxRootID)})
	if err != nil || len(list.Accounts) != 1 || awssdk.ToString(list.Accounts[0].Id) != "210987654321" {
		t.Fatalf("ListAccountsForParent(root) = %+v, %v", list, err)
	}

	// Throttling in Organizations has its own error code.
	s.Fail(emulator.OpListParents, emulator.Fault{Code: "TooManyRequestsException", Times: 1})
	_, err = c.ListParents(ctx, &organizations.ListParentsInput{ChildId: awssdk.String(account)})
	var tmr *orgtypes.TooManyRequestsException
	if !errors.As(err, &tmr) {
		t.Fatalf("want TooManyRequestsException, got %v", err)
	}
}

func TestScriptIsConsumedInOrder(t *testing.T) {
	s, c := start(t, emulator.Options{})
	ctx := context.Background()
	s.Script(emulator.OpCreateAccountAssignment,
		emulator.Fault{},
		emulator.Fault{Code: "ThrottlingException", Times: 2},
		emulator.Fault{Code: "ConflictException"},
		emulator.Fault{AsyncFailed: true, FailureReason: "scripted"})
	var got []string
	for range 6 {
		out, err := c.CreateAccountAssignment(ctx, createInput("ReadOnlyAccess", userN(0)))
		switch {
		case err != nil:
			got = append(got, apiCode(t, err))
		default:
			got = append(got, string(out.AccountAssignmentCreationStatus.Status))
		}
	}
	want := []string{"SUCCEEDED", "ThrottlingException", "ThrottlingException", "ConflictException", "FAILED", "SUCCEEDED"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("calls answered %v, want %v", got, want)
		}
	}
	// Fail still replaces the script, and an empty Script clears it.
	s.Script(emulator.OpListInstances, emulator.Fault{Code: "InternalServerException"})
	s.Script(emulator.OpListInstances)
	if _, err := c.ListInstances(ctx, nil); err != nil {
		t.Fatalf("cleared script still fails: %v", err)
	}
}

func TestConflictWhileOperationInProgress(t *testing.T) {
	opts := emulator.SandboxOptions()
	opts.Delay = 40 * time.Millisecond
	_, c := start(t, opts)
	ctx := context.Background()
	if _, err := c.CreateAccountAssignment(ctx, createInput("ReadOnlyAccess", userN(0))); err != nil {
		t.Fatal(err)
	}
	_, err := c.DeleteAccountAssignment(ctx, deleteInput("ReadOnlyAccess", userN(0)))
	if code := apiCode(t, err); code != "ConflictException" {
		t.Fatalf("delete during a create: %s", code)
	}
	// Another assignment is not affected.
	if _, err := c.CreateAccountAssignment(ctx, createInput("ReadOnlyAccess", userN(1))); err != nil {
		t.Fatalf("create of another assignment: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := c.DeleteAccountAssignment(ctx, deleteInput("ReadOnlyAccess", userN(0))); err != nil {
		t.Fatalf("delete after the create completed: %v", err)
	}
}
