package config

import (
	"github.com/drawbridge-jit/drawbridge/okta"
)

// Okta configures a provider of kind okta: Okta group membership
// (docs/providers.md).
type Okta struct {
	// OrgURL is the org's address (https://example.okta.com); dev mode and
	// tests point it at the loopback emulator.
	OrgURL string `yaml:"org_url"`
	// APIToken is an Okta API token of an admin with Group Admin (or
	// Super Admin); write it as ${OKTA_API_TOKEN}.
	APIToken string `yaml:"api_token"`
	// Timeout bounds one API call (default 30s).
	Timeout Duration `yaml:"timeout"`
}

// validateOkta checks the settings of a provider of kind okta.
func validateOkta(_ *Config, p *Provider, key string, add func(format string, args ...any)) {
	o := p.Okta
	if o.OrgURL == "" {
		add("%s.org_url is required: your Okta org's address, such as https://example.okta.com", key)
	} else if err := okta.CheckOrgURL(o.OrgURL); err != nil {
		add("%s.org_url: %v", key, err)
	}
	if o.APIToken == "" {
		add("%s.api_token is required: write it as ${OKTA_API_TOKEN} and set that environment variable, so the token stays out of the file", key)
	}
	for i, r := range p.Resources {
		for _, role := range r.Roles {
			if role != okta.RoleMember {
				add("%s.resources[%d] (%s): role %q: an Okta group's one role is %s", key, i, r.Name, role, okta.RoleMember)
			}
		}
	}
}

func defaultOkta(p *Provider) {
	if p.Okta.Timeout == 0 {
		p.Okta.Timeout = Duration(okta.DefaultTimeout)
	}
}
