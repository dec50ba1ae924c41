package config

import (
	"slices"

	"github.com/drawbridge-jit/drawbridge/boundary"
)

// Boundary configures a provider of kind boundary: HashiCorp Boundary role
// principals, and the ending of Boundary sessions when access ends
// (docs/providers.md, docs/boundary-entra.md).
type Boundary struct {
	// Addr is the controller's address (https://boundary.example.com);
	// the sandbox and tests point it at the loopback emulator.
	Addr string `yaml:"addr"`
	// AuthMethodID, LoginName and Password sign in with a password auth
	// method; write the password as ${BOUNDARY_PASSWORD}.
	AuthMethodID string `yaml:"auth_method_id"`
	LoginName    string `yaml:"login_name"`
	Password     string `yaml:"password"`
	// Token is an auth token used as it is, instead of a password sign-in;
	// write it as ${BOUNDARY_TOKEN}.
	Token string `yaml:"token"`
	// Scopes are where a revoke cancels the person's live sessions, each
	// with everything below it (default: [global], everywhere).
	Scopes []string `yaml:"scopes"`
	// Timeout bounds one API call (default 30s).
	Timeout Duration `yaml:"timeout"`
}

// validateBoundary checks the settings of a provider of kind boundary.
func validateBoundary(_ *Config, p *Provider, key string, add func(format string, args ...any)) {
	b := p.Boundary
	if b.Addr == "" {
		add("%s.addr is required: your Boundary controller's address, such as https://boundary.example.com", key)
	} else if err := boundary.CheckAddr(b.Addr); err != nil {
		add("%s.addr: %v", key, err)
	}
	pw := b.AuthMethodID != "" || b.LoginName != "" || b.Password != ""
	switch {
	case b.Token != "" && pw:
		add("%s: give token, or auth_method_id with login_name and password, not both", key)
	case b.Token == "" && !pw:
		add("%s: no credentials: give auth_method_id (ampw_…), login_name and password: ${BOUNDARY_PASSWORD}, or token: ${BOUNDARY_TOKEN}", key)
	case pw && (b.AuthMethodID == "" || b.LoginName == "" || b.Password == ""):
		add("%s: password sign-in needs all of auth_method_id (the password auth method, ampw_…), login_name and password (write it as ${BOUNDARY_PASSWORD})", key)
	}
	for i, s := range b.Scopes {
		if err := boundary.CheckScopeID(s); err != nil {
			add("%s.scopes[%d]: %v", key, i, err)
		}
		if slices.Index(b.Scopes, s) != i {
			add("%s.scopes: %q is listed twice", key, s)
		}
	}
	if b.Timeout < 0 {
		add("%s.timeout is %s: it must not be negative", key, b.Timeout.Std())
	}
	if len(p.EndSessions) > 0 {
		add("%s.end_sessions: a provider of kind boundary ends its own sessions (in its scopes); end_sessions belongs on the provider whose grants a Boundary managed group mirrors, such as providers.entra", key)
	}
	for i, r := range p.Resources {
		if r.Name == "" {
			continue
		}
		if err := boundary.CheckRoleID(r.Name); err != nil {
			add("%s.resources[%d]: name: %v; give a readable name as an alias (aliases: [oncall-prod])", key, i, err)
		}
		for _, role := range r.Roles {
			if role != boundary.RoleMember {
				add("%s.resources[%d] (%s): role %q: a Boundary role's one role is %s (being one of its principals)", key, i, r.Name, role, boundary.RoleMember)
			}
		}
	}
}

func defaultBoundary(p *Provider) {
	if p.Boundary.Timeout == 0 {
		p.Boundary.Timeout = Duration(boundary.DefaultTimeout)
	}
	if len(p.Boundary.Scopes) == 0 {
		p.Boundary.Scopes = slices.Clone(boundary.DefaultScopes)
	}
}
