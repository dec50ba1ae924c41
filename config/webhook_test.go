package config

import (
	"strings"
	"testing"
	"time"
)

// The config shape: providers.hooks of kind webhook with a url, a
// secret from the environment, and its own resources.
func TestWebhookProvider(t *testing.T) {
	env := func(k string) (string, bool) {
		return map[string]string{"HOOKS_SECRET": "0123456789abcdef0123", "NEXT_SECRET": "fedcba9876543210fedc"}[k], k == "HOOKS_SECRET" || k == "NEXT_SECRET"
	}
	src := `providers:
  hooks:
    kind: webhook
    url: https://grants.internal.example/drawbridge
    secret: ${HOOKS_SECRET}
    resources:
      - name: payroll-db
        roles: [reader, admin]
`
	cfg, err := Parse("/x/drawbridge.yaml", []byte(src), env)
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Providers["hooks"].Webhook
	if w == nil || w.URL != "https://grants.internal.example/drawbridge" || len(w.SigningSecrets()) != 1 ||
		string(w.SigningSecrets()[0]) != "0123456789abcdef0123" || w.Timeout.Std() != 10*time.Second {
		t.Fatalf("webhook settings %+v", w)
	}
	rotated := strings.Replace(src, "secret: ${HOOKS_SECRET}", "secrets:\n      - ${NEXT_SECRET}\n      - ${HOOKS_SECRET}", 1)
	cfg, err = Parse("/x/drawbridge.yaml", []byte(rotated), env)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Providers["hooks"].Webhook.SigningSecrets(); len(s) != 2 || string(s[0]) != "fedcba9876543210fedc" {
		t.Fatalf("rotation secrets %q", s)
	}

	for _, tc := range []struct{ settings, want string }{
		{"    secret: 0123456789abcdef\n", "providers.hooks.url: url is required"},
		{"    url: http://grants.internal.example/\n    secret: 0123456789abcdef\n", "providers.hooks.url: url \"http://grants.internal.example/\" is plain http"},
		{"    url: https://x.example/\n", "providers.hooks.secret is required"},
		{"    url: https://x.example/\n    secret: short\n", "signing secret 1 is 5 characters: use at least 16"},
		{"    url: https://x.example/\n    secret: 0123456789abcdef\n    secrets: [0123456789abcdef]\n", "not both"},
		{"    url: https://x.example/\n    secret: 0123456789abcdef\n    timeout: -5s\n", "providers.hooks.timeout: invalid duration"},
		{"    url: https://x.example/\n    secret: 0123456789abcdef\n    secret_key: x\n", `unknown key "secret_key" in providers.hooks`},
	} {
		src := "providers:\n  hooks:\n    kind: webhook\n" + tc.settings + "    resources: [{name: payroll-db, roles: [reader]}]\n"
		_, err := Parse("/x/drawbridge.yaml", []byte(src), env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.settings, err, tc.want)
		}
	}
}
