package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

// The request grammar on the command line: in remote mode the token says
// who asks, so the reference's Slack form works without a requester;
// --requester names someone else (admin tokens only); scripts that name
// the requester first keep working. Resources may be aliases or
// provider:resource.
func TestRequestGrammarRemote(t *testing.T) {
	t.Parallel()
	cfg, addr := serveSandbox(t, emulator.SandboxOptions(), "")
	startServer(t, addr, "--config", cfg, "serve")
	alice := createToken(t, cfg, "--principal", "alice@example.com", "--role", "requester")
	admin := createToken(t, cfg, "--principal", "admin@example.com", "--role", "admin")
	as := func(token string) []string {
		return []string{"DRAWBRIDGE_ADDR=http://" + addr, "DRAWBRIDGE_TOKEN=" + token}
	}
	run := func(token string, want int, args ...string) map[string]any {
		t.Helper()
		res := exe(t, t.TempDir(), as(token), append([]string{"--output", "json", "request"}, args...)...)
		if res.code != want {
			t.Fatalf("request %s: want exit %d\n%s", strings.Join(args, " "), want, res)
		}
		if want != 0 {
			return nil
		}
		return decode(t, res.stdout)
	}
	// The reference's forms, requester from the token.
	r := run(alice, 0, "111122223333", "AdministratorAccess", "0.5", "INC-12345")
	if r["requester"] != "alice@example.com" || r["state"] != "PENDING_APPROVAL" || r["ticket"] != "INC-12345" || r["resource"] != "111122223333" {
		t.Errorf("remote request without requester: %v", r)
	}
	r = run(alice, 0, "111122223333", "AdministratorAccess", "0.5", "ticket", "INC-12346")
	if r["requester"] != "alice@example.com" || r["ticket"] != "INC-12346" {
		t.Errorf("remote request with ticket keyword: %v", r)
	}
	// An alias, and provider:resource.
	r = run(alice, 0, "staging", "ReadOnlyAccess", "0.5")
	if r["provider"] != "aws" || r["resource"] != "123456789012" || r["state"] != "ACTIVE" {
		t.Errorf("remote request by alias: %v", r)
	}
	// Scripts that name the requester first still work.
	r = run(alice, 0, "alice@example.com", "aws:111122223333", "AdministratorAccess", "0.5", "INC-1")
	if r["requester"] != "alice@example.com" || r["resource"] != "111122223333" {
		t.Errorf("remote request with positional requester: %v", r)
	}
	// --requester names someone else: refused for alice's token, recorded
	// on behalf of bob for an admin's.
	run(alice, 1, "--requester", "bob@example.com", "111122223333", "AdministratorAccess", "0.5", "INC-2")
	r = run(admin, 0, "--requester", "bob@example.com", "111122223333", "AdministratorAccess", "0.5", "INC-3")
	if r["requester"] != "bob@example.com" {
		t.Errorf("admin on behalf of bob: %v", r)
	}
	res := exe(t, t.TempDir(), as(alice), "request", "111122223333", "AdministratorAccess", "0.5", "ticket")
	if res.code != 2 || !strings.Contains(res.stderr, "ticket needs its id") || !strings.Contains(res.stderr, "[request] <resource> <role> <hours> [[ticket] <ticket-id>]") {
		t.Errorf("malformed remote request: want exit 2 showing the form\n%s", res)
	}
}

// Local (operator) mode keeps request <requester> …, and takes aliases and
// provider:resource; a resource that names nothing lists what exists.
func TestRequestGrammarLocal(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	r := s.request(t, 0, "U12345678", "staging", "ReadOnlyAccess", "0.02")
	if r["resource"] != "123456789012" || r["provider"] != "aws" || r["state"] != "ACTIVE" {
		t.Errorf("local request by alias: %v", r)
	}
	r = s.request(t, 0, "U12345678", "aws:111122223333", "ReadOnlyAccess", "0.02", "--reason", "look at prod")
	if r["resource"] != "111122223333" || r["reason"] != "look at prod" {
		t.Errorf("local request with provider:resource: %v", r)
	}
	r = s.request(t, 0, "--requester", "U12345678", "--resource", "prod", "--role", "ReadOnlyAccess", "--duration", "1m")
	if r["resource"] != "111122223333" {
		t.Errorf("flag form with --resource alias: %v", r)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"request", "U12345678", "nosuch", "ReadOnlyAccess", "1"}, `unknown resource "nosuch"`},
		{[]string{"request", "U12345678", "payroll:payroll-db", "reader", "1"}, `unknown provider "payroll" (configured: aws, hooks)`},
		{[]string{"request", "U12345678", "123456789012", "ReadOnlyAccess", "1", "tik", "INC-1"}, "<requester> <resource> <role> <hours> [[ticket] <ticket-id>]"},
		{[]string{"request", "U12345678", "staging", "ReadOnlyAccess", "1", "--account", "123456789012"}, "positionally or with flags, not both"},
		{[]string{"request", "--requester", "U12345678", "--account", "123456789012", "--resource", "111122223333", "--role", "ReadOnlyAccess", "--duration", "1m"}, "--account and --resource disagree"},
	} {
		res := s.run(t, tc.args...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("drawbridge %s: want exit 2 with %q\n%s", strings.Join(tc.args, " "), tc.want, res)
		}
	}
}

// revoke --all takes the same resource forms as request, and list filters
// by provider, resource and role.
func TestRevokeAllAndListScopes(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	staging := s.request(t, 0, "U12345678", "staging", "ReadOnlyAccess", "1")["id"].(string)
	prod := s.request(t, 0, "U12345678", "prod", "ReadOnlyAccess", "1")["id"].(string)
	if got := ids(s.list(t, "--provider", "aws", "--resource", "111122223333", "--role", "ReadOnlyAccess")); len(got) != 1 || got[0] != prod {
		t.Errorf("list --provider aws --resource 111122223333: %v, want [%s]", got, prod)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"revoke", "--all"}, "needs a scope"},
		{[]string{"revoke", "--all", "--resource", "nosuch"}, `unknown resource "nosuch"`},
		{[]string{"revoke", "--all", "--provider", "payroll"}, `unknown provider "payroll" (configured: aws, hooks)`},
		{[]string{"revoke", "--all", "--resource", "12345"}, "must be 12 digits"},
		{[]string{"revoke", staging, "--role", "ReadOnlyAccess"}, "only go with --all"},
	} {
		if res := s.run(t, tc.args...); res.code != 2 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("drawbridge %s: want exit 2 with %q\n%s", strings.Join(tc.args, " "), tc.want, res)
		}
	}
	res := s.mustRun(t, 0, "revoke", "--all", "--resource", "aws:staging", "--role", "ReadOnlyAccess", "--reason", "incident")
	if !strings.Contains(res.stdout, "revoke --all: 1 grants, 0 failed") {
		t.Errorf("revoke --all --resource aws:staging:\n%s", res)
	}
	if st := s.status(t, staging)["state"]; st != "REVOKED" {
		t.Errorf("staging grant %s, want REVOKED", st)
	}
	if st := s.status(t, prod)["state"]; st != "ACTIVE" {
		t.Errorf("prod grant %s, want ACTIVE (out of scope)", st)
	}
}

// An AWS provider may have any name: policy rules, requests and the
// session-duration check all use that name.
func TestAWSProviderWithAnotherName(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	rewrite := func(name string, from, to string) {
		t.Helper()
		path := filepath.Join(s.dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), from, to)
		if text == string(data) {
			t.Fatalf("%s has no %q", name, from)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rewrite("drawbridge.yaml", "\n  aws:\n", "\n  sso:\n    kind: aws\n")
	rewrite("access_rules.yaml", "provider: aws", "provider: sso")
	// ReadOnlyAccess has an 8h session in the sandbox: a 1h rule makes
	// sessions outlive grants, which reconcile warns about.
	rewrite("access_rules.yaml", "    max_duration: 8h\n    # Extensions", "    max_duration: 1h\n    # Extensions")
	r := s.request(t, 0, "U12345678", "staging", "ReadOnlyAccess", "0.5")
	if r["provider"] != "sso" || r["resource"] != "123456789012" || r["state"] != "ACTIVE" || r["rule"] != "readonly-self-service" {
		t.Errorf("request to the aws provider named sso: %v", r)
	}
	r = s.request(t, 0, "U12345678", "sso:111122223333", "ReadOnlyAccess", "0.5")
	if r["provider"] != "sso" || r["state"] != "ACTIVE" {
		t.Errorf("request as sso:<account>: %v", r)
	}
	res := s.mustRun(t, 0, "reconcile")
	if !strings.Contains(res.stderr, "permission set ReadOnlyAccess has a session duration of 8h0m0s, longer than the longest grant any rule allows for it (1h0m0s)") {
		t.Errorf("reconcile: no session-duration warning for the rules of provider sso\n%s", res)
	}
	if !strings.Contains(res.stdout, "2 active grants checked, 0 findings") {
		t.Errorf("reconcile of sso's accounts:\n%s", res)
	}
}
