package emulator_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

// The emulator and Drawbridge's client were written by the same hands, so
// the AWS CLI — a client built from AWS's own service models — checks the
// emulator's wire format and input validation independently. `make test`
// installs it (make deps-awscli); CI fails without it rather than skip.
func TestAWSCLIAgainstTheEmulator(t *testing.T) {
	cli, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the AWS CLI is not installed; `make deps-awscli` installs it")
		}
		t.Skip("the AWS CLI is not installed (`make deps-awscli` installs it): the emulator is not checked against an independent client")
	}
	s, err := emulator.Start("127.0.0.1:0", emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	home := t.TempDir()
	run := func(args ...string) (map[string]any, string, error) {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"--endpoint-url", s.URL(), "--output", "json"}, args...)...)
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_ACCESS_KEY_ID=AKIDEMULATOR", "AWS_SECRET_ACCESS_KEY=emulator",
			"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_CONFIG_FILE=" + home + "/config",
			"AWS_SHARED_CREDENTIALS_FILE=" + home + "/credentials", "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var out map[string]any
		if err == nil && stdout.Len() > 0 {
			if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
				t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), jerr, stdout.String())
			}
		}
		return out, stderr.String(), err
	}
	ps := emulator.PermissionSetARN("ReadOnlyAccess")
	assignment := func(verb, principal string) []string {
		return []string{"sso-admin", verb + "-account-assignment", "--instance-arn", emulator.SandboxInstanceARN, "--target-id", account,
			"--target-type", "AWS_ACCOUNT", "--permission-set-arn", ps, "--principal-type", "USER", "--principal-id", principal}
	}

	out, stderr, err := run(assignment("create", userID)...)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, stderr)
	}
	if st, _ := out["AccountAssignmentCreationStatus"].(map[string]any); st["Status"] != "SUCCEEDED" || st["PrincipalId"] != userID {
		t.Fatalf("create answered %v", out)
	}
	out, stderr, err = run("sso-admin", "list-account-assignments", "--instance-arn", emulator.SandboxInstanceARN, "--account-id", account, "--permission-set-arn", ps)
	if err != nil {
		t.Fatalf("list: %v\n%s", err, stderr)
	}
	if list, _ := out["AccountAssignments"].([]any); len(list) != 1 || list[0].(map[string]any)["PrincipalId"] != userID {
		t.Fatalf("list answered %v", out)
	}

	out, stderr, err = run("sso-admin", "list-account-assignments-for-principal", "--instance-arn", emulator.SandboxInstanceARN,
		"--principal-id", userID, "--principal-type", "USER", "--filter", "AccountId="+account)
	if err != nil {
		t.Fatalf("list for principal: %v\n%s", err, stderr)
	}
	if list, _ := out["AccountAssignments"].([]any); len(list) != 1 || list[0].(map[string]any)["PermissionSetArn"] != ps {
		t.Fatalf("list for principal answered %v", out)
	}
	out, stderr, err = run("sso-admin", "list-account-assignments-for-principal", "--instance-arn", emulator.SandboxInstanceARN,
		"--principal-id", userID, "--principal-type", "USER", "--filter", "AccountId=210987654321")
	if list, _ := out["AccountAssignments"].([]any); err != nil || len(list) != 0 {
		t.Fatalf("list for principal in another account: %v %v\n%s", out, err, stderr)
	}
	if _, stderr, err = run("sso-admin", "list-account-assignments-for-principal", "--instance-arn", emulator.SandboxInstanceARN,
		"--principal-id", userID, "--principal-type", "USER", "--filter", "AccountId=12345"); err == nil ||
		!strings.Contains(stderr, "ValidationException") && !strings.Contains(stderr, "Invalid length") {
		t.Fatalf("list for principal, filter 12345: %v\n%s", err, stderr)
	}

	// What AWS rejects, the emulator rejects, and the CLI reads the error.
	if _, stderr, err = run(assignment("delete", "alice")...); err == nil || !strings.Contains(stderr, "ValidationException") || !strings.Contains(stderr, "principalId") {
		t.Fatalf("delete for principal alice: %v\n%s", err, stderr)
	}
	if _, stderr, err = run("identitystore", "describe-user", "--identity-store-id", emulator.SandboxIdentityStoreID, "--user-id", "u-alice"); err == nil ||
		!strings.Contains(stderr, "ValidationException") || !strings.Contains(stderr, "userId") {
		t.Fatalf("describe-user u-alice: %v\n%s", err, stderr)
	}
	if _, stderr, err = run("identitystore", "describe-user", "--identity-store-id", emulator.SandboxIdentityStoreID, "--user-id", userID); err == nil ||
		!strings.Contains(stderr, "ResourceNotFoundException") {
		t.Fatalf("describe-user of an unknown user: %v\n%s", err, stderr)
	}
}
