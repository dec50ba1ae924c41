package config

import (
	"strings"
	"testing"
	"time"
)

func parseNotify(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	return Parse("/etc/drawbridge/drawbridge.yaml", []byte(yaml), func(k string) (string, bool) {
		if k == "NOTIFY_SECRET" {
			return "0123456789abcdef-secret", true
		}
		return "", false
	})
}

// The notify: list of issue 8's config shape, with its defaults.
func TestNotifyConfig(t *testing.T) {
	c, err := parseNotify(t, `
notify:
  - kind: webhook
    url: https://chatops.internal.example/drawbridge
    secret: ${NOTIFY_SECRET}
  - kind: log
  - kind: webhook
    name: incidents
    url: http://127.0.0.1:9000/hook
    secrets: [old-secret-0123456789, new-secret-0123456789]
    timeout: 5s
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Notify) != 3 {
		t.Fatalf("%d notifiers", len(c.Notify))
	}
	w, l, inc := c.Notify[0], c.Notify[1], c.Notify[2]
	if w.Name != "webhook" || w.Timeout.Std() != 10*time.Second || strings.Join(w.SigningSecrets(), ",") != "0123456789abcdef-secret" {
		t.Errorf("webhook: %+v", w)
	}
	if l.Name != "log" || l.Kind != "log" {
		t.Errorf("log: %+v", l)
	}
	if inc.Name != "incidents" || inc.Timeout.Std() != 5*time.Second || len(inc.SigningSecrets()) != 2 {
		t.Errorf("incidents: %+v", inc)
	}
}

func TestNotifyConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown kind", "notify:\n  - kind: slack\n", `notify[0]: kind "slack" is not a notifier: give webhook or log`},
		{"no kind", "notify:\n  - url: https://x.example/h\n", `notify[0]: kind is missing: give webhook or log`},
		{"no url", "notify:\n  - kind: webhook\n    secret: 0123456789abcdef\n", "notify[0]: a webhook notifier needs url:"},
		{"plain http off loopback", "notify:\n  - kind: webhook\n    url: http://hooks.example/x\n    secret: 0123456789abcdef\n", "notify[0]: url http://hooks.example/x: use https"},
		{"no secret", "notify:\n  - kind: webhook\n    url: https://x.example/h\n", "notify[0]: a webhook notifier needs secret: (or secrets:"},
		{"short secret", "notify:\n  - kind: webhook\n    url: https://x.example/h\n    secret: short\n", "notify[0]: a secret is 5 bytes: give at least 16"},
		{"log with url", "notify:\n  - kind: log\n    url: https://x.example/h\n", "notify[0]: url, secret, secrets and timeout are for kind webhook, not log"},
		{"duplicate name", "notify:\n  - kind: log\n  - kind: log\n", `notify[1]: a second notifier named "log": give each one a distinct name:`},
		{"bad name", "notify:\n  - kind: log\n    name: Has Space\n", `notify[0]: name "Has Space"`},
		{"long timeout", "notify:\n  - kind: webhook\n    url: https://x.example/h\n    secret: 0123456789abcdef\n    timeout: 2m\n", "notify[0]: timeout 2m0s is out of range: give 1s to 50s"},
		{"unknown key", "notify:\n  - kind: log\n    colour: red\n", `unknown key "colour" in notify[]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseNotify(t, tc.yaml)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
