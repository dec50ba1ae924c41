package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/examples"
)

const minimal = `store:
  dsn: state/drawbridge.db
policy:
  file: rules/access_rules.yaml
accounts:
  - id: "123456789012"
providers:
  aws:
    instance_arn: arn:aws:sso:::instance/ssoins-0000000000000000
    permission_sets:
      ReadOnlyAccess: arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-206114b2346a5d55
`

func noEnv(string) (string, bool) { return "", false }

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func parse(t *testing.T, src string, lookup func(string) (string, bool)) (*config.Config, error) {
	t.Helper()
	return config.Parse("/etc/drawbridge/drawbridge.yaml", []byte(src), lookup)
}

func mustFail(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestExampleConfigParses(t *testing.T) {
	data, err := examples.FS.ReadFile("drawbridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parse(t, string(data), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Directory.Users) != 4 || len(cfg.Accounts) != 2 || cfg.Providers["aws"].AWS == nil || len(cfg.Providers["aws"].AWS.PermissionSets) != 3 {
		t.Errorf("example config: %d users, %d accounts, aws %v", len(cfg.Directory.Users), len(cfg.Accounts), cfg.Providers["aws"].AWS)
	}
	if cfg.Providers["aws"].AWS.PollInterval.Std() != 100*time.Millisecond || cfg.Expiry.MaxSleep.Std() != 2*time.Second {
		t.Errorf("poll %v max sleep %v", cfg.Providers["aws"].AWS.PollInterval.Std(), cfg.Expiry.MaxSleep.Std())
	}
}

func TestUnknownKeyReportsFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		wants     []string
	}{
		{"top level", "store:\n  driver: sqlite\npolcy:\n  file: x.yaml\n", []string{"drawbridge.yaml:3:", `"polcy"`, "top level"}},
		{"nested", strings.Replace(minimal, "    instance_arn:", "    regoin: us-east-1\n    instance_arn:", 1),
			[]string{"drawbridge.yaml:9:", `"regoin"`, "providers.aws"}},
		{"in a list", "directory:\n  users:\n    - email: a@example.com\n      slack: U1\n", []string{"drawbridge.yaml:4:", `"slack"`, "directory.users[]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.src, noEnv)
			mustFail(t, err, tc.wants...)
			if strings.Contains(err.Error(), "/etc/drawbridge") {
				t.Errorf("message names the full path rather than the file: %v", err)
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	src := strings.Replace(minimal, "    instance_arn:", "    access_key_id: ${AWS_KEY}\n    secret_access_key: \"pre-${AWS_SECRET}-post\"\n    instance_arn:", 1)
	cfg, err := parse(t, src, env(map[string]string{"AWS_KEY": "AKIA123", "AWS_SECRET": "s3cr3t"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Providers["aws"].AWS.AccessKeyID != "AKIA123" || cfg.Providers["aws"].AWS.SecretAccessKey != "pre-s3cr3t-post" {
		t.Errorf("expanded to %q and %q", cfg.Providers["aws"].AWS.AccessKeyID, cfg.Providers["aws"].AWS.SecretAccessKey)
	}

	// A value cannot inject YAML structure.
	cfg, err = parse(t, src, env(map[string]string{"AWS_KEY": "x\nstore: {driver: postgres}", "AWS_SECRET": "]: ["}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Driver != "sqlite" || cfg.Providers["aws"].AWS.AccessKeyID != "x\nstore: {driver: postgres}" || cfg.Providers["aws"].AWS.SecretAccessKey != "pre-]: [-post" {
		t.Errorf("environment value changed the structure: driver %q key %q", cfg.Store.Driver, cfg.Providers["aws"].AWS.AccessKeyID)
	}

	// Keys are not expanded, and $VAR without braces is left alone.
	cfg, err = parse(t, strings.Replace(minimal, "state/drawbridge.db", "$HOME/x.db", 1), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(cfg.Store.DSN, "$HOME/x.db") {
		t.Errorf("dsn %q", cfg.Store.DSN)
	}
}

func TestMissingEnvVariable(t *testing.T) {
	src := strings.Replace(minimal, "    instance_arn:", "    secret_access_key: \"${NOT_SET_ANYWHERE}\"\n    instance_arn:", 1)
	_, err := parse(t, src, noEnv)
	// Line 9, column 24: where the quoted scalar begins.
	mustFail(t, err, "drawbridge.yaml:9:24:", "NOT_SET_ANYWHERE", "not set")
}

func TestRelativePathsResolvedAgainstConfigDir(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "etc")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "elsewhere", "abs.db")
	src := strings.Replace(minimal, "state/drawbridge.db", abs, 1)
	if err := os.WriteFile(filepath.Join(sub, "drawbridge.yaml"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	// Load a relative path from another working directory.
	t.Chdir(dir)
	cfg, err := config.Load(filepath.Join("etc", "drawbridge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir != sub || cfg.Path != filepath.Join(sub, "drawbridge.yaml") {
		t.Errorf("dir %q path %q, want %q", cfg.Dir, cfg.Path, sub)
	}
	if cfg.Store.DSN != abs {
		t.Errorf("absolute dsn changed to %q", cfg.Store.DSN)
	}
	if want := filepath.Join(sub, "rules", "access_rules.yaml"); cfg.Policy.File != want {
		t.Errorf("policy file %q, want %q", cfg.Policy.File, want)
	}

	// Defaults are relative to the config file too.
	cfg, err = config.Parse(filepath.Join(sub, "drawbridge.yaml"), []byte("accounts: []\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.DSN != filepath.Join(sub, "drawbridge.db") || cfg.Policy.File != filepath.Join(sub, "access_rules.yaml") {
		t.Errorf("default dsn %q policy %q", cfg.Store.DSN, cfg.Policy.File)
	}
	if cfg.Resolve("x/y") != filepath.Join(sub, "x", "y") || cfg.Resolve("/abs") != "/abs" || cfg.Resolve("") != "" {
		t.Error("Resolve")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	mustFail(t, err, "nope.yaml")
}

func TestAccountIDValidation(t *testing.T) {
	for _, bad := range []string{"12345", "1234567890123", "12345678901a", ""} {
		src := strings.Replace(minimal, `"123456789012"`, `"`+bad+`"`, 1)
		_, err := parse(t, src, noEnv)
		mustFail(t, err, "accounts[0]", "12-digit")
	}
	_, err := parse(t, strings.Replace(minimal, "accounts:\n", "accounts:\n  - id: \"123456789012\"\n", 1), noEnv)
	mustFail(t, err, "accounts[1]", "listed twice")
	// Leading zeros survive when quoted, as the message advises.
	cfg, err := parse(t, strings.Replace(minimal, `"123456789012"`, `"012345678901"`, 1), noEnv)
	if err != nil || cfg.Accounts[0].ID != "012345678901" {
		t.Errorf("quoted id with leading zero: %v %v", cfg, err)
	}
}

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		wants     []string
	}{
		{"bad email", "directory:\n  users:\n    - email: alice\n", []string{"directory.users[0]", "not an email"}},
		{"duplicate email", "directory:\n  users:\n    - email: a@x.com\n    - email: A@X.com\n", []string{"directory.users[1]", "email a@x.com of directory.users[0]"}},
		{"duplicate slack id", "directory:\n  users:\n    - {email: a@x.com, slack_id: U1}\n    - {email: b@x.com, slack_id: U1}\n", []string{"slack_id U1"}},
		{"driver", "store:\n  driver: mysql\n", []string{"store.driver", "mysql"}},
		{"instance arn", "providers:\n  aws:\n    permission_sets: {A: b}\n", []string{"instance_arn is required"}},
		{"permission sets", "providers:\n  aws:\n    instance_arn: x\n", []string{"permission_sets is empty"}},
		{"wrong type", "expiry:\n  workers: many\n", []string{"drawbridge.yaml:2:"}},
		{"bad duration", "expiry:\n  max_sleep: soon\n", []string{"drawbridge.yaml", "2", "soon"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.src, noEnv)
			mustFail(t, err, tc.wants...)
		})
	}
}

// Config durations use the grammar of package duration, days included.
func TestDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"7d": 7 * 24 * time.Hour, "1d": 24 * time.Hour, "1d12h": 36 * time.Hour, "90s": 90 * time.Second,
		"2h": 2 * time.Hour, "15m": 15 * time.Minute, "1h30m": 90 * time.Minute, "100ms": 100 * time.Millisecond,
	} {
		cfg, err := parse(t, "expiry:\n  max_sleep: "+in+"\n", noEnv)
		if err != nil || cfg.Expiry.MaxSleep.Std() != want {
			t.Errorf("max_sleep %s: %v, %v", in, cfg, err)
		}
	}
	for _, bad := range []string{`""`, "d", "1.5d", "7days", "-d", "7dd", "soon", "1w", "-1s", "+1s", "1 h"} {
		_, err := parse(t, "expiry:\n  max_sleep: "+bad+"\n", noEnv)
		mustFail(t, err, "drawbridge.yaml:2: expiry.max_sleep: invalid duration")
	}
}

// Item 7 of issue 7: the work lease must outlast the provider call it
// protects; a configuration that breaks that is refused, naming both keys
// and a value that works.
func TestLeaseOutlastsProviderTimeout(t *testing.T) {
	cfg, err := parse(t, minimal, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Expiry.ProviderTimeout.Std(), 2*time.Minute; got != want {
		t.Errorf("default provider_timeout %v, want %v", got, want)
	}
	if got, want := cfg.Expiry.ProvisionLease.Std(), 150*time.Second; got != want {
		t.Errorf("default provision_lease %v, want %v (the timeout plus 30s)", got, want)
	}
	cfg, err = parse(t, minimal+"expiry:\n  provider_timeout: 10s\n", noEnv)
	if err != nil || cfg.Expiry.ProvisionLease.Std() != 40*time.Second {
		t.Errorf("lease derived from a configured timeout: %v, %v", cfg.Expiry.ProvisionLease, err)
	}
	for _, tc := range []struct{ src, want string }{
		// The lease that was the default before: shorter than a provider call.
		{"expiry:\n  provision_lease: 30s\n", "expiry.provision_lease 30s is too short for expiry.provider_timeout 2m0s"},
		{"expiry:\n  provision_lease: 30s\n", "set provision_lease to at least 2m5s"},
		{"expiry:\n  provider_timeout: 1m\n  provision_lease: 1m\n", "set provision_lease to at least 1m5s"},
		{"expiry:\n  provider_timeout: -1s\n", `expiry.provider_timeout: invalid duration "-1s"`},
	} {
		_, err := parse(t, minimal+tc.src, noEnv)
		mustFail(t, err, tc.want)
	}
	if _, err := parse(t, minimal+"expiry:\n  provider_timeout: 1m\n  provision_lease: 65s\n", noEnv); err != nil {
		t.Errorf("lease of timeout + margin refused: %v", err)
	}
}

// limits.min_duration defaults to 10s, can be set, and must be at least
// a second and within the hard limit.
func TestLimits(t *testing.T) {
	cfg, err := parse(t, "", noEnv)
	if err != nil || cfg.Limits.MinDuration.Std() != 10*time.Second {
		t.Fatalf("default min_duration: %v, %v", cfg, err)
	}
	cfg, err = parse(t, "limits:\n  min_duration: 1m\n", noEnv)
	if err != nil || cfg.Limits.MinDuration.Std() != time.Minute {
		t.Fatalf("min_duration 1m: %v, %v", cfg, err)
	}
	for in, want := range map[string]string{
		"500ms": "limits.min_duration 500ms is below 1s",
		"1ns":   "limits.min_duration 1ns is below 1s",
		"8d":    "limits.min_duration 8d is above the hard limit of 168h (7d)",
	} {
		_, err := parse(t, "limits:\n  min_duration: "+in+"\n", noEnv)
		mustFail(t, err, want)
	}
	_, err = parse(t, "limits:\n  max_duration: 1h\n", noEnv)
	mustFail(t, err, `unknown key "max_duration" in limits`)
}
