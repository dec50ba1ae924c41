package config

import (
	"github.com/drawbridge-jit/drawbridge/entra"
)

// Entra configures a provider of kind entra: Entra ID group membership
// through PIM or directly (docs/providers.md).
type Entra struct {
	// TenantID, ClientID and ClientSecret are the app registration's
	// credentials (client-credentials flow); write the secret as
	// ${ENTRA_CLIENT_SECRET}.
	TenantID     string `yaml:"tenant_id"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// Mode is pim (default: time-bound PIM assignments Entra also ends
	// itself) or membership (plain group membership).
	Mode string `yaml:"mode"`
	// LoginEndpoint and GraphEndpoint default to the public cloud; dev
	// mode and tests point them at the loopback emulator.
	LoginEndpoint string `yaml:"login_endpoint"`
	GraphEndpoint string `yaml:"graph_endpoint"`
	// Timeout bounds one Graph call (default 30s).
	Timeout Duration `yaml:"timeout"`
}

// validateEntra checks the settings of a provider of kind entra.
func validateEntra(_ *Config, p *Provider, key string, add func(format string, args ...any)) {
	e := p.Entra
	if e.TenantID == "" {
		add("%s.tenant_id is required: the directory (tenant) id of your Entra tenant", key)
	}
	if e.ClientID == "" {
		add("%s.client_id is required: the application (client) id of the app registration Drawbridge uses", key)
	}
	if e.ClientSecret == "" {
		add("%s.client_secret is required: write it as ${ENTRA_CLIENT_SECRET} and set that environment variable, so the secret stays out of the file", key)
	}
	if e.Mode != entra.ModePIM && e.Mode != entra.ModeMembership {
		add("%s.mode %q: use %s (PIM for Groups, default) or %s (plain group membership, without PIM licences)", key, e.Mode, entra.ModePIM, entra.ModeMembership)
	}
	for _, ep := range []struct{ key, url string }{{"login_endpoint", e.LoginEndpoint}, {"graph_endpoint", e.GraphEndpoint}} {
		if err := entra.CheckEndpoint(ep.url); err != nil {
			add("%s.%s: %v", key, ep.key, err)
		}
	}
	if e.Timeout < 0 {
		add("%s.timeout is %s: it must not be negative", key, e.Timeout.Std())
	}
	for i, r := range p.Resources {
		for _, role := range r.Roles {
			if role != entra.RoleMember && role != entra.RoleOwner {
				add("%s.resources[%d] (%s): role %q: an Entra group's roles are %s and %s", key, i, r.Name, role, entra.RoleMember, entra.RoleOwner)
			}
		}
	}
}

func defaultEntra(p *Provider) {
	e := p.Entra
	if e.Mode == "" {
		e.Mode = entra.ModePIM
	}
	if e.LoginEndpoint == "" {
		e.LoginEndpoint = entra.DefaultLoginEndpoint
	}
	if e.GraphEndpoint == "" {
		e.GraphEndpoint = entra.DefaultGraphEndpoint
	}
	if e.Timeout == 0 {
		e.Timeout = Duration(entra.DefaultTimeout)
	}
}
