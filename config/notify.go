package config

import (
	"fmt"
	"github.com/drawbridge-jit/drawbridge/outbound"
	"net/url"
	"time"
)

// Notifier is one entry of notify: in drawbridge.yaml: where notifications
// (docs/operations.md, "Notifications") go.
type Notifier struct {
	// Kind is webhook or log.
	Kind string `yaml:"kind"`
	// Name keys the notifier's delivery cursor in the store and its
	// metrics; it defaults to the kind, so two of one kind need names.
	// Renaming a notifier starts it afresh from the end of the audit log.
	Name string `yaml:"name"`
	// URL receives the signed JSON POSTs (webhook).
	URL string `yaml:"url"`
	// Secret signs each body; Secrets lists several, each signing in
	// parallel (one v1= per secret), so receivers rotate without downtime.
	Secret  string   `yaml:"secret"`
	Secrets []string `yaml:"secrets"`
	// Timeout bounds one delivery (webhook). Default 10s.
	Timeout Duration `yaml:"timeout"`
}

// NotifierKinds are the kinds notify: accepts.
var NotifierKinds = []string{"webhook", "log"}

// Bounds of a webhook notifier's timeout: the delivery cursor's lease
// (one minute) must outlast a delivery with room to spare.
const (
	minNotifyTimeout     = time.Second
	maxNotifyTimeout     = 50 * time.Second
	defaultNotifyTimeout = 10 * time.Second
	minSecretBytes       = 16
)

// SigningSecrets returns secret and secrets together, in that order.
func (n Notifier) SigningSecrets() []string {
	var out []string
	if n.Secret != "" {
		out = append(out, n.Secret)
	}
	return append(out, n.Secrets...)
}

func (c *Config) notifyDefaults() {
	for i := range c.Notify {
		n := &c.Notify[i]
		if n.Name == "" {
			n.Name = n.Kind
		}
		if n.Kind == "webhook" && n.Timeout == 0 {
			n.Timeout = Duration(defaultNotifyTimeout)
		}
	}
}

func (c *Config) validateNotify(add func(format string, args ...any)) {
	names := map[string]bool{}
	for i, n := range c.Notify {
		key := fmt.Sprintf("notify[%d]", i)
		switch n.Kind {
		case "webhook":
			c.validateWebhookNotifier(key, n, add)
		case "log":
			if n.URL != "" || n.Secret != "" || len(n.Secrets) > 0 || n.Timeout != 0 {
				add("%s: url, secret, secrets and timeout are for kind webhook, not log", key)
			}
		case "":
			add("%s: kind is missing: give webhook or log", key)
			continue
		default:
			add("%s: kind %q is not a notifier: give webhook or log", key, n.Kind)
			continue
		}
		switch {
		case !providerName.MatchString(n.Name):
			add("%s: name %q: use lower-case letters, digits, '-' and '_', starting with a letter (it names the notifier's cursor and metrics)", key, n.Name)
		case names[n.Name]:
			add("%s: a second notifier named %q: give each one a distinct name: (it keys the notifier's delivery cursor in the store)", key, n.Name)
		}
		names[n.Name] = true
	}
}

func (c *Config) validateWebhookNotifier(key string, n Notifier, add func(format string, args ...any)) {
	if n.URL == "" {
		add("%s: a webhook notifier needs url: where to POST notifications", key)
	} else if u, err := url.Parse(n.URL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		add("%s: url %q must be an absolute https URL", key, redactURL(n.URL))
	} else if u.Scheme == "http" && !outbound.Loopback(u.Hostname()) {
		add("%s: url %s: use https (notifications name people and what they were granted); plain http is only for a receiver on loopback", key, redactURL(n.URL))
	}
	secrets := n.SigningSecrets()
	if len(secrets) == 0 {
		add("%s: a webhook notifier needs secret: (or secrets: for rotation) to sign its bodies; use ${ENV} to keep it out of the file", key)
	}
	for _, s := range secrets {
		if len(s) < minSecretBytes {
			add("%s: a secret is %d bytes: give at least %d (a short secret can be guessed from signed bodies)", key, len(s), minSecretBytes)
		}
	}
	if t := n.Timeout.Std(); t < minNotifyTimeout || t > maxNotifyTimeout {
		add("%s: timeout %s is out of range: give 1s to 50s (default 10s)", key, t)
	}
}

// redactURL drops user info and query, which may carry credentials, from
// a URL shown in a message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
