package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

// userID is a well-formed Identity Store user id (AWS's PrincipalId
// pattern: an optional ten-hex-digit prefix and a UUID).
var userID = userN(1)

// userN is the well-formed Identity Store id of test user n; ids sort as
// their numbers do.
func userN(n int) string { return fmt.Sprintf("9067e8a1b2-a1b2c3d4-0000-4000-8000-%012d", n) }

// Well-formed Identity Store ids of the test people and groups.
var (
	aliceID = userN(100)
	engID   = "9067e8a1b2-a1b2c3d4-0000-4000-9000-000000000001"
	sreID   = "9067e8a1b2-a1b2c3d4-0000-4000-9000-000000000002"
)

// call posts a raw AWS JSON 1.1 body and returns the status and error type.
func call(t *testing.T, url, target, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	json.NewDecoder(resp.Body).Decode(&out) //nolint:errcheck // a success has neither
	return resp.StatusCode, out.Type, out.Message
}

// The emulator validates input as AWS does (the patterns, lengths, enums and
// required members of the service models the AWS CLI ships), before it
// looks anything up, and matches member names case-sensitively.
func TestInputValidationFollowsTheServiceModels(t *testing.T) {
	s, err := emulator.Start("127.0.0.1:0", emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ps := emulator.PermissionSetARN("ReadOnlyAccess")
	create := func(principal string) string {
		return `{"InstanceArn":"` + emulator.SandboxInstanceARN + `","TargetId":"123456789012","TargetType":"AWS_ACCOUNT","PermissionSetArn":"` + ps +
			`","PrincipalType":"USER","PrincipalId":"` + principal + `"}`
	}
	otherInstance := "arn:aws:sso:::instance/ssoins-1111111111111111"
	cases := []struct {
		name, target, body string
		status             int
		code, msg          string
	}{
		{"valid", "SWBExternalService.CreateAccountAssignment", create(userID), 200, "", ""},
		{"UUID without prefix", "SWBExternalService.CreateAccountAssignment", create("a1b2c3d4-1111-4a1a-8a1a-000000000001"), 200, "", ""},
		{"principal id not a UUID", "SWBExternalService.CreateAccountAssignment", create("9067e8a1b2-1111-4a1a-8a1a-000000000001"), 400, "ValidationException",
			"Value '9067e8a1b2-1111-4a1a-8a1a-000000000001' at 'principalId' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"principal id a name", "SWBExternalService.DeleteAccountAssignment", create("alice"), 400, "ValidationException", "at 'principalId'"},
		{"missing member", "SWBExternalService.CreateAccountAssignment",
			`{"InstanceArn":"` + emulator.SandboxInstanceARN + `","TargetId":"123456789012","TargetType":"AWS_ACCOUNT","PermissionSetArn":"` + ps + `","PrincipalId":"` + userID + `"}`,
			400, "ValidationException", "Value null at 'principalType' failed to satisfy constraint: Member must not be null"},
		{"member name in another case", "SWBExternalService.CreateAccountAssignment",
			strings.Replace(create(userID), `"PrincipalId"`, `"principalId"`, 1), 400, "ValidationException", "Value null at 'principalId'"},
		{"validation before not found", "SWBExternalService.CreateAccountAssignment",
			strings.Replace(create("bob"), emulator.SandboxInstanceARN, otherInstance, 1), 400, "ValidationException", "at 'principalId'"},
		{"not found once valid", "SWBExternalService.CreateAccountAssignment",
			strings.Replace(create(userID), emulator.SandboxInstanceARN, otherInstance, 1), 400, "ResourceNotFoundException", ""},
		{"two errors", "SWBExternalService.ListAccountAssignments", `{"InstanceArn":"` + emulator.SandboxInstanceARN + `","AccountId":"1234"}`,
			400, "ValidationException", "2 validation errors detected: Value '1234' at 'accountId' failed to satisfy constraint"},
		{"request id not a UUID", "SWBExternalService.DescribeAccountAssignmentCreationStatus",
			`{"InstanceArn":"` + emulator.SandboxInstanceARN + `","AccountAssignmentCreationRequestId":"req-1"}`, 400, "ValidationException", "at 'accountAssignmentCreationRequestId'"},
		{"max results out of range", "SWBExternalService.ListPermissionSets", `{"InstanceArn":"` + emulator.SandboxInstanceARN + `","MaxResults":0}`,
			400, "ValidationException", "Member must have value greater than or equal to 1"},
		{"identity store user id", "AWSIdentityStore.DescribeUser", `{"IdentityStoreId":"d-0000000000","UserId":"u-alice"}`, 400, "ValidationException", "at 'userId'"},
		{"identity store id", "AWSIdentityStore.DescribeUser", `{"IdentityStoreId":"store","UserId":"` + userID + `"}`, 400, "ValidationException", "at 'identityStoreId'"},
		{"member id", "AWSIdentityStore.ListGroupMembershipsForMember", `{"IdentityStoreId":"d-0000000000","MemberId":{"UserId":"u-alice"}}`, 400, "ValidationException", "at 'memberId.userId'"},
		{"unknown user", "AWSIdentityStore.DescribeUser", `{"IdentityStoreId":"d-0000000000","UserId":"` + userID + `"}`, 400, "ResourceNotFoundException", ""},
		{"organizations child id", "AWSOrganizationsV20161128.ListParents", `{"ChildId":"acct-1"}`, 400, "InvalidInputException", "at 'childId'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, code, msg := call(t, s.URL(), tc.target, tc.body)
			if status != tc.status || code != tc.code || !strings.Contains(msg, tc.msg) {
				t.Fatalf("%d %s %q; want %d %s containing %q", status, code, msg, tc.status, tc.code, tc.msg)
			}
		})
	}
}
