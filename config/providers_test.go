package config_test

import (
	"strings"
	"testing"
)

const awsSettings = `    instance_arn: arn:aws:sso:::instance/ssoins-0000000000000000
    permission_sets:
      ReadOnlyAccess: arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-206114b2346a5d55
`

// providers: is a map of instance name to settings; kind defaults to the
// name, so the config of before keeps its meaning, and an instance may have
// any name when it says its kind.
func TestProvidersByName(t *testing.T) {
	cfg, err := parse(t, minimal, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Providers["aws"]
	if p == nil || p.Kind != "aws" || false {
		t.Fatalf("providers.aws without kind: %+v", p)
	}
	cfg, err = parse(t, "providers:\n  prod-sso:\n    kind: aws\n"+awsSettings, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Providers["prod-sso"]; p == nil || p.Kind != "aws" || p.AWS.InstanceARN == "" || false {
		t.Fatalf("providers.prod-sso of kind aws: %+v", p)
	}
}

// A kind this build does not have is refused naming the kinds it has; so is
// a name that is not a kind when kind is left out, and a second aws.
func TestProviderKindRefused(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		wants     []string
	}{
		{"unknown kind", "providers:\n  hooks:\n    kind: nosuch\n    url: https://x.example\n",
			[]string{"drawbridge.yaml:3:", "providers.hooks", `kind "nosuch" is not a provider kind of this build`, "the kinds are aws"}},
		{"no kind", "providers:\n  hooks:\n    url: https://x.example\n",
			[]string{"drawbridge.yaml:3:", "providers.hooks: no kind", "add kind: with one of aws"}},
		{"bad name", "providers:\n  Hooks:Prod:\n    kind: aws\n" + awsSettings,
			[]string{"drawbridge.yaml:2:", `provider name "Hooks:Prod"`}},
		{"two aws", "providers:\n  aws:\n" + awsSettings + "  aws2:\n    kind: aws\n" + awsSettings,
			[]string{"providers aws, aws2 are all of kind aws"}},
		{"aws resources", "providers:\n  aws:\n" + awsSettings + "    resources: [{name: x, roles: [r]}]\n",
			[]string{"drawbridge.yaml:6:", "providers.aws.resources", "accounts: and permission_sets"}},
		{"not a mapping", "providers:\n  aws: yes\n", []string{"drawbridge.yaml:2:", "providers.aws must be a mapping"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.src, noEnv)
			mustFail(t, err, tc.wants...)
		})
	}
}

// Unknown keys inside a provider are refused with their line and their
// full key path, however deep, and every one is reported.
func TestProviderUnknownKeys(t *testing.T) {
	src := "providers:\n  prod:\n    kind: aws\n" + awsSettings + "    regoin: x\n    organizations:\n      enabld: true\n"
	_, err := parse(t, src, noEnv)
	mustFail(t, err, `drawbridge.yaml:7: unknown key "regoin" in providers.prod`,
		`drawbridge.yaml:9: unknown key "enabld" in providers.prod.organizations`)
	// A duration inside a provider still names its key.
	_, err = parse(t, strings.Replace(minimal, "    instance_arn:", "    poll_interval: soon\n    instance_arn:", 1), noEnv)
	mustFail(t, err, "drawbridge.yaml:9: providers.aws.poll_interval: invalid duration")
}

// An account's aliases are names a request may use for it: each means one
// account, and none looks like an account id or a provider:resource.
func TestAccountAliases(t *testing.T) {
	src := strings.Replace(minimal, `  - id: "123456789012"`, `  - id: "123456789012"
    aliases: [staging]`, 1)
	cfg, err := parse(t, src, noEnv)
	if err != nil || len(cfg.Accounts[0].Aliases) != 1 {
		t.Fatalf("aliases: %v %v", cfg, err)
	}
	for alias, want := range map[string]string{
		"'111122223333'": "is not 12 digits", "'aws:x'": `alias "aws:x"`, "'a b'": `alias "a b"`,
		"'ops@example.com'": "is written as a person",
	} {
		_, err := parse(t, strings.Replace(src, "[staging]", "["+alias+"]", 1), noEnv)
		mustFail(t, err, "accounts[0]", want)
	}
	_, err = parse(t, strings.Replace(src, "accounts:\n", "accounts:\n  - {id: \"111122223333\", aliases: [staging]}\n", 1), noEnv)
	mustFail(t, err, `accounts[1]: alias "staging" is already an alias of accounts[0]`)
}
