// Package okta is Drawbridge's provider for Okta groups (provider kind
// okta): a grant makes a person a member of an Okta group, a revoke takes
// them out. Apps and policies that Okta ties to the group follow the
// membership.
//
// It calls the Okta management API with an API token (Authorization: SSWS)
// over plain net/http: the few calls it needs do not warrant the SDK.
// docs/providers.md lists the admin role the token needs and says what
// each answer leads to.
package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/outbound"
)

// RoleMember is the one role an Okta group has.
const RoleMember = "member"

// PermissionGroups is what the API token's admin needs to change group
// membership, named in the errors a refused call gives: the OAuth scope
// okta.groups.manage, which the Group Admin role (or Super Admin) holds.
const PermissionGroups = "okta.groups.manage"

// DefaultTimeout bounds one API call when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// maxPages bounds how many pages of one listing are read; pageSize is what
// each page asks for (Okta's maximum for group members).
const (
	maxPages = 50
	pageSize = 1000
)

// Config configures one Okta provider instance.
type Config struct {
	// Name is the configured instance name ("okta").
	Name string
	// OrgURL is the org's base URL (https://example.okta.com).
	OrgURL string
	// APIToken is an Okta API token; it acts with its creator's admin
	// roles.
	APIToken string
	// Timeout bounds one API call; DefaultTimeout when zero.
	Timeout time.Duration
	// HTTPClient sends the calls; a client of its own when nil.
	HTTPClient *http.Client
	// Now is the clock that X-Rate-Limit-Reset is read against.
	Now func() time.Time
}

// Provider grants Okta group membership. It implements drawbridge.Provider
// with the ExistenceChecker capability, and is safe for concurrent use.
type Provider struct {
	name    string
	org     string
	token   string
	timeout time.Duration
	client  *http.Client
	now     func() time.Time

	mu     sync.Mutex
	groups map[string]string // group name → id
}

var (
	_ drawbridge.Provider         = (*Provider)(nil)
	_ drawbridge.ExistenceChecker = (*Provider)(nil)
)

// New checks cfg and returns a provider.
func New(cfg Config) (*Provider, error) {
	bad := func(format string, args ...any) error {
		return drawbridge.Errorf(drawbridge.EINVALID, "okta %s: %s", cfg.Name, fmt.Sprintf(format, args...))
	}
	if cfg.OrgURL == "" {
		return nil, bad("no org_url (your org's address, such as https://example.okta.com)")
	}
	if err := CheckOrgURL(cfg.OrgURL); err != nil {
		return nil, bad("%v", err)
	}
	if cfg.APIToken == "" {
		return nil, bad("no api token")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	client := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	// A redirect would carry the token to wherever it points.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Provider{name: cfg.Name, org: strings.TrimRight(cfg.OrgURL, "/"), token: cfg.APIToken,
		timeout: cfg.Timeout, client: client, now: cfg.Now, groups: map[string]string{}}, nil
}

// CheckOrgURL reports what is wrong with an org URL: it must be https, or
// http to a loopback address (the emulator), without credentials.
func CheckOrgURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("org_url %q is not an http(s) URL such as https://example.okta.com", raw)
	case u.User != nil:
		return fmt.Errorf("org_url %q carries credentials: remove user:password@", raw)
	case u.Scheme == "http" && !outbound.Loopback(u.Hostname()):
		return fmt.Errorf("org_url %q is plain http to a host that is not loopback: use https (the API token travels on it)", raw)
	}
	return nil
}

// Name is the configured instance name.
func (p *Provider) Name() string { return p.name }

// Okta object ids: a type prefix (00u user, 00g group) and 17 alphanumerics.
var (
	userID  = regexp.MustCompile(`^00u[0-9A-Za-z]{17}$`)
	groupID = regexp.MustCompile(`^00g[0-9A-Za-z]{17}$`)
)

// PrincipalRef is the person's Okta user id: their linked identity
// (identities: {okta: <user id>}) when they have one, else the id of the
// user whose login is their canonical id (Okta's GET /users/{login}).
func (p *Provider) PrincipalRef(ctx context.Context, who *drawbridge.Principal) (string, error) {
	if who == nil || who.ID == "" {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID, "okta %s: no person given", p.name))
	}
	if id := who.Identities[drawbridge.IdentityOkta]; id != "" {
		if !userID.MatchString(id) {
			return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
				"okta %s: %s's linked okta identity %q is not an Okta user id (00u followed by 17 letters and digits): fix identities.okta in the config", p.name, who.ID, id))
		}
		return id, nil
	}
	var u struct {
		ID string `json:"id"`
	}
	err := p.call(ctx, http.MethodGet, "/api/v1/users/"+url.PathEscape(who.ID), &u, nil)
	switch {
	case isNotFound(err):
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
			"okta %s: no Okta user has the login %s: link their user id in the config (identities: {okta: <user id>})", p.name, who.ID))
	case err != nil:
		return "", fmt.Errorf("okta %s: look up %s: %w", p.name, who.ID, err)
	case !userID.MatchString(u.ID):
		return "", fmt.Errorf("okta %s: the user found for %s has the id %q, which is not an Okta user id", p.name, who.ID, drawbridge.Printable(drawbridge.Clip(u.ID, 40)))
	}
	return u.ID, nil
}

// group returns the id of the group a catalog resource names: the resource
// itself when it is a group id, else the one group with exactly that name
// (looked up once).
func (p *Provider) group(ctx context.Context, resource string) (string, error) {
	if groupID.MatchString(resource) {
		return resource, nil
	}
	p.mu.Lock()
	id, ok := p.groups[resource]
	p.mu.Unlock()
	if ok {
		return id, nil
	}
	// q is a prefix search on the name; only exact matches count.
	var list []struct {
		ID      string `json:"id"`
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
	}
	if err := p.call(ctx, http.MethodGet, "/api/v1/groups?limit=200&q="+url.QueryEscape(resource), &list, nil); err != nil {
		return "", fmt.Errorf("okta %s: find group %s: %w", p.name, resource, err)
	}
	var found []string
	for _, g := range list {
		if g.Profile.Name == resource && groupID.MatchString(g.ID) {
			found = append(found, g.ID)
		}
	}
	if len(found) != 1 {
		return "", drawbridge.Permanent(fmt.Errorf("okta %s: %d groups are called %q: name the group by its id in the catalog (resources: [{name: <group id 00g…>, aliases: [%s]}])",
			p.name, len(found), resource, resource))
	}
	p.mu.Lock()
	p.groups[resource] = found[0]
	p.mu.Unlock()
	return found[0], nil
}

func (p *Provider) target(ctx context.Context, a drawbridge.Assignment) (string, error) {
	if a.Role != RoleMember {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID, "okta %s: role %q: an Okta group's one role is %s", p.name, a.Role, RoleMember))
	}
	if !userID.MatchString(a.PrincipalRef) {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID, "okta %s: %q is not an Okta user id", p.name, a.PrincipalRef))
	}
	return p.group(ctx, a.Resource)
}

// Grant makes the person a member of the group. Okta's PUT is idempotent:
// a retry after a lost answer, or a person already a member, is success.
func (p *Provider) Grant(ctx context.Context, spec drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	a := spec.Assignment
	g, err := p.target(ctx, a)
	if err != nil {
		return drawbridge.GrantResult{}, err
	}
	if err := p.call(ctx, http.MethodPut, memberPath(g, a.PrincipalRef), nil, nil); err != nil {
		return drawbridge.GrantResult{}, fmt.Errorf("okta %s: add %s to group %s: %w", p.name, a.PrincipalRef, a.Resource, err)
	}
	return drawbridge.GrantResult{Details: map[string]string{"status": "added", "group_id": g}}, nil
}

// Revoke takes the person out of the group; a membership already gone
// (Okta answers 404) is success.
func (p *Provider) Revoke(ctx context.Context, spec drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	a := spec.Assignment
	g, err := p.target(ctx, a)
	if err != nil {
		return drawbridge.RevokeResult{}, err
	}
	err = p.call(ctx, http.MethodDelete, memberPath(g, a.PrincipalRef), nil, nil)
	switch {
	case isNotFound(err):
		return drawbridge.RevokeResult{Details: map[string]string{"status": "already removed", "group_id": g}}, nil
	case err != nil:
		return drawbridge.RevokeResult{}, fmt.Errorf("okta %s: remove %s from group %s: %w", p.name, a.PrincipalRef, a.Resource, err)
	}
	return drawbridge.RevokeResult{Details: map[string]string{"status": "removed", "group_id": g}}, nil
}

// Exists reports whether the person is a member of the group now, reading
// the group's members page by page.
func (p *Provider) Exists(ctx context.Context, a drawbridge.Assignment) (bool, error) {
	g, err := p.target(ctx, a)
	if err != nil {
		return false, err
	}
	next := "/api/v1/groups/" + url.PathEscape(g) + "/users?limit=" + strconv.Itoa(pageSize)
	for page := 0; next != ""; page++ {
		if page == maxPages {
			return false, fmt.Errorf("okta %s: group %s has more than %d pages of members: not read to the end", p.name, a.Resource, maxPages)
		}
		var list []struct {
			ID string `json:"id"`
		}
		var h http.Header
		if err := p.call(ctx, http.MethodGet, next, &list, &h); err != nil {
			return false, fmt.Errorf("okta %s: list members of group %s: %w", p.name, a.Resource, err)
		}
		for _, u := range list {
			if u.ID == a.PrincipalRef {
				return true, nil
			}
		}
		next = nextLink(h)
	}
	return false, nil
}

func memberPath(group, user string) string {
	return "/api/v1/groups/" + url.PathEscape(group) + "/users/" + url.PathEscape(user)
}

// nextLink returns the URL of a Link header's rel="next", or "".
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, l := range strings.Split(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(l), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, prm := range strings.Split(params, ";") {
				if k, val, _ := strings.Cut(strings.TrimSpace(prm), "="); k == "rel" && strings.Trim(val, `"`) == "next" {
					return target[1 : len(target)-1]
				}
			}
		}
	}
	return ""
}

// APIError is an error answer from Okta.
type APIError struct {
	Status  int
	Code    string
	Summary string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("Okta answered %d %s: %s", e.Status, e.Code, e.Summary)
}

func isNotFound(err error) bool {
	var a *APIError
	return errors.As(err, &a) && a.Status == http.StatusNotFound
}

const maxAnswer = 4 << 20

// call sends one API request and decodes a 2xx answer into out (and its
// headers into hdr). A path that is a full URL (a next page) must lie
// within the org: the token is never sent elsewhere. Errors are classified
// for the core: 429 is a rejection with X-Rate-Limit-Reset as the retry
// hint, 5xx and transport failures are retryable, 401 and 403 are
// permanent and name the permission, any other 4xx is permanent with
// Okta's errorSummary.
func (p *Provider) call(ctx context.Context, method, path string, out any, hdr *http.Header) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	target := p.org + path
	if strings.HasPrefix(path, "https://") || strings.HasPrefix(path, "http://") {
		if !strings.HasPrefix(path, p.org+"/") {
			return drawbridge.Permanent(fmt.Errorf("the next page is at %s, outside %s: not followed", drawbridge.Printable(drawbridge.Clip(path, 200)), p.org))
		}
		target = path
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return drawbridge.Permanent(err)
	}
	req.Header.Set("Authorization", "SSWS "+p.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "drawbridge-okta")
	res, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("no answer from Okta within %s (%s %s): Okta may have acted, so it is asked again", p.timeout, method, path)
		}
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if hdr != nil {
			*hdr = res.Header
		}
		if out == nil || len(raw) == 0 {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("answer %s to %s %s from Okta is not the expected JSON: %w", res.Status, method, path, err)
		}
		return nil
	}
	a := &APIError{Status: res.StatusCode}
	var e struct {
		Code    string `json:"errorCode"`
		Summary string `json:"errorSummary"`
		Causes  []struct {
			Summary string `json:"errorSummary"`
		} `json:"errorCauses"`
	}
	if json.Unmarshal(raw, &e) == nil {
		a.Code, a.Summary = e.Code, e.Summary
		for _, c := range e.Causes {
			a.Summary += "; " + c.Summary
		}
	}
	if a.Summary == "" {
		a.Summary = strings.TrimSpace(string(raw))
	}
	a.Code = drawbridge.Printable(drawbridge.Clip(a.Code, 40))
	a.Summary = drawbridge.Printable(drawbridge.Clip(a.Summary, 500))
	switch code := res.StatusCode; {
	case code == http.StatusTooManyRequests:
		err := error(fmt.Errorf("rate-limited by Okta: %w", a))
		if d, ok := resetIn(res.Header.Get("X-Rate-Limit-Reset"), p.now()); ok {
			err = drawbridge.RetryAfter(err, d)
		}
		return drawbridge.Rejected(err)
	case code >= 500:
		return a
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return drawbridge.Permanent(fmt.Errorf("%w (the API token's admin needs the permission %s: the Group Admin role for the group, or Super Admin; a revoked or expired token answers 401)", a, PermissionGroups))
	default:
		return drawbridge.Permanent(a)
	}
}

// maxReset caps a rate-limit wait: a reset far away is a clock problem.
const maxReset = time.Hour

// resetIn reads X-Rate-Limit-Reset (the unix second the limit resets) as a
// wait from now.
func resetIn(h string, now time.Time) (time.Duration, bool) {
	s, err := strconv.ParseInt(strings.TrimSpace(h), 10, 64)
	if err != nil || s <= 0 {
		return 0, false
	}
	return min(max(time.Unix(s, 0).Sub(now), 0), maxReset), true
}
