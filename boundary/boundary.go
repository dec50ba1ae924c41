// Package boundary is Drawbridge's provider for HashiCorp Boundary
// (provider kind boundary), through Boundary's own API client
// (github.com/hashicorp/boundary/api). It serves two purposes:
//
//   - direct grants: the entitlement is a Boundary role; a grant adds the
//     person's Boundary user to the role's principals (with the role's
//     current version, re-read on a conflict), a revoke removes it;
//   - ending sessions: after a revoke is confirmed — its own, or one of
//     another provider that names it in end_sessions (the reference
//     workflow's Entra group that a Boundary managed group mirrors) — it
//     cancels the person's live sessions in the configured scopes, which
//     Boundary otherwise lets run to their end (up to 8 h). For another
//     provider it also deletes the person's auth tokens, because a token
//     keeps the managed groups of the login that issued it: only a new
//     login reads the groups claim again.
//
// docs/providers.md lists the grants the configured account needs and
// says what each answer leads to.
package boundary

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/boundary/api"
	"github.com/hashicorp/boundary/api/authmethods"
	"github.com/hashicorp/boundary/api/authtokens"
	"github.com/hashicorp/boundary/api/roles"
	"github.com/hashicorp/boundary/api/sessions"
	"github.com/hashicorp/boundary/api/users"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/outbound"
)

// RoleMember is the one role a Boundary role resource has: being one of
// its principals.
const RoleMember = "member"

// DefaultTimeout bounds one API call when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// DefaultScopes is where sessions are ended when Config.Scopes is empty:
// everywhere, recursively from the global scope.
var DefaultScopes = []string{"global"}

// Grants is what the configured account's role needs, named in the errors
// a refused call gives.
const Grants = `ids=*;type=role;actions=read,add-principals,remove-principals ` +
	`ids=*;type=user;actions=list,read ids=*;type=session;actions=list,read,cancel ids=*;type=auth-token;actions=list,delete`

// maxConflicts bounds how often a principal change is retried after the
// role changed under it (a version conflict).
const maxConflicts = 5

// maxSessions bounds how many sessions one sweep cancels.
const maxSessions = 1000

// Config configures one Boundary provider instance.
type Config struct {
	// Name is the configured instance name ("boundary").
	Name string
	// Addr is the controller's address (https://boundary.example.com).
	Addr string
	// AuthMethodID, LoginName and Password sign in with a password auth
	// method (ampw_…); or Token is an auth token to use as it is.
	AuthMethodID, LoginName, Password string
	Token                             string
	// Scopes are where a revoke cancels the person's sessions (each with
	// its descendants); DefaultScopes when empty.
	Scopes []string
	// Linked maps canonical ids to Boundary user ids from the config's
	// identities, for ending sessions on behalf of another provider, whose
	// revoke does not resolve the person again.
	Linked map[string]string
	// Timeout bounds one API call; DefaultTimeout when zero.
	Timeout time.Duration
	// HTTPClient sends the calls; a client of its own when nil.
	HTTPClient *http.Client
	// Now is the clock Retry-After dates are read against.
	Now func() time.Time
}

// Provider grants Boundary role membership and ends Boundary sessions. It
// implements drawbridge.Provider with the ExistenceChecker,
// AssignmentLister and SessionEnder capabilities, and is safe for
// concurrent use.
type Provider struct {
	cfg  Config
	base *api.Client

	mu      sync.Mutex
	token   string // the auth token in use
	tokenID string // its id, never deleted by a sweep
}

var (
	_ drawbridge.Provider         = (*Provider)(nil)
	_ drawbridge.ExistenceChecker = (*Provider)(nil)
	_ drawbridge.AssignmentLister = (*Provider)(nil)
	_ drawbridge.SessionEnder     = (*Provider)(nil)
)

// Boundary's typed ids: a prefix and ten base62 characters.
var (
	userID     = regexp.MustCompile(`^u_[0-9A-Za-z]{10}$`)
	roleID     = regexp.MustCompile(`^r_[0-9A-Za-z]{10}$`)
	scopeID    = regexp.MustCompile(`^(global|[op]_[0-9A-Za-z]{10})$`)
	pwMethodID = regexp.MustCompile(`^ampw_[0-9A-Za-z]{10}$`)
)

// CheckUserID, CheckRoleID and CheckScopeID report what is wrong with an
// id of that type.
func CheckUserID(s string) error {
	if !userID.MatchString(s) {
		return fmt.Errorf("%q is not a Boundary user id (u_ followed by 10 letters and digits)", s)
	}
	return nil
}

// CheckRoleID reports what is wrong with a role id.
func CheckRoleID(s string) error {
	if !roleID.MatchString(s) {
		return fmt.Errorf("%q is not a Boundary role id (r_ followed by 10 letters and digits, as `boundary roles list -recursive` shows)", s)
	}
	return nil
}

// CheckScopeID reports what is wrong with a scope id.
func CheckScopeID(s string) error {
	if !scopeID.MatchString(s) {
		return fmt.Errorf("%q is not a Boundary scope id (global, o_… for an org, p_… for a project)", s)
	}
	return nil
}

// CheckAddr reports what is wrong with a controller address: it must be
// https, or http to a loopback address (the emulator), without
// credentials.
func CheckAddr(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("addr %q is not an http(s) URL such as https://boundary.example.com", raw)
	case u.User != nil:
		return fmt.Errorf("addr %q carries credentials: remove user:password@", raw)
	case u.Scheme == "http" && !outbound.Loopback(u.Hostname()):
		return fmt.Errorf("addr %q is plain http to a host that is not loopback: use https (the auth token travels on it)", raw)
	}
	return nil
}

// New checks cfg and returns a provider. It does not call Boundary: the
// password sign-in happens at the first call.
func New(cfg Config) (*Provider, error) {
	bad := func(format string, args ...any) error {
		return drawbridge.Errorf(drawbridge.EINVALID, "boundary %s: %s", cfg.Name, fmt.Sprintf(format, args...))
	}
	if err := CheckAddr(cfg.Addr); err != nil {
		return nil, bad("%v", err)
	}
	switch {
	case cfg.Token == "" && cfg.Password == "":
		return nil, bad("no credentials: give auth_method_id, login_name and password, or token")
	case cfg.Token != "" && cfg.Password != "":
		return nil, bad("both a token and a password: give one")
	case cfg.Password != "" && (!pwMethodID.MatchString(cfg.AuthMethodID) || cfg.LoginName == ""):
		return nil, bad("password sign-in needs auth_method_id (ampw_…) and login_name")
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultScopes
	}
	for _, s := range cfg.Scopes {
		if err := CheckScopeID(s); err != nil {
			return nil, bad("scopes: %v", err)
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	// A redirect would carry the token to wherever it points.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// Retries are the core's: a 429 goes back to it with its Retry-After,
	// so a revocation's backoff and audit trail see every attempt.
	base, err := api.NewClient(&api.Config{Addr: cfg.Addr, HttpClient: hc, Timeout: cfg.Timeout, MaxRetries: 0})
	if err != nil {
		return nil, bad("%v", err)
	}
	p := &Provider{cfg: cfg, base: base}
	if cfg.Token != "" {
		p.token, p.tokenID = cfg.Token, tokenIDOf(cfg.Token)
	}
	return p, nil
}

// tokenIDOf is the id part of an auth token (at_<id>_<secret>).
func tokenIDOf(token string) string {
	parts := strings.SplitN(token, "_", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "_" + parts[1]
}

// Name is the configured instance name.
func (p *Provider) Name() string { return p.cfg.Name }

// client returns an API client with the token in use, signing in first
// when there is none (or fresh is set: the token was refused).
func (p *Provider) client(ctx context.Context, fresh bool) (*api.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.token == "" || (fresh && p.cfg.Password != "") {
		res, err := authmethods.NewClient(p.base).Authenticate(ctx, p.cfg.AuthMethodID, "login",
			map[string]any{"login_name": p.cfg.LoginName, "password": p.cfg.Password})
		if err != nil {
			if status(err) == http.StatusUnauthorized || status(err) == http.StatusNotFound {
				return nil, drawbridge.Permanent(fmt.Errorf("sign-in as %s with auth method %s refused: check login_name, password and auth_method_id (%s)",
					p.cfg.LoginName, p.cfg.AuthMethodID, describe(err)))
			}
			return nil, p.classify("sign in", err)
		}
		at, err := res.GetAuthToken()
		if err != nil || at.Token == "" {
			return nil, fmt.Errorf("sign-in answer carries no auth token: %v", err)
		}
		p.token, p.tokenID = at.Token, at.Id
	}
	c := p.base.Clone()
	c.SetToken(p.token)
	return c, nil
}

// do runs f with a signed-in client within the call timeout; a 401 with
// password sign-in signs in again once (the token expired).
func (p *Provider) do(ctx context.Context, what string, f func(context.Context, *api.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	c, err := p.client(ctx, false)
	if err != nil {
		return err
	}
	err = f(ctx, c)
	if status(err) == http.StatusUnauthorized && p.cfg.Password != "" {
		if c, err = p.client(ctx, true); err != nil {
			return err
		}
		err = f(ctx, c)
	}
	if err != nil && ctx.Err() != nil && api.AsServerError(err) == nil {
		return fmt.Errorf("no answer from Boundary within %s (%s): Boundary may have acted, so it is asked again", p.cfg.Timeout, what)
	}
	return err
}

// status is the HTTP status of a Boundary error answer, 0 for others.
func status(err error) int {
	if e := api.AsServerError(err); e != nil && e.Response() != nil && e.Response().HttpResponse() != nil {
		return e.Response().StatusCode()
	}
	return 0
}

// describe renders a Boundary error answer as "<status> <kind>: <message>".
func describe(err error) string {
	e := api.AsServerError(err)
	if e == nil {
		return drawbridge.Printable(drawbridge.Clip(err.Error(), 500))
	}
	return fmt.Sprintf("Boundary answered %d %s: %s", status(err), drawbridge.Printable(drawbridge.Clip(e.Kind, 40)),
		drawbridge.Printable(drawbridge.Clip(e.Message, 500)))
}

// classify turns a failed call into what the core should do next: 429 is
// a rejection with Retry-After as the hint, 5xx and transport failures are
// retryable, 401 and 403 are permanent and name what the account needs,
// any other 4xx is permanent with Boundary's message.
func (p *Provider) classify(what string, err error) error {
	if err == nil {
		return nil
	}
	code := status(err)
	msg := fmt.Errorf("boundary %s: %s: %s", p.cfg.Name, what, describe(err))
	switch {
	case code == 0:
		return fmt.Errorf("boundary %s: %s: %w", p.cfg.Name, what, err)
	case code == http.StatusTooManyRequests:
		out := error(fmt.Errorf("rate-limited: %w", msg))
		if d, ok := outbound.RetryAfter(api.AsServerError(err).Response().HttpResponse().Header.Get("Retry-After"), p.cfg.Now()); ok {
			out = drawbridge.RetryAfter(out, d)
		}
		return drawbridge.Rejected(out)
	case code >= 500:
		if d, ok := outbound.RetryAfter(api.AsServerError(err).Response().HttpResponse().Header.Get("Retry-After"), p.cfg.Now()); ok {
			return drawbridge.RetryAfter(msg, d)
		}
		return msg
	case code == http.StatusUnauthorized:
		return drawbridge.Permanent(fmt.Errorf("%w (the auth token was refused: a token from the environment may have expired; password sign-in renews its own)", msg))
	case code == http.StatusForbidden:
		return drawbridge.Permanent(fmt.Errorf("%w (the account's role needs the grants %s)", msg, Grants))
	default:
		return drawbridge.Permanent(msg)
	}
}

// PrincipalRef is the person's Boundary user id: their linked identity
// (identities: {boundary: u_…}) when they have one, else the one user
// whose primary account's e-mail is their canonical id.
func (p *Provider) PrincipalRef(ctx context.Context, who *drawbridge.Principal) (string, error) {
	if who == nil || who.ID == "" {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID, "boundary %s: no person given", p.cfg.Name))
	}
	if id := who.Identities[drawbridge.IdentityBoundary]; id != "" {
		if err := CheckUserID(id); err != nil {
			return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
				"boundary %s: %s's linked boundary identity: %v: fix identities.boundary in the config", p.cfg.Name, who.ID, err))
		}
		return id, nil
	}
	found, err := p.usersByEmail(ctx, who.ID)
	switch {
	case err != nil:
		return "", err
	case len(found) != 1:
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
			"boundary %s: %d Boundary users have the e-mail %s: link their user id in the config (identities: {boundary: u_…})", p.cfg.Name, len(found), who.ID))
	}
	return found[0], nil
}

// usersByEmail lists the users whose primary account's e-mail is email
// (compared canonically: the filter narrows, the comparison decides).
func (p *Provider) usersByEmail(ctx context.Context, email string) ([]string, error) {
	if strings.ContainsAny(email, `"\`) {
		return nil, drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
			"boundary %s: %q cannot be looked up by e-mail: link their user id in the config (identities: {boundary: u_…})", p.cfg.Name, email))
	}
	var found []string
	err := p.do(ctx, "look up "+email, func(ctx context.Context, c *api.Client) error {
		// Case-insensitive, so that a second user whose e-mail differs
		// only in case makes the lookup ambiguous instead of unseen.
		res, err := users.NewClient(c).List(ctx, "global", users.WithRecursive(true),
			users.WithFilter(fmt.Sprintf(`"/item/email" matches "(?i)^%s$"`, strings.ReplaceAll(regexp.QuoteMeta(email), `\`, `\\`))))
		if err != nil {
			return err
		}
		for _, u := range res.Items {
			if drawbridge.CanonicalPrincipalID(u.Email) == drawbridge.CanonicalPrincipalID(email) && userID.MatchString(u.Id) {
				found = append(found, u.Id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, p.classify("look up the user with e-mail "+email, err)
	}
	slices.Sort(found)
	return found, nil
}

func (p *Provider) target(a drawbridge.Assignment) error {
	if a.Role != RoleMember {
		return drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID, "boundary %s: role %q: a Boundary role's one role is %s", p.cfg.Name, a.Role, RoleMember))
	}
	if err := CheckRoleID(a.Resource); err != nil {
		return drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID, "boundary %s: %v", p.cfg.Name, err))
	}
	if err := CheckUserID(a.PrincipalRef); err != nil {
		return drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID, "boundary %s: %v", p.cfg.Name, err))
	}
	return nil
}

func (p *Provider) readRole(ctx context.Context, id string) (*roles.Role, error) {
	var role *roles.Role
	err := p.do(ctx, "read role "+id, func(ctx context.Context, c *api.Client) error {
		res, err := roles.NewClient(c).Read(ctx, id)
		if err == nil {
			role = res.Item
		}
		return err
	})
	if err != nil {
		return nil, p.classify("read role "+id, err)
	}
	return role, nil
}

// change adds (or removes) the principal on the role with the role's
// current version. A refused change is judged by reading the role again:
// the principal already there (or gone) is success — a retry after a lost
// answer, or a concurrent change to the same end —, a newer version is a
// conflict tried again, anything else is Boundary's refusal.
func (p *Provider) change(ctx context.Context, a drawbridge.Assignment, add bool) (string, error) {
	if err := p.target(a); err != nil {
		return "", err
	}
	verb := "remove-principals"
	if add {
		verb = "add-principals"
	}
	for range maxConflicts {
		role, err := p.readRole(ctx, a.Resource)
		if err != nil {
			return "", err
		}
		if slices.Contains(role.PrincipalIds, a.PrincipalRef) == add {
			return "already done", nil
		}
		err = p.do(ctx, verb, func(ctx context.Context, c *api.Client) error {
			rc := roles.NewClient(c)
			var err error
			if add {
				_, err = rc.AddPrincipals(ctx, role.Id, role.Version, []string{a.PrincipalRef})
			} else {
				_, err = rc.RemovePrincipals(ctx, role.Id, role.Version, []string{a.PrincipalRef})
			}
			return err
		})
		if err == nil {
			return "done", nil
		}
		if code := status(err); code != http.StatusBadRequest && code != http.StatusConflict {
			return "", p.classify(fmt.Sprintf("%s %s on role %s", verb, a.PrincipalRef, a.Resource), err)
		}
		now, rerr := p.readRole(ctx, a.Resource)
		if rerr != nil {
			return "", rerr
		}
		if slices.Contains(now.PrincipalIds, a.PrincipalRef) == add {
			return "already done", nil
		}
		if now.Version == role.Version {
			return "", p.classify(fmt.Sprintf("%s %s on role %s", verb, a.PrincipalRef, a.Resource), err)
		}
	}
	return "", fmt.Errorf("boundary %s: role %s changed %d times while %s was being changed on it: tried again later", p.cfg.Name, a.Resource, maxConflicts, a.PrincipalRef)
}

// Grant adds the person's user to the role's principals.
func (p *Provider) Grant(ctx context.Context, spec drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	how, err := p.change(ctx, spec.Assignment, true)
	if err != nil {
		return drawbridge.GrantResult{}, err
	}
	status := "added to the role's principals"
	if how == "already done" {
		status = "already a principal of the role"
	}
	return drawbridge.GrantResult{Details: map[string]string{"status": status, "role_id": spec.Assignment.Resource}}, nil
}

// Revoke removes the person's user from the role's principals; a
// principal already gone is success.
func (p *Provider) Revoke(ctx context.Context, spec drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	how, err := p.change(ctx, spec.Assignment, false)
	if err != nil {
		return drawbridge.RevokeResult{}, err
	}
	status := "removed from the role's principals"
	if how == "already done" {
		status = "already not a principal of the role"
	}
	return drawbridge.RevokeResult{Details: map[string]string{"status": status, "role_id": spec.Assignment.Resource}}, nil
}

// Exists reports whether the user is a principal of the role now.
func (p *Provider) Exists(ctx context.Context, a drawbridge.Assignment) (bool, error) {
	if err := p.target(a); err != nil {
		return false, err
	}
	role, err := p.readRole(ctx, a.Resource)
	if err != nil {
		return false, err
	}
	return slices.Contains(role.PrincipalIds, a.PrincipalRef), nil
}

// ListAssignments lists the user principals of the given roles (managed
// groups and other principal types are not Drawbridge's to grant).
func (p *Provider) ListAssignments(ctx context.Context, resources []string) ([]drawbridge.Assignment, error) {
	var out []drawbridge.Assignment
	for _, r := range resources {
		if CheckRoleID(r) != nil {
			continue
		}
		role, err := p.readRole(ctx, r)
		if err != nil {
			return nil, err
		}
		for _, id := range role.PrincipalIds {
			if userID.MatchString(id) {
				out = append(out, drawbridge.Assignment{PrincipalRef: id,
					Entitlement: drawbridge.Entitlement{Provider: p.cfg.Name, Resource: r, Role: RoleMember}})
			}
		}
	}
	return out, nil
}

// EndSessions cancels the person's live sessions in the configured scopes
// once their access is removed. For this provider's own grant the person
// is the assignment's user. For another provider's (end_sessions) the
// person is the requester — their linked Boundary user from the config,
// else the users with their e-mail — and their auth tokens are deleted
// too, so their next login recomputes managed groups without the group
// that was just taken away.
func (p *Provider) EndSessions(ctx context.Context, spec drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	own := spec.Assignment.Provider == p.cfg.Name
	var people []string
	switch {
	case own:
		if err := CheckUserID(spec.Assignment.PrincipalRef); err != nil {
			return drawbridge.RevokeResult{}, drawbridge.Permanent(fmt.Errorf("boundary %s: %v", p.cfg.Name, err))
		}
		people = []string{spec.Assignment.PrincipalRef}
	case p.cfg.Linked[spec.Requester] != "":
		people = []string{p.cfg.Linked[spec.Requester]}
	default:
		found, err := p.usersByEmail(ctx, spec.Requester)
		if err != nil {
			return drawbridge.RevokeResult{}, err
		}
		people = found
	}
	details := map[string]string{"boundary_users": strings.Join(people, ",")}
	if len(people) == 0 {
		details["sessions"] = fmt.Sprintf("no Boundary user has the e-mail %s: no sessions to end", spec.Requester)
		return drawbridge.RevokeResult{Details: details}, nil
	}
	var ended []string
	tokens := 0
	for _, u := range people {
		ids, err := p.cancelSessions(ctx, u)
		ended = append(ended, ids...)
		if err != nil {
			return drawbridge.RevokeResult{}, err
		}
		if !own {
			n, err := p.deleteTokens(ctx, u)
			tokens += n
			if err != nil {
				return drawbridge.RevokeResult{}, err
			}
		}
	}
	details["sessions_ended"] = drawbridge.Clip(strings.Join(ended, ","), 2000)
	details["sessions_ended_count"] = fmt.Sprint(len(ended))
	if !own {
		details["auth_tokens_deleted"] = fmt.Sprint(tokens)
	}
	return drawbridge.RevokeResult{Details: details}, nil
}

// cancelSessions cancels the user's sessions that are not yet ended in
// every configured scope, and returns the ids it cancelled.
func (p *Provider) cancelSessions(ctx context.Context, user string) ([]string, error) {
	var live []*sessions.Session
	for _, scope := range p.cfg.Scopes {
		err := p.do(ctx, "list sessions", func(ctx context.Context, c *api.Client) error {
			res, err := sessions.NewClient(c).List(ctx, scope, sessions.WithRecursive(true),
				sessions.WithFilter(fmt.Sprintf(`"/item/user_id" == "%s"`, user)))
			if err != nil {
				return err
			}
			for _, s := range res.Items {
				if s.UserId == user && (s.Status == "active" || s.Status == "pending") {
					live = append(live, s)
				}
			}
			return nil
		})
		if err != nil {
			return nil, p.classify(fmt.Sprintf("list the sessions of %s in scope %s", user, scope), err)
		}
	}
	if len(live) > maxSessions {
		return nil, drawbridge.Permanent(fmt.Errorf("boundary %s: %s has %d live sessions, more than the %d one sweep cancels", p.cfg.Name, user, len(live), maxSessions))
	}
	var ended []string
	for _, s := range live {
		err := p.do(ctx, "cancel session "+s.Id, func(ctx context.Context, c *api.Client) error {
			_, err := sessions.NewClient(c).Cancel(ctx, s.Id, s.Version)
			return err
		})
		switch code := status(err); {
		case err == nil:
			ended = append(ended, s.Id)
		case code == http.StatusNotFound:
			// Gone already: nothing to end.
		case code == http.StatusBadRequest || code == http.StatusConflict:
			// The session changed since the listing (a new connection,
			// or it is ending by itself): the revocation is retried,
			// and the next sweep lists it afresh.
			return ended, fmt.Errorf("boundary %s: cancel session %s: %s: listed again on the next attempt", p.cfg.Name, s.Id, describe(err))
		default:
			return ended, p.classify("cancel session "+s.Id, err)
		}
	}
	return ended, nil
}

// deleteTokens deletes the user's auth tokens (never the one this
// provider signs in with) and returns how many.
func (p *Provider) deleteTokens(ctx context.Context, user string) (int, error) {
	var ids []string
	err := p.do(ctx, "list auth tokens", func(ctx context.Context, c *api.Client) error {
		res, err := authtokens.NewClient(c).List(ctx, "global", authtokens.WithRecursive(true),
			authtokens.WithFilter(fmt.Sprintf(`"/item/user_id" == "%s"`, user)))
		if err != nil {
			return err
		}
		for _, t := range res.Items {
			if t.UserId == user {
				ids = append(ids, t.Id)
			}
		}
		return nil
	})
	if err != nil {
		return 0, p.classify("list the auth tokens of "+user, err)
	}
	p.mu.Lock()
	mine := p.tokenID
	p.mu.Unlock()
	n := 0
	for _, id := range ids {
		if id == mine {
			continue
		}
		err := p.do(ctx, "delete auth token "+id, func(ctx context.Context, c *api.Client) error {
			_, err := authtokens.NewClient(c).Delete(ctx, id)
			return err
		})
		if err != nil && status(err) != http.StatusNotFound {
			return n, p.classify("delete auth token "+id, err)
		}
		if err == nil {
			n++
		}
	}
	return n, nil
}
