// Package catalog is the offline list of what can be requested, per
// provider instance: the AWS accounts of drawbridge.yaml (with their OU path
// and tags, which the policy's ou: and tag: selectors match) and permission
// sets for a provider of kind aws, and the configured resources and roles of
// the kinds that have no catalog of their own. Set joins the providers'
// catalogs and finds which one a request names; requests for anything else
// are refused before policy runs, with the valid choices in the message.
package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/drawbridge-jit/drawbridge"
)

// Set is the catalog of every configured provider instance.
type Set struct {
	providers map[string]drawbridge.ProviderCatalog
	names     []string // sorted
	// accounts is the provider a bare 12-digit AWS account id names (the
	// provider of kind aws), "" when there is none.
	accounts string
}

var _ drawbridge.Catalog = (*Set)(nil)

// New joins the catalogs of the configured providers, by instance name;
// accountProvider is the one a bare 12-digit account id names ("" for none).
func New(providers map[string]drawbridge.ProviderCatalog, accountProvider string) *Set {
	s := &Set{providers: providers, accounts: accountProvider}
	for n := range providers {
		s.names = append(s.names, n)
	}
	sort.Strings(s.names)
	return s
}

// Provider returns the catalog of one provider instance.
func (s *Set) Provider(name string) (drawbridge.ProviderCatalog, bool) {
	pc, ok := s.providers[name]
	return pc, ok
}

func (s *Set) configured() string {
	if len(s.names) == 0 {
		return "none: configure providers in drawbridge.yaml"
	}
	return strings.Join(s.names, ", ")
}

// Resolve implements drawbridge.Catalog.
func (s *Set) Resolve(e drawbridge.Entitlement) (drawbridge.Entitlement, error) {
	e, err := s.ResolveResource(e)
	if err != nil {
		return e, err
	}
	return e, s.providers[e.Provider].Check(e.Resource, e.Role)
}

// ResolveResource implements drawbridge.Catalog.
func (s *Set) ResolveResource(e drawbridge.Entitlement) (drawbridge.Entitlement, error) {
	if e.Provider == "" {
		p, err := s.providerOf(e.Resource)
		if err != nil {
			return e, err
		}
		e.Provider = p
	}
	pc, ok := s.providers[e.Provider]
	if !ok {
		return e, drawbridge.Errorf(drawbridge.EINVALID, "unknown provider %q (configured: %s)", e.Provider, s.configured())
	}
	if name, ok := pc.Lookup(e.Resource); ok {
		e.Resource = name
	}
	return e, nil
}

// providerOf finds the provider a resource given without one belongs to:
// an account id is AWS's; anything else must be the name or an alias of
// exactly one provider's resource.
func (s *Set) providerOf(ref string) (string, error) {
	if ValidAccountID(ref) {
		if s.accounts == "" {
			return "", drawbridge.Errorf(drawbridge.EINVALID, "%s is an AWS account id, and no provider of kind aws is configured (configured: %s): name the resource as <provider>:<resource>", ref, s.configured())
		}
		return s.accounts, nil
	}
	var found []string
	for _, n := range s.names {
		if name, ok := s.providers[n].Lookup(ref); ok {
			found = append(found, n+":"+name)
		}
	}
	switch len(found) {
	case 1:
		p, _, _ := strings.Cut(found[0], ":")
		return p, nil
	case 0:
		if allDigits.MatchString(ref) {
			return "", drawbridge.Errorf(drawbridge.EINVALID, "account id %q is malformed: it must be 12 digits, e.g. 123456789012", ref)
		}
		return "", drawbridge.Errorf(drawbridge.EINVALID, "unknown resource %q: it is not a 12-digit AWS account id, nor the name or alias of a resource of any provider; write <provider>:<resource> (providers: %s)", ref, s.configured())
	}
	return "", drawbridge.Errorf(drawbridge.EINVALID, "resource %q is ambiguous: it names %s; say which, e.g. %s", ref, strings.Join(found, " and "), found[0])
}

// ResourceAttrs implements drawbridge.Catalog.
func (s *Set) ResourceAttrs(e drawbridge.Entitlement) ([]string, map[string]string) {
	if pc, ok := s.providers[e.Provider]; ok {
		return pc.ResourceAttrs(e.Resource)
	}
	return nil, nil
}

// Resources implements drawbridge.Catalog.
func (s *Set) Resources(provider string) []string {
	if pc, ok := s.providers[provider]; ok {
		return pc.Resources()
	}
	return nil
}

var (
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
	allDigits = regexp.MustCompile(`^[0-9]+$`)
)

// ValidAccountID reports whether s is a 12-digit AWS account id.
func ValidAccountID(s string) bool { return accountID.MatchString(s) }

// Account is one requestable AWS account.
type Account struct {
	ID, Name string
	// Aliases are other names a request may use for it (staging, prod).
	Aliases []string
	OUs     []string // outermost first
	Tags    map[string]string
}

// Accounts is the catalog of a provider of kind aws: configured accounts
// (when the list is empty, any well-formed account id) and permission sets.
type Accounts struct {
	accounts map[string]Account
	aliases  map[string]string // alias -> account id
	order    []string
	roles    []string // sorted
}

var _ drawbridge.ProviderCatalog = (*Accounts)(nil)

// NewAccounts builds the catalog of an AWS provider from its accounts and
// permission set names.
func NewAccounts(accounts []Account, permissionSets []string) *Accounts {
	c := &Accounts{accounts: map[string]Account{}, aliases: map[string]string{}, roles: slices.Sorted(slices.Values(permissionSets))}
	for _, a := range accounts {
		c.accounts[a.ID] = a
		c.order = append(c.order, a.ID)
		for _, al := range a.Aliases {
			c.aliases[al] = a.ID
		}
	}
	return c
}

// Lookup implements drawbridge.ProviderCatalog: an account id, or an alias.
func (c *Accounts) Lookup(ref string) (string, bool) {
	if id, ok := c.aliases[ref]; ok {
		return id, true
	}
	if _, ok := c.accounts[ref]; ok || len(c.accounts) == 0 && ValidAccountID(ref) {
		return ref, true
	}
	return "", false
}

// Check implements drawbridge.ProviderCatalog.
func (c *Accounts) Check(resource, role string) error {
	if !ValidAccountID(resource) {
		return drawbridge.Errorf(drawbridge.EINVALID, "account id %q is malformed: it must be 12 digits, e.g. 123456789012", resource)
	}
	if len(c.accounts) > 0 {
		if _, ok := c.accounts[resource]; !ok {
			return drawbridge.Errorf(drawbridge.EINVALID, "unknown account %s (configured: %s)", resource, c.describe())
		}
	}
	if !slices.Contains(c.roles, role) {
		return drawbridge.Errorf(drawbridge.EINVALID, "unknown permission set %q (configured: %s; names are case-sensitive)", role, strings.Join(c.roles, ", "))
	}
	return nil
}

// ResourceAttrs implements drawbridge.ProviderCatalog: the account's OU
// path and tags.
func (c *Accounts) ResourceAttrs(resource string) ([]string, map[string]string) {
	a := c.accounts[resource]
	return a.OUs, a.Tags
}

// Resources lists the configured account ids in config order.
func (c *Accounts) Resources() []string { return slices.Clone(c.order) }

func (c *Accounts) describe() string {
	parts := make([]string, 0, len(c.order))
	for _, id := range c.order {
		if n := c.accounts[id].Name; n != "" {
			parts = append(parts, fmt.Sprintf("%s (%s)", id, n))
		} else {
			parts = append(parts, id)
		}
	}
	return strings.Join(parts, ", ")
}

// Resource is one requestable resource of a provider whose catalog comes
// from config (resources:).
type Resource struct {
	Name, DisplayName string
	Aliases           []string
	Roles             []string
}

// Resources is the catalog of a provider whose resources and roles are
// configured (kinds without a built-in catalog, such as webhook).
type Resources struct {
	provider  string
	resources map[string]Resource
	aliases   map[string]string // alias -> name
	order     []string
}

var _ drawbridge.ProviderCatalog = (*Resources)(nil)

// NewResources builds the catalog of the provider instance named provider
// from its configured resources.
func NewResources(provider string, resources []Resource) *Resources {
	c := &Resources{provider: provider, resources: map[string]Resource{}, aliases: map[string]string{}}
	for _, r := range resources {
		c.resources[r.Name] = r
		c.order = append(c.order, r.Name)
		for _, a := range r.Aliases {
			c.aliases[a] = r.Name
		}
	}
	return c
}

// Lookup implements drawbridge.ProviderCatalog: a resource's name, or an
// alias.
func (c *Resources) Lookup(ref string) (string, bool) {
	if _, ok := c.resources[ref]; ok {
		return ref, true
	}
	name, ok := c.aliases[ref]
	return name, ok
}

// Check implements drawbridge.ProviderCatalog.
func (c *Resources) Check(resource, role string) error {
	r, ok := c.resources[resource]
	if !ok {
		return drawbridge.Errorf(drawbridge.EINVALID, "unknown resource %q of provider %s (configured: %s)", resource, c.provider, c.describe())
	}
	if !slices.Contains(r.Roles, role) {
		return drawbridge.Errorf(drawbridge.EINVALID, "unknown role %q for %s:%s (configured: %s; names are case-sensitive)", role, c.provider, resource, strings.Join(r.Roles, ", "))
	}
	return nil
}

// ResourceAttrs implements drawbridge.ProviderCatalog: configured
// resources have no OU path or tags.
func (c *Resources) ResourceAttrs(string) ([]string, map[string]string) { return nil, nil }

// Resources lists the resource names in config order.
func (c *Resources) Resources() []string { return slices.Clone(c.order) }

func (c *Resources) describe() string {
	parts := make([]string, 0, len(c.order))
	for _, n := range c.order {
		if d := c.resources[n].DisplayName; d != "" {
			parts = append(parts, fmt.Sprintf("%s (%s)", n, d))
		} else {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, ", ")
}
