package config

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/grammar"
	"github.com/drawbridge-jit/drawbridge/webhook"
)

// Providers is providers: in drawbridge.yaml, each configured provider
// instance by its name. The name is what policy rules (`provider: hooks`),
// tokens and requests (`hooks:payroll-db`) say; the kind says which adapter
// serves it and defaults to the name, so `providers: {aws: {…}}` is an AWS
// provider called aws.
type Providers map[string]*Provider

// Provider is one configured provider instance.
type Provider struct {
	// Name is its key under providers:.
	Name string `yaml:"-"`
	// Kind is the adapter: one of the kinds this build has (Kinds).
	Kind string `yaml:"kind"`
	// Resources is the catalog of a kind without a built-in one: what can
	// be requested from this instance, and with which roles. (AWS's catalog
	// is the top-level accounts: with its permission_sets.)
	Resources []Resource `yaml:"resources"`
	// EndSessions names the providers that end the person's live sessions
	// once this provider confirmed a removal: each a configured provider
	// of kind boundary (whose managed groups mirror this provider's
	// groups), which cancels their Boundary sessions and deletes their
	// auth tokens, or a built-in mode of this provider's kind
	// (DenyOldSessions for kind aws).
	EndSessions []string `yaml:"end_sessions"`

	// The kind's own settings: exactly one is set, the one of Kind.
	AWS      *AWS      `yaml:"-"`
	Webhook  *Webhook  `yaml:"-"`
	Entra    *Entra    `yaml:"-"`
	Okta     *Okta     `yaml:"-"`
	Boundary *Boundary `yaml:"-"`
}

// Resource is one requestable resource of a provider's catalog.
type Resource struct {
	// Name is the provider's id for it, requested as <provider>:<name>.
	Name string `yaml:"name"`
	// DisplayName is what people see beside the name.
	DisplayName string `yaml:"display_name"`
	// Aliases are other names a request may use on its own (without the
	// provider): unique within the provider; an alias two providers share
	// must be requested as <provider>:<name>.
	Aliases []string `yaml:"aliases"`
	// Roles are the roles that can be requested on it.
	Roles []string `yaml:"roles"`
}

// kind is what config knows about one provider kind: where its own
// settings go. Adding a kind is a struct of its settings (its yaml tags
// give the accepted keys, the strict key check and the JSON Schema), a
// field on Provider, and an entry in kinds.
type kind struct {
	// settings sets p's settings field for this kind to a new zero value
	// and returns it (a pointer to a struct) for decoding.
	settings func(p *Provider) any
	// builtinCatalog is true for kinds that know their resources without
	// a resources: list (AWS: accounts: and the permission sets).
	builtinCatalog bool
	// validate checks the kind's settings; key is "providers.<name>".
	validate func(c *Config, p *Provider, key string, add func(format string, args ...any))
	// defaults fills in the kind's defaults.
	defaults func(p *Provider)
}

var kinds = map[string]kind{
	"entra": {
		settings: func(p *Provider) any { p.Entra = &Entra{}; return p.Entra },
		validate: validateEntra,
		defaults: defaultEntra,
	},
	"okta": {
		settings: func(p *Provider) any { p.Okta = &Okta{}; return p.Okta },
		validate: validateOkta,
		defaults: defaultOkta,
	},
	"boundary": {
		settings: func(p *Provider) any { p.Boundary = &Boundary{}; return p.Boundary },
		validate: validateBoundary,
		defaults: defaultBoundary,
	},
	"aws": {
		settings:       func(p *Provider) any { p.AWS = &AWS{}; return p.AWS },
		builtinCatalog: true,
		validate:       validateAWS,
		defaults: func(p *Provider) {
			if p.AWS.Region == "" {
				p.AWS.Region = "us-east-1"
			}
		},
	},
	"webhook": {
		settings: func(p *Provider) any { p.Webhook = &Webhook{}; return p.Webhook },
		validate: validateWebhook,
		defaults: func(p *Provider) {
			if p.Webhook.Timeout == 0 {
				p.Webhook.Timeout = Duration(webhook.DefaultTimeout)
			}
		},
	},
}

// Kinds lists the provider kinds this build has, sorted.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// BuiltinCatalog reports whether providers of kind k know their resources
// without a resources: list.
func BuiltinCatalog(k string) bool { return kinds[k].builtinCatalog }

// providerName is what a provider may be called: it is typed in policy
// rules and requests (`hooks:payroll-db`), so no colon, no spaces, lower
// case.
var providerName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// Names returns the configured provider names, sorted.
func (ps Providers) Names() []string {
	out := make([]string, 0, len(ps))
	for n := range ps {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// AWS returns the provider of kind aws, or nil when there is none (config
// allows at most one: the top-level accounts: are its catalog).
func (ps Providers) AWS() *Provider {
	for _, n := range ps.Names() {
		if ps[n].Kind == "aws" {
			return ps[n]
		}
	}
	return nil
}

// UnmarshalYAML decodes providers: by kind. The YAML decoder's own strict
// mode does not reach into a custom decoder, so every key under a provider
// is checked here against the fields of its kind, and an unknown one is
// reported with its line and full key path.
func (ps *Providers) UnmarshalYAML(n *yaml.Node) error {
	if n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: providers must be a mapping of provider name to its settings, e.g. providers: {aws: {instance_arn: …}}", n.Line)}}
	}
	out := Providers{}
	var errs []string
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("line %d: %s", line, fmt.Sprintf(format, args...)))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, v := n.Content[i].Value, n.Content[i+1]
		key := "providers." + name
		if !providerName.MatchString(name) {
			bad(n.Content[i].Line, "provider name %q: use lower-case letters, digits, - and _, starting with a letter (it is typed in policy rules and requests as <name>:<resource>)", name)
			continue
		}
		if v.Kind != yaml.MappingNode {
			bad(v.Line, "%s must be a mapping of its settings, e.g. %s: {kind: %s, …}", key, name, Kinds()[0])
			continue
		}
		p := &Provider{Name: name, Kind: name}
		var rest yaml.Node
		rest.Kind, rest.Tag, rest.Line, rest.Column = yaml.MappingNode, "!!map", v.Line, v.Column
		var resources, endSessions *yaml.Node
		kindGiven := false
		for j := 0; j+1 < len(v.Content); j += 2 {
			k, kv := v.Content[j], v.Content[j+1]
			switch k.Value {
			case "kind":
				p.Kind, kindGiven = kv.Value, true
			case "resources":
				resources = kv
			case "end_sessions":
				endSessions = kv
			default:
				rest.Content = append(rest.Content, k, kv)
			}
		}
		kd, ok := kinds[p.Kind]
		if !ok {
			if kindGiven {
				bad(v.Line, "%s: kind %q is not a provider kind of this build: the kinds are %s", key, p.Kind, strings.Join(Kinds(), ", "))
			} else {
				bad(v.Line, "%s: no kind: a provider's kind defaults to its name, and %q is not a kind; add kind: with one of %s", key, name, strings.Join(Kinds(), ", "))
			}
			continue
		}
		settings := kd.settings(p)
		before := len(errs)
		unknownKeys(&rest, reflect.TypeOf(settings).Elem(), key, &errs)
		if resources != nil {
			if kd.builtinCatalog {
				bad(resources.Line, "%s.resources: a provider of kind %s has its own catalog (for aws: accounts: and permission_sets), not a resources: list", key, p.Kind)
			} else {
				unknownKeys(resources, reflect.TypeOf(p.Resources), key+".resources", &errs)
			}
		}
		if len(errs) > before {
			continue
		}
		if err := rest.Decode(settings); err != nil {
			return err
		}
		if resources != nil {
			if err := resources.Decode(&p.Resources); err != nil {
				return err
			}
		}
		if endSessions != nil {
			if err := endSessions.Decode(&p.EndSessions); err != nil {
				return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s.end_sessions must be a list of provider names, e.g. end_sessions: [boundary]", endSessions.Line, key)}}
			}
		}
		out[name] = p
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	*ps = out
	return nil
}

// unknownKeys reports every mapping key under n that t has no field for,
// as "line N: unknown key …" with its full key path.
func unknownKeys(n *yaml.Node, t reflect.Type, path string, errs *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode || t == durationType {
			return
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				fields[name] = t.Field(i).Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, fmt.Sprintf("line %d: unknown key %q in %s (check the spelling against the config reference in README.md)", k.Line, k.Value, path))
				continue
			}
			unknownKeys(n.Content[i+1], ft, path+"."+k.Value, errs)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			unknownKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			unknownKeys(n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value, errs)
		}
	}
}

// validateProviders checks each provider with its kind's rules, and the
// catalog of resources of kinds without a built-in one.
func (c *Config) validateProviders(add func(format string, args ...any)) {
	var awsNames []string
	for _, name := range c.Providers.Names() {
		p := c.Providers[name]
		key := "providers." + name
		if p.Kind == "aws" {
			awsNames = append(awsNames, name)
		} else if name == "aws" {
			add("providers.aws is of kind %s: the name aws is kept for a provider of kind aws (policy reads the resources of an aws rule as account ids); call it something else", p.Kind)
		}
		if kd := kinds[p.Kind]; kd.validate != nil {
			kd.validate(c, p, key, add)
		}
		// A boundary provider that only ends sessions for others needs
		// no roles to grant.
		if !kinds[p.Kind].builtinCatalog && (len(p.Resources) > 0 || !c.endsSessionsForOthers(name)) {
			validateResources(p, key, add)
		}
		c.validateEndSessions(p, key, add)
	}
	if len(awsNames) > 1 {
		add("providers %s are all of kind aws: configure one (the top-level accounts: are its catalog, and a bare 12-digit account id in a request names it)", strings.Join(awsNames, ", "))
	}
}

// accountIDLike is a resource name or alias a request would read as an AWS
// account id.
var accountIDLike = regexp.MustCompile(`^[0-9]{12}$`)

func validateResources(p *Provider, key string, add func(format string, args ...any)) {
	if len(p.Resources) == 0 {
		add("%s.resources is empty: list what can be requested from it, e.g. resources: [{name: payroll-db, roles: [reader, admin]}]", key)
		return
	}
	// names holds every name and alias of this provider: a request says
	// <provider>:<name> or an alias, and either must mean one resource.
	names := map[string]string{}
	claim := func(what, s, owner string) {
		if prev, dup := names[s]; dup {
			add("%s: %s %q is already %s: each name and alias must mean one resource", owner, what, s, prev)
			return
		}
		names[s] = fmt.Sprintf("the name or an alias of %s", owner)
	}
	for i, r := range p.Resources {
		rk := fmt.Sprintf("%s.resources[%d]", key, i)
		if r.Name == "" {
			add("%s.name is required: the provider's id for the resource", rk)
			continue
		}
		rk += " (" + r.Name + ")"
		for _, s := range append([]string{r.Name}, r.Aliases...) {
			if err := drawbridge.CheckID("name", s); err != nil {
				add("%s: %q: %v", rk, s, err)
			} else if strings.Contains(s, ":") {
				add("%s: %q contains \":\", which separates the provider from the resource in a request (%s:%s): remove it", rk, s, p.Name, strings.ReplaceAll(s, ":", "-"))
			} else if accountIDLike.MatchString(s) {
				add("%s: %q would be read as an AWS account id in a request: use a name that is not 12 digits", rk, s)
			} else if grammar.LooksLikePerson(s) {
				add("%s: %q is written as a person (an email or a Slack user id), which a request may name first as the requester: use another name", rk, s)
			}
		}
		claim("name", r.Name, rk)
		for _, a := range r.Aliases {
			claim("alias", a, rk)
		}
		if err := drawbridge.CheckText("display_name", r.DisplayName, drawbridge.MaxIDLen); err != nil {
			add("%s: %v", rk, err)
		}
		if len(r.Roles) == 0 {
			add("%s.roles is empty: list the roles that can be requested on it, e.g. roles: [reader, admin]", rk)
		}
		for j, role := range r.Roles {
			if err := drawbridge.CheckID("role", role); err != nil {
				add("%s.roles[%d]: %v", rk, j, err)
			}
			if slices.Index(r.Roles, role) != j {
				add("%s.roles: %q is listed twice", rk, role)
			}
		}
	}
}

// validateAWS checks the settings of a provider of kind aws.
func validateAWS(_ *Config, p *Provider, key string, add func(format string, args ...any)) {
	a := p.AWS
	if a.InstanceARN == "" {
		add("%s.instance_arn is required (see docs/aws-setup.md to find it)", key)
	}
	if a.UserAttribute != "" && a.UserAttribute != "emails.value" && a.UserAttribute != "userName" {
		add("%s.user_attribute %q: use emails.value or userName", key, a.UserAttribute)
	}
	if (a.ResolveUsers || a.ResolveGroups) && a.IdentityStoreID == "" {
		add("%s.resolve_users/resolve_groups need %s.identity_store_id (d-…)", key, key)
	}
	if len(a.PermissionSets) == 0 {
		add("%s.permission_sets is empty: map each requestable permission set name to its ARN", key)
	}
	for _, d := range []struct {
		key string
		d   Duration
	}{{"poll_interval", a.PollInterval}, {"identity_cache_ttl", a.IdentityCacheTTL}, {"organizations.refresh", a.Organizations.Refresh}} {
		if d.d < 0 {
			add("%s.%s is %s: it must not be negative", key, d.key, d.d.Std())
		}
	}
	if math.IsNaN(a.MaxTPS) || math.IsInf(a.MaxTPS, 0) {
		add("%s.max_tps is %v: give calls per second (default 20; negative means unlimited)", key, a.MaxTPS)
	}
}

// DenyOldSessions is the built-in end_sessions mode of kind aws: deny the
// revoked person's older role sessions through the permission set's
// inline policy (docs/aws-setup.md).
const DenyOldSessions = "deny_old_sessions"

// DeniesOldSessions reports whether end_sessions lists DenyOldSessions.
func (p *Provider) DeniesOldSessions() bool { return slices.Contains(p.EndSessions, DenyOldSessions) }

// SessionEnders returns the providers end_sessions names, without the
// built-in modes.
func (p *Provider) SessionEnders() []string {
	var out []string
	for _, n := range p.EndSessions {
		if n != DenyOldSessions {
			out = append(out, n)
		}
	}
	return out
}

// validateEndSessions checks that each name in end_sessions is another
// configured provider that ends sessions for others (kind boundary), or a
// built-in mode of p's kind, once.
func (c *Config) validateEndSessions(p *Provider, key string, add func(format string, args ...any)) {
	for i, n := range p.EndSessions {
		other := c.Providers[n]
		switch {
		case slices.Index(p.EndSessions, n) != i:
			add("%s.end_sessions: %q is listed twice", key, n)
		case n == DenyOldSessions && p.Kind != "aws":
			add("%s.end_sessions[%d]: %s is a mode of kind aws only; a provider of kind %s can name providers of kind boundary here", key, i, n, p.Kind)
		case n == DenyOldSessions:
		case n == p.Name:
			add("%s.end_sessions[%d]: %q is this provider itself: name a provider of kind boundary", key, i, n)
		case other == nil:
			add("%s.end_sessions[%d]: %q is not a configured provider: name one of kind boundary under providers:%s", key, i, n, modeHint(p.Kind))
		case other.Kind != "boundary":
			add("%s.end_sessions[%d]: %q is of kind %s, which cannot end sessions for another provider: name a provider of kind boundary%s", key, i, n, other.Kind, modeHint(p.Kind))
		}
	}
}

// modeHint names the built-in end_sessions modes of kind, for an error.
func modeHint(kind string) string {
	if kind == "aws" {
		return ", or the built-in mode " + DenyOldSessions
	}
	return ""
}

// endsSessionsForOthers reports whether another provider names name in its
// end_sessions.
func (c *Config) endsSessionsForOthers(name string) bool {
	for _, p := range c.Providers {
		if slices.Contains(p.EndSessions, name) {
			return true
		}
	}
	return false
}
