package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/oidc/claims"
	"github.com/drawbridge-jit/drawbridge/outbound"
)

// OIDC configures sign-in with the organisation's OpenID Connect
// provider for the web pages (docs/sign-in.md).
type OIDC struct {
	Issuer            string   `yaml:"issuer"`
	ClientID          string   `yaml:"client_id"`
	ClientSecret      string   `yaml:"client_secret"`
	SigningAlgorithms []string `yaml:"signing_algorithms"`
	// APIURLPrefix is Drawbridge's public URL (default server.public_url);
	// the provider redirects to it + /v1/auth-methods/oidc:authenticate:callback.
	APIURLPrefix string   `yaml:"api_url_prefix"`
	Scopes       []string `yaml:"scopes"`
	ClaimsScopes []string `yaml:"claims_scopes"`
	MaxAge       Duration `yaml:"max_age"`
	// AllowedTenants restricts Entra sign-ins to these tenant ids (tid).
	AllowedTenants []string `yaml:"allowed_tenants"`
	// EmailDomains are the domains whose verified e-mail may match a
	// directory entry that has no linked oidc identity.
	EmailDomains []string `yaml:"email_domains"`
	RefuseGuests bool     `yaml:"refuse_guests"`
	ACRValues    []string `yaml:"acr_values"`
	// SessionIdleTimeout (default 30m) and SessionAbsoluteTimeout (default
	// 12h) end web sessions; StepUpWindow (default 5m) is how recent an
	// authentication the approval page accepts.
	SessionIdleTimeout     Duration `yaml:"session_idle_timeout"`
	SessionAbsoluteTimeout Duration `yaml:"session_absolute_timeout"`
	StepUpWindow           Duration `yaml:"step_up_window"`
}

// RoleBinding gives roles within a scope to people and groups signed in
// through OIDC (roles: in the config).
type RoleBinding struct {
	Members []string `yaml:"members"`
	Roles   []string `yaml:"roles"`
	Scope   struct {
		Providers []string `yaml:"providers"`
		Resources []string `yaml:"resources"`
		Roles     []string `yaml:"roles"`
	} `yaml:"scope"`
}

// DomainRoles returns the role bindings as the domain has them (they
// were validated at load).
func (c *Config) DomainRoles() []drawbridge.RoleBinding {
	var out []drawbridge.RoleBinding
	for _, b := range c.Roles {
		rb := drawbridge.RoleBinding{Members: b.Members, Scope: drawbridge.Scope{
			Providers: b.Scope.Providers, Resources: b.Scope.Resources, Roles: b.Scope.Roles}}
		for _, r := range b.Roles {
			role, _ := drawbridge.ParseRole(r)
			rb.Roles = append(rb.Roles, role)
		}
		out = append(out, rb)
	}
	return out
}

func (c *Config) oidcDefaults() {
	if c.ManagedGroups.ValidFor == 0 {
		c.ManagedGroups.ValidFor = Duration(time.Hour)
	}
	o := c.OIDC
	if o == nil {
		return
	}
	if o.APIURLPrefix == "" {
		o.APIURLPrefix = c.Server.PublicURL
	}
	if len(o.SigningAlgorithms) == 0 {
		o.SigningAlgorithms = []string{"RS256"}
	}
	if o.Scopes == nil {
		o.Scopes = []string{"openid", "profile", "email"}
	}
	if o.SessionIdleTimeout == 0 {
		o.SessionIdleTimeout = Duration(30 * time.Minute)
	}
	if o.SessionAbsoluteTimeout == 0 {
		o.SessionAbsoluteTimeout = Duration(12 * time.Hour)
	}
	if o.StepUpWindow == 0 {
		o.StepUpWindow = Duration(5 * time.Minute)
	}
}

// signingAlgorithms are the asymmetric algorithms an ID token may be
// signed with. HS256 would make the client secret a signing key, and none
// no signature at all.
var signingAlgorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// checkPublicURL reports why u cannot be the issuer or Drawbridge's
// public URL: not an absolute http(s) URL, plain http off loopback, or a
// trailing slash (the issuer must equal the token's iss exactly, and
// Boundary's instructions warn about the same mistake).
func checkPublicURL(key, u string) error {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http") {
		return fmt.Errorf("%s %q is not an absolute https:// URL", key, u)
	}
	if p.Scheme == "http" && !outbound.Loopback(p.Hostname()) {
		return fmt.Errorf("%s %q must use https:// (plain http is accepted only on a loopback address)", key, u)
	}
	if strings.HasSuffix(u, "/") {
		return fmt.Errorf("%s %q ends with \"/\": remove the trailing slash (write %s)", key, u, strings.TrimRight(u, "/"))
	}
	if p.RawQuery != "" || p.Fragment != "" {
		return fmt.Errorf("%s %q must not carry a query or a fragment", key, u)
	}
	return nil
}

func (c *Config) validateOIDC(add func(format string, args ...any)) {
	o := c.OIDC
	if o != nil {
		if o.Issuer == "" {
			add("oidc.issuer is required: the identity provider's issuer URL, e.g. https://login.microsoftonline.com/<tenant-id>/v2.0")
		} else if err := checkPublicURL("oidc.issuer", o.Issuer); err != nil {
			add("%v", err)
		}
		if o.ClientID == "" {
			add("oidc.client_id is required: the application (client) id of Drawbridge's app registration")
		}
		if o.ClientSecret == "" {
			add("oidc.client_secret is required: write it as ${OIDC_CLIENT_SECRET} and set that environment variable, so the secret stays out of the file")
		}
		if o.APIURLPrefix == "" {
			add("oidc.api_url_prefix (or server.public_url) is required: Drawbridge's public URL, e.g. https://drawbridge.example.com; the identity provider redirects to it + /v1/auth-methods/oidc:authenticate:callback")
		} else if err := checkPublicURL("oidc.api_url_prefix", o.APIURLPrefix); err != nil {
			add("%v", err)
		}
		for _, alg := range o.SigningAlgorithms {
			if !slices.Contains(signingAlgorithms, alg) {
				add("oidc.signing_algorithms: %q is not accepted: use one of %s (none and HS* are refused: an ID token must carry the provider's own signature)", alg, strings.Join(signingAlgorithms, ", "))
			}
		}
		for _, list := range []struct {
			key  string
			vals []string
		}{{"scopes", o.Scopes}, {"claims_scopes", o.ClaimsScopes}, {"allowed_tenants", o.AllowedTenants}, {"acr_values", o.ACRValues}} {
			for _, v := range list.vals {
				if err := drawbridge.CheckID("oidc."+list.key+" entry", v); err != nil || v == "" {
					add("oidc.%s: %q is not a single word", list.key, v)
				}
			}
		}
		for _, d := range o.EmailDomains {
			if d == "" || strings.ContainsAny(d, "@ /") || strings.ToLower(d) != d || drawbridge.CheckEmail("x@"+d) != nil {
				add("oidc.email_domains: %q is not a lower-case ASCII domain (write example.com, not @example.com)", d)
			}
		}
		if o.MaxAge < 0 {
			add("oidc.max_age is %s: it must not be negative", o.MaxAge.Std())
		}
		if o.SessionIdleTimeout <= 0 || o.SessionAbsoluteTimeout <= 0 || o.StepUpWindow <= 0 {
			add("oidc.session_idle_timeout, session_absolute_timeout and step_up_window must be positive")
		} else if o.SessionIdleTimeout > o.SessionAbsoluteTimeout {
			add("oidc.session_idle_timeout %s is longer than oidc.session_absolute_timeout %s: the absolute limit would always end sessions first; shorten the idle timeout", o.SessionIdleTimeout.Std(), o.SessionAbsoluteTimeout.Std())
		}
	}
	for i, b := range c.Roles {
		key := fmt.Sprintf("roles[%d]", i)
		if len(b.Members) == 0 {
			add("%s.members is empty: name who gets the roles (\"group:<name>\", \"user:<email>\" or \"*\")", key)
		}
		for _, m := range b.Members {
			kind, v, _ := strings.Cut(m, ":")
			switch {
			case m == "*":
			case kind == "group" && v != "" && drawbridge.CheckID("group", v) == nil:
			case kind == "user" && drawbridge.CheckEmail(v) == nil:
			default:
				add("%s.members: %q is not \"group:<name>\", \"user:<email>\" or \"*\"", key, m)
			}
		}
		if len(b.Roles) == 0 {
			add("%s.roles is empty: give requester, approver, auditor or admin", key)
		}
		for _, r := range b.Roles {
			if _, err := drawbridge.ParseRole(r); err != nil {
				add("%s.roles: %s", key, drawbridge.ErrorMessage(err))
			}
		}
		for _, l := range [][]string{b.Scope.Providers, b.Scope.Resources, b.Scope.Roles} {
			for _, v := range l {
				if v == "*" || drawbridge.CheckID("scope entry", v) != nil {
					add("%s.scope: %q is not a name (leave a list out to mean every one)", key, v)
				}
			}
		}
	}
	if len(c.Roles) > 0 && o == nil {
		add("roles: gives roles to people signed in through oidc:, which is not configured")
	}
}

// ManagedGroups are groups computed from the sign-in's claims
// (docs/sign-in.md): each filter in HashiCorp Boundary's syntax, a
// membership counting for valid_for after the sign-in that computed it.
type ManagedGroups struct {
	ValidFor Duration       `yaml:"valid_for"`
	Groups   []ManagedGroup `yaml:"groups"`
}

// ManagedGroup is one managed group.
type ManagedGroup struct {
	Name   string `yaml:"name"`
	Filter string `yaml:"filter"`
}

// DomainGroups returns the managed groups as package oidc takes them.
func (m ManagedGroups) DomainGroups() []claims.ManagedGroup {
	var out []claims.ManagedGroup
	for _, g := range m.Groups {
		out = append(out, claims.ManagedGroup{Name: g.Name, Filter: g.Filter})
	}
	return out
}

func (c *Config) validateManagedGroups(add func(format string, args ...any)) {
	m := c.ManagedGroups
	if len(m.Groups) == 0 {
		return
	}
	if c.OIDC == nil {
		add("managed_groups: are computed at OIDC sign-in, and oidc: is not configured")
	}
	if m.ValidFor <= 0 {
		add("managed_groups.valid_for is %s: it must be positive (default 1h)", m.ValidFor.Std())
	}
	configGroups := map[string]bool{}
	for _, u := range c.Directory.Users {
		for _, g := range u.Groups {
			configGroups[g] = true
		}
	}
	seen := map[string]int{}
	for i, g := range m.Groups {
		key := fmt.Sprintf("managed_groups.groups[%d]", i)
		switch prev, dup := seen[g.Name]; {
		case g.Name == "" || drawbridge.CheckID("group name", g.Name) != nil || strings.Contains(g.Name, ":"):
			add("%s.name %q: give a group name without spaces or \":\" (policy names it as group:<name>)", key, g.Name)
		case dup:
			add("%s.name %q is already managed_groups.groups[%d]: group names are unique", key, g.Name, prev)
		case configGroups[g.Name]:
			add("%s.name %q is a group of directory.users: group names are one namespace across the config, the Identity Store and managed groups, and a managed group may not add members to a config group; rename one of them", key, g.Name)
		default:
			seen[g.Name] = i
		}
		if _, err := claims.CompileFilter(g.Filter); err != nil {
			add("%s (%s): %v", key, g.Name, err)
		}
	}
}
