package config

import (
	"github.com/drawbridge-jit/drawbridge/webhook"
)

// Webhook configures a provider of kind webhook: grants and removals are
// signed JSON events POSTed to url (docs/providers.md).
type Webhook struct {
	URL string `yaml:"url"`
	// Secret signs every event. Secrets is the list form for rotation:
	// every secret in it signs (one v1= each), so receivers can move to a
	// new secret without downtime. Give one of the two.
	Secret  string   `yaml:"secret"`
	Secrets []string `yaml:"secrets"`
	// Timeout bounds one delivery (default 10s); expiry.provider_timeout
	// bounds it too.
	Timeout Duration `yaml:"timeout"`
}

// SigningSecrets returns the secrets that sign events, in order.
func (w *Webhook) SigningSecrets() [][]byte {
	var out [][]byte
	if w.Secret != "" {
		out = append(out, []byte(w.Secret))
	}
	for _, s := range w.Secrets {
		out = append(out, []byte(s))
	}
	return out
}

// minSecretLen is the shortest signing secret accepted: an HMAC key a
// receiver and Drawbridge share, which guessing must not find.
const minSecretLen = 16

// validateWebhook checks the settings of a provider of kind webhook.
func validateWebhook(_ *Config, p *Provider, key string, add func(format string, args ...any)) {
	w := p.Webhook
	if err := webhook.CheckURL(w.URL); err != nil {
		add("%s.url: %v", key, err)
	}
	switch {
	case w.Secret == "" && len(w.Secrets) == 0:
		add("%s.secret is required: the key that signs every event (e.g. secret: ${HOOKS_SECRET}, from `openssl rand -hex 32`); receivers verify with it", key)
	case w.Secret != "" && len(w.Secrets) > 0:
		add("%s: give secret: or secrets: (the list form, for rotation), not both", key)
	}
	for i, s := range w.SigningSecrets() {
		if len(s) < minSecretLen {
			add("%s: signing secret %d is %d characters: use at least %d (e.g. `openssl rand -hex 32`)", key, i+1, len(s), minSecretLen)
		}
	}
}
