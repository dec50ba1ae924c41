package config

import (
	"strings"
	"testing"
)

// testKind is a provider kind without a built-in catalog, standing for
// the ones (webhook, …) that take their resources from config.
type testKind struct {
	URL string `yaml:"url"`
}

func withTestKind(t *testing.T) {
	t.Helper()
	kinds["testkind"] = kind{settings: func(p *Provider) any { return &testKind{} }}
	t.Cleanup(func() { delete(kinds, "testkind") })
}

func TestProviderResources(t *testing.T) {
	withTestKind(t)
	src := `providers:
  hooks:
    kind: testkind
    url: https://x.example
    resources:
      - name: payroll-db
        display_name: Payroll database
        aliases: [payroll]
        roles: [reader, admin]
`
	cfg, err := Parse("/x/drawbridge.yaml", []byte(src), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Providers["hooks"]
	if p.Kind != "testkind" || len(p.Resources) != 1 || p.Resources[0].Name != "payroll-db" || p.Resources[0].DisplayName != "Payroll database" ||
		strings.Join(p.Resources[0].Aliases, ",") != "payroll" || strings.Join(p.Resources[0].Roles, ",") != "reader,admin" {
		t.Fatalf("hooks: %+v %+v", p, p.Resources)
	}
	for _, tc := range []struct{ src, want string }{
		{"    resources:\n      - name: a\n        rolez: [r]\n", `drawbridge.yaml:7: unknown key "rolez" in providers.hooks.resources[0]`},
		{"    urll: x\n    resources: [{name: a, roles: [r]}]\n", `drawbridge.yaml:5: unknown key "urll" in providers.hooks`},
		{"", "providers.hooks.resources is empty"},
		{"    resources: [{name: a}]\n", "providers.hooks.resources[0] (a).roles is empty"},
		{"    resources: [{roles: [r]}]\n", "providers.hooks.resources[0].name is required"},
		{"    resources: [{name: 'a:b', roles: [r]}]\n", `"a:b" contains ":"`},
		{"    resources: [{name: '123456789012', roles: [r]}]\n", "would be read as an AWS account id"},
		{"    resources: [{name: a, roles: [r, r]}]\n", `"r" is listed twice`},
		{"    resources: [{name: a, roles: [r]}, {name: b, aliases: [a], roles: [r]}]\n", `providers.hooks.resources[1] (b): alias "a" is already the name or an alias of providers.hooks.resources[0] (a)`},
		{"    resources: [{name: 'a b', roles: [r]}]\n", `"a b"`},
		{"    resources: [{name: db, aliases: [ops@example.com], roles: [r]}]\n", `"ops@example.com" is written as a person`},
		{"    resources: [{name: U12345678, roles: [r]}]\n", `"U12345678" is written as a person`},
	} {
		src := "providers:\n  hooks:\n    kind: testkind\n    url: https://x.example\n" + tc.src
		_, err := Parse("/x/drawbridge.yaml", []byte(src), func(string) (string, bool) { return "", false })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

// The name aws is kept for a provider of kind aws: policy reads an aws
// rule's resources as account ids, and a bare account id names it.
func TestProviderNamedAWSMustBeAWS(t *testing.T) {
	withTestKind(t)
	_, err := Parse("/x/drawbridge.yaml", []byte("providers:\n  aws:\n    kind: testkind\n    url: x\n    resources: [{name: a, roles: [r]}]\n"), func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "providers.aws is of kind testkind: the name aws is kept for a provider of kind aws") {
		t.Errorf("providers.aws of another kind: %v", err)
	}
}
