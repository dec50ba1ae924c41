// Package entra is Drawbridge's provider for Microsoft Entra ID groups
// (provider kind entra): a grant makes a person a member or owner of a
// group, through Privileged Identity Management (mode pim, the default:
// a time-bound assignment that Entra also ends by itself) or through plain
// group membership (mode membership, for tenants without PIM licences).
//
// It authenticates as an application with the client-credentials flow
// against the tenant's token endpoint and calls Microsoft Graph with plain
// net/http: the generated Graph SDK is two orders of magnitude larger than
// the handful of calls this needs. docs/providers.md lists the Graph
// permissions and says what each answer leads to.
package entra

import (
	"bytes"
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
	"unicode/utf8"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/outbound"
)

// Modes: how a grant gives access.
const (
	ModePIM        = "pim"
	ModeMembership = "membership"
)

// Roles: what a person becomes in the group (PIM's accessId).
const (
	RoleMember = "member"
	RoleOwner  = "owner"
)

// Default endpoints: the public cloud. Tests and dev mode point both at
// the loopback emulator (entra/emulator).
const (
	DefaultLoginEndpoint = "https://login.microsoftonline.com"
	DefaultGraphEndpoint = "https://graph.microsoft.com/v1.0"
)

// Graph application permissions each mode needs, named in the errors a
// refused call gives so an operator knows what to grant.
const (
	PermissionPIM        = "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"
	PermissionMembership = "GroupMember.ReadWrite.All"
	PermissionUsers      = "User.Read.All"
)

// PendingRecheck is how long after a "pending" answer the grant is looked
// at again: PIM activation takes minutes in some tenants (5–15 reported).
const PendingRecheck = time.Minute

// minNativeDuration is PIM's shortest assignment: a native expiry is never
// set shorter (the core revokes at the grant's end itself anyway).
const minNativeDuration = 5 * time.Minute

// DefaultTimeout bounds one Graph call when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config configures one Entra provider instance.
type Config struct {
	// Name is the configured instance name ("entra").
	Name string
	// TenantID, ClientID and ClientSecret are the app registration's
	// credentials (client-credentials flow).
	TenantID, ClientID, ClientSecret string
	// Mode is ModePIM (default) or ModeMembership.
	Mode string
	// LoginEndpoint and GraphEndpoint default to the public cloud.
	LoginEndpoint, GraphEndpoint string
	// Timeout bounds one Graph call; DefaultTimeout when zero.
	Timeout time.Duration
	// HTTPClient sends the calls; a client of its own when nil.
	HTTPClient *http.Client
	// Now is the clock of native expiries and look-again times.
	Now func() time.Time
}

// Provider grants Entra group membership. It implements drawbridge.Provider
// with the ExistenceChecker and Extender capabilities, and is safe for
// concurrent use.
type Provider struct {
	name    string
	mode    string
	graph   string
	timeout time.Duration
	client  *http.Client
	now     func() time.Time

	mu     sync.Mutex
	groups map[string]string // group display name → object id
}

var (
	_ drawbridge.Provider         = (*Provider)(nil)
	_ drawbridge.ExistenceChecker = (*Provider)(nil)
	_ drawbridge.Extender         = (*Provider)(nil)
)

// New checks cfg and returns a provider.
func New(cfg Config) (*Provider, error) {
	bad := func(format string, args ...any) error {
		return drawbridge.Errorf(drawbridge.EINVALID, "entra %s: %s", cfg.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case cfg.TenantID == "":
		return nil, bad("no tenant id")
	case cfg.ClientID == "" || cfg.ClientSecret == "":
		return nil, bad("no client id or client secret (the app registration's credentials)")
	}
	if cfg.Mode == "" {
		cfg.Mode = ModePIM
	}
	if cfg.Mode != ModePIM && cfg.Mode != ModeMembership {
		return nil, bad("mode %q: use %s or %s", cfg.Mode, ModePIM, ModeMembership)
	}
	if cfg.LoginEndpoint == "" {
		cfg.LoginEndpoint = DefaultLoginEndpoint
	}
	if cfg.GraphEndpoint == "" {
		cfg.GraphEndpoint = DefaultGraphEndpoint
	}
	for _, u := range []string{cfg.LoginEndpoint, cfg.GraphEndpoint} {
		if err := CheckEndpoint(u); err != nil {
			return nil, bad("%v", err)
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	cc := clientcredentials.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		TokenURL: strings.TrimRight(cfg.LoginEndpoint, "/") + "/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token",
		Scopes:   []string{"https://graph.microsoft.com/.default"},
		// Entra takes the secret in the form body.
		AuthStyle: oauth2.AuthStyleInParams,
	}
	// The token source caches the token and renews it before it expires;
	// its requests go through base, so they honour the same transport.
	tokenCtx := context.WithValue(context.Background(), oauth2.HTTPClient, base)
	client := &http.Client{
		Transport:     &oauth2.Transport{Source: cc.TokenSource(tokenCtx), Base: transport(base)},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Provider{name: cfg.Name, mode: cfg.Mode, graph: strings.TrimRight(cfg.GraphEndpoint, "/"),
		timeout: cfg.Timeout, client: client, now: cfg.Now, groups: map[string]string{}}, nil
}

func transport(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// CheckEndpoint reports what is wrong with a login or Graph endpoint: it
// must be https, or http to a loopback address (the emulator).
func CheckEndpoint(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("endpoint %q is not an http(s) URL", raw)
	case u.User != nil:
		return fmt.Errorf("endpoint %q carries credentials: remove user:password@", raw)
	case u.Scheme == "http" && !outbound.Loopback(u.Hostname()):
		return fmt.Errorf("endpoint %q is plain http to a host that is not loopback: use https (the client secret and tokens travel on it)", raw)
	}
	return nil
}

// Name is the configured instance name.
func (p *Provider) Name() string { return p.name }

// Mode is the configured mode.
func (p *Provider) Mode() string { return p.mode }

// objectID is the shape of an Entra object id (a GUID).
var objectID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// PrincipalRef is the person's Entra user object id: their linked identity
// (identities: {entra: <object id>}) when they have one, else the user
// whose userPrincipalName, then mail, is their canonical id.
func (p *Provider) PrincipalRef(ctx context.Context, who *drawbridge.Principal) (string, error) {
	if who == nil || who.ID == "" {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID, "entra %s: no person given", p.name))
	}
	if id := who.Identities[drawbridge.IdentityEntra]; id != "" {
		if !objectID.MatchString(id) {
			return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
				"entra %s: %s's linked entra identity %q is not an object id (a GUID such as 8f1c…-…): fix identities.entra in the config", p.name, who.ID, id))
		}
		return strings.ToLower(id), nil
	}
	var u struct {
		ID string `json:"id"`
	}
	err := p.call(ctx, http.MethodGet, "/users/"+url.PathEscape(who.ID)+"?$select=id", nil, &u, PermissionUsers)
	if err == nil && u.ID != "" {
		return u.ID, nil
	}
	if !isNotFound(err) {
		return "", fmt.Errorf("entra %s: look up %s: %w", p.name, who.ID, err)
	}
	var list struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	q := "/users?$select=id&$filter=" + url.QueryEscape("mail eq '"+odataString(who.ID)+"'")
	if err := p.call(ctx, http.MethodGet, q, nil, &list, PermissionUsers); err != nil {
		return "", fmt.Errorf("entra %s: look up %s by mail: %w", p.name, who.ID, err)
	}
	switch len(list.Value) {
	case 1:
		return list.Value[0].ID, nil
	case 0:
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
			"entra %s: no Entra user has the user principal name or mail %s: link their object id in the config (identities: {entra: <object id>})", p.name, who.ID))
	default:
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
			"entra %s: %d Entra users have the mail %s: link the right one's object id in the config (identities: {entra: <object id>})", p.name, len(list.Value), who.ID))
	}
}

// odataString escapes s for a quoted OData string literal.
func odataString(s string) string { return strings.ReplaceAll(s, "'", "''") }

// groupID returns the object id of the group a catalog resource names: the
// resource itself when it is an object id, else the one group with that
// display name (looked up once).
func (p *Provider) groupID(ctx context.Context, resource string) (string, error) {
	if objectID.MatchString(resource) {
		return strings.ToLower(resource), nil
	}
	p.mu.Lock()
	id, ok := p.groups[resource]
	p.mu.Unlock()
	if ok {
		return id, nil
	}
	var list struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	q := "/groups?$select=id&$filter=" + url.QueryEscape("displayName eq '"+odataString(resource)+"'")
	if err := p.call(ctx, http.MethodGet, q, nil, &list, p.permission()); err != nil {
		return "", fmt.Errorf("entra %s: find group %s: %w", p.name, resource, err)
	}
	if len(list.Value) != 1 {
		return "", drawbridge.Permanent(fmt.Errorf("entra %s: %d groups are called %q: name the group by its object id in the catalog (resources: [{name: <object id>, aliases: [%s]}])",
			p.name, len(list.Value), resource, resource))
	}
	p.mu.Lock()
	p.groups[resource] = list.Value[0].ID
	p.mu.Unlock()
	return list.Value[0].ID, nil
}

func (p *Provider) permission() string {
	if p.mode == ModePIM {
		return PermissionPIM
	}
	return PermissionMembership
}

// checkRole refuses a role Entra does not have (the catalog should have).
func (p *Provider) checkRole(role string) error {
	if role != RoleMember && role != RoleOwner {
		return drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID, "entra %s: role %q: a group's roles are %s and %s", p.name, role, RoleMember, RoleOwner))
	}
	return nil
}

// Grant makes the person a member or owner of the group until spec.Until
// (or confirms they are, for at least that long).
func (p *Provider) Grant(ctx context.Context, spec drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	return p.ensure(ctx, spec)
}

// Extend moves the end of an assignment to spec.Until: in mode pim with
// adminExtend, so the native expiry never ends an extended grant early.
// Group membership has no end to move.
func (p *Provider) Extend(ctx context.Context, spec drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	return p.ensure(ctx, spec)
}

func (p *Provider) ensure(ctx context.Context, spec drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	a := spec.Assignment
	if err := p.checkRole(a.Role); err != nil {
		return drawbridge.GrantResult{}, err
	}
	group, err := p.groupID(ctx, a.Resource)
	if err != nil {
		return drawbridge.GrantResult{}, err
	}
	if p.mode == ModeMembership {
		return p.addMember(ctx, group, a)
	}
	return p.assign(ctx, group, spec)
}

// Exists reports whether the person holds the role in the group now: an
// active PIM assignment (which includes direct membership) in mode pim,
// direct membership or ownership in mode membership.
func (p *Provider) Exists(ctx context.Context, a drawbridge.Assignment) (bool, error) {
	if err := p.checkRole(a.Role); err != nil {
		return false, err
	}
	group, err := p.groupID(ctx, a.Resource)
	if err != nil {
		return false, err
	}
	if p.mode == ModeMembership {
		var list struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		q := "/groups/" + url.PathEscape(group) + "/" + a.Role + "s?$select=id&$count=true&$filter=" + url.QueryEscape("id eq '"+odataString(a.PrincipalRef)+"'")
		if err := p.call(ctx, http.MethodGet, q, nil, &list, PermissionMembership); err != nil {
			return false, fmt.Errorf("entra %s: %w", p.name, err)
		}
		return len(list.Value) > 0, nil
	}
	inst, err := p.instance(ctx, group, a)
	return inst != nil, err
}

// Revoke ends the person's role in the group: adminRemove of the PIM
// assignment, or removal of the membership. An assignment already gone
// (ended natively, removed by hand) is success.
func (p *Provider) Revoke(ctx context.Context, spec drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	a := spec.Assignment
	if err := p.checkRole(a.Role); err != nil {
		return drawbridge.RevokeResult{}, err
	}
	group, err := p.groupID(ctx, a.Resource)
	if err != nil {
		return drawbridge.RevokeResult{}, err
	}
	if p.mode == ModeMembership {
		path := "/groups/" + url.PathEscape(group) + "/" + a.Role + "s/" + url.PathEscape(a.PrincipalRef) + "/$ref"
		err := p.call(ctx, http.MethodDelete, path, nil, nil, PermissionMembership)
		switch {
		case isNotFound(err):
			return drawbridge.RevokeResult{Details: map[string]string{"status": "already removed"}}, nil
		case err != nil:
			return drawbridge.RevokeResult{}, fmt.Errorf("entra %s: remove %s from %s %ss: %w", p.name, a.PrincipalRef, a.Resource, a.Role, err)
		}
		return drawbridge.RevokeResult{Details: map[string]string{"status": "removed"}}, nil
	}
	// A removal confirmed while an activation is in flight would be undone
	// when Entra provisions it: wait for the activation to finish first.
	if pend, err := p.pendingRequest(ctx, group, a); err != nil {
		return drawbridge.RevokeResult{}, err
	} else if pend != nil {
		return drawbridge.RevokeResult{}, drawbridge.Pending(fmt.Sprintf("waiting for Entra PIM %s %s (%s) to finish before removing", pend.Action, pend.ID, pend.Status),
			p.now().Add(PendingRecheck))
	}
	body := scheduleRequest{Action: "adminRemove", AccessID: a.Role, PrincipalID: a.PrincipalRef, GroupID: group,
		Justification: justification(spec.Reason, spec.Ticket, spec.RequestID)}
	var out scheduleRequest
	err = p.call(ctx, http.MethodPost, schedReqPath, body, &out, PermissionPIM)
	if graphCode(err) == "RoleAssignmentDoesNotExist" || isNotFound(err) {
		return drawbridge.RevokeResult{Details: map[string]string{"status": "already removed"}}, nil
	}
	if err != nil {
		return drawbridge.RevokeResult{}, fmt.Errorf("entra %s: adminRemove %s %s of %s: %w", p.name, a.Resource, a.Role, a.PrincipalRef, err)
	}
	if err := p.outcome(out, "adminRemove"); err != nil {
		return drawbridge.RevokeResult{}, err
	}
	return drawbridge.RevokeResult{Details: map[string]string{"status": out.Status, "schedule_request": out.ID}}, nil
}

// addMember adds the person as a member or owner; "already exist" is done.
func (p *Provider) addMember(ctx context.Context, group string, a drawbridge.Assignment) (drawbridge.GrantResult, error) {
	path := "/groups/" + url.PathEscape(group) + "/" + a.Role + "s/$ref"
	ref := map[string]string{"@odata.id": p.graph + "/directoryObjects/" + url.PathEscape(a.PrincipalRef)}
	err := p.call(ctx, http.MethodPost, path, ref, nil, PermissionMembership)
	if err != nil && strings.Contains(graphMessage(err), "already exist") {
		return drawbridge.GrantResult{Details: map[string]string{"status": "already a " + a.Role}}, nil
	}
	if err != nil {
		return drawbridge.GrantResult{}, fmt.Errorf("entra %s: add %s to %s %ss: %w", p.name, a.PrincipalRef, a.Resource, a.Role, err)
	}
	return drawbridge.GrantResult{Details: map[string]string{"status": "added"}}, nil
}

const (
	schedReqPath  = "/identityGovernance/privilegedAccess/group/assignmentScheduleRequests"
	instancesPath = "/identityGovernance/privilegedAccess/group/assignmentScheduleInstances"
)

// scheduleRequest is a privilegedAccessGroupAssignmentScheduleRequest.
type scheduleRequest struct {
	ID               string        `json:"id,omitempty"`
	Status           string        `json:"status,omitempty"`
	Action           string        `json:"action"`
	AccessID         string        `json:"accessId"`
	PrincipalID      string        `json:"principalId"`
	GroupID          string        `json:"groupId"`
	Justification    string        `json:"justification,omitempty"`
	ScheduleInfo     *scheduleInfo `json:"scheduleInfo,omitempty"`
	TicketInfo       *ticketInfo   `json:"ticketInfo,omitempty"`
	TargetScheduleID string        `json:"targetScheduleId,omitempty"`
	CreatedDateTime  *time.Time    `json:"createdDateTime,omitempty"`
}

type scheduleInfo struct {
	StartDateTime time.Time  `json:"startDateTime"`
	Expiration    expiration `json:"expiration"`
}

type expiration struct {
	Type        string     `json:"type"`
	Duration    string     `json:"duration,omitempty"`
	EndDateTime *time.Time `json:"endDateTime,omitempty"`
}

type ticketInfo struct {
	TicketNumber string `json:"ticketNumber,omitempty"`
	TicketSystem string `json:"ticketSystem,omitempty"`
}

// instance is a privilegedAccessGroupAssignmentScheduleInstance: access
// the person holds now.
type instance struct {
	ID          string     `json:"id"`
	AccessID    string     `json:"accessId"`
	PrincipalID string     `json:"principalId"`
	GroupID     string     `json:"groupId"`
	EndDateTime *time.Time `json:"endDateTime"`
	MemberType  string     `json:"memberType"`
}

// marker ties a schedule request to the Drawbridge request that made it:
// Graph has no idempotency key, so a retry after a lost answer finds its
// own earlier request by it instead of creating a second one.
func marker(requestID string) string { return "[drawbridge " + requestID + "]" }

// maxJustification is what PIM accepts in a justification.
const maxJustification = 500

// justification is the reason and ticket people read in the PIM portal,
// ending with the request's marker (never cut).
func justification(reason, ticket, requestID string) string {
	m := marker(requestID)
	s := strings.TrimSpace(reason)
	if ticket != "" {
		s += " (ticket " + ticket + ")"
	}
	room := maxJustification - len(m) - 1
	if len(s) > room {
		n := max(room-len("…"), 0)
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return strings.TrimSpace(s + " " + m)
}

// nativeDuration is the PIM afterDuration for access until until: rounded
// up to the minute and at least PIM's minimum, so the native expiry never
// comes before the grant's end.
func nativeDuration(now, until time.Time) string {
	d := max(until.Sub(now), minNativeDuration)
	mins := int64((d + time.Minute - 1) / time.Minute)
	return "PT" + strconv.FormatInt(mins, 10) + "M"
}

// assign makes sure the PIM assignment lasts until spec.Until: the
// request's own earlier schedule request if there is one (a retry), else
// an existing assignment that lasts long enough, else adminExtend of a
// shorter one, else a new adminAssign.
func (p *Provider) assign(ctx context.Context, group string, spec drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	a := spec.Assignment
	prev, err := p.ownRequest(ctx, group, spec)
	if err != nil {
		return drawbridge.GrantResult{}, err
	}
	if prev != nil {
		return p.result(*prev)
	}
	inst, err := p.instance(ctx, group, a)
	if err != nil {
		return drawbridge.GrantResult{}, err
	}
	action := "adminAssign"
	if inst != nil {
		if inst.EndDateTime == nil || !inst.EndDateTime.Before(spec.Until) {
			return drawbridge.GrantResult{Details: map[string]string{"status": "already assigned", "native_expiry": endText(inst.EndDateTime)}}, nil
		}
		action = "adminExtend"
	}
	now := p.now().UTC().Truncate(time.Second)
	body := scheduleRequest{Action: action, AccessID: a.Role, PrincipalID: a.PrincipalRef, GroupID: group,
		Justification: justification(spec.Reason, spec.Ticket, spec.RequestID),
		ScheduleInfo: &scheduleInfo{StartDateTime: now,
			Expiration: expiration{Type: "afterDuration", Duration: nativeDuration(now, spec.Until)}}}
	if spec.Ticket != "" {
		body.TicketInfo = &ticketInfo{TicketNumber: spec.Ticket, TicketSystem: "Drawbridge"}
	}
	var out scheduleRequest
	if err := p.call(ctx, http.MethodPost, schedReqPath, body, &out, PermissionPIM); err != nil {
		if c := graphCode(err); c == "RoleAssignmentExists" || c == "RoleAssignmentDoesNotExist" {
			// The listing lagged the assignment's creation or end: not a
			// refusal of the grant, so it is asked again (and read afresh).
			var g *GraphError
			errors.As(err, &g)
			err = g
		}
		return drawbridge.GrantResult{}, fmt.Errorf("entra %s: %s %s %s for %s: %w", p.name, action, a.Resource, a.Role, a.PrincipalRef, err)
	}
	return p.result(out)
}

func endText(t *time.Time) string {
	if t == nil {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}

// result maps a schedule request's status to the contract's answers.
func (p *Provider) result(r scheduleRequest) (drawbridge.GrantResult, error) {
	if err := p.outcome(r, r.Action); err != nil {
		return drawbridge.GrantResult{}, err
	}
	d := map[string]string{"status": r.Status, "action": r.Action}
	if r.ScheduleInfo != nil && r.ScheduleInfo.Expiration.Duration != "" {
		d["native_expiration"] = r.ScheduleInfo.Expiration.Duration
	}
	return drawbridge.GrantResult{GrantRef: r.ID, Details: d}, nil
}

// outcome says whether a schedule request's status is done, still being
// worked on (drawbridge.Pending), or refused for good (permanent).
func (p *Provider) outcome(r scheduleRequest, what string) error {
	switch s := r.Status; {
	case s == "Provisioned" || s == "Granted" || s == "Revoked":
		return nil
	case pendingStatus(s):
		return drawbridge.Pending(fmt.Sprintf("Entra PIM %s %s is %s", what, r.ID, s), p.now().Add(PendingRecheck))
	case s == "Failed" || s == "Denied" || s == "Canceled" || s == "Canceling":
		return drawbridge.Permanent(fmt.Errorf("entra %s: PIM %s %s ended %s", p.name, what, r.ID, s))
	default:
		return fmt.Errorf("entra %s: PIM %s %s has status %q, which Drawbridge does not know: asking again", p.name, what, r.ID, s)
	}
}

// pendingStatus reports whether a schedule request's status says Entra
// accepted it and has not finished it.
func pendingStatus(s string) bool {
	return strings.HasPrefix(s, "Pending") || s == "ScheduleCreated" || s == "Accepted"
}

// ownRequest finds the assignment schedule request this Drawbridge
// request made on an earlier attempt (by its marker), if any.
func (p *Provider) ownRequest(ctx context.Context, group string, spec drawbridge.GrantSpec) (*scheduleRequest, error) {
	m := marker(spec.RequestID)
	return p.findRequest(ctx, group, spec.Assignment, func(r scheduleRequest) bool { return strings.HasSuffix(r.Justification, m) })
}

// pendingRequest finds an assign or extend request for the assignment that
// Entra has accepted and not yet provisioned, whoever made it.
func (p *Provider) pendingRequest(ctx context.Context, group string, a drawbridge.Assignment) (*scheduleRequest, error) {
	return p.findRequest(ctx, group, a, func(r scheduleRequest) bool { return pendingStatus(r.Status) })
}

// findRequest returns the first assign or extend schedule request for a
// that match accepts.
func (p *Provider) findRequest(ctx context.Context, group string, a drawbridge.Assignment, match func(scheduleRequest) bool) (*scheduleRequest, error) {
	filter := fmt.Sprintf("groupId eq '%s' and principalId eq '%s'", odataString(group), odataString(a.PrincipalRef))
	next := schedReqPath + "?$filter=" + url.QueryEscape(filter)
	for page := 0; next != "" && page < maxPages; page++ {
		var list struct {
			Value    []scheduleRequest `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := p.call(ctx, http.MethodGet, next, nil, &list, PermissionPIM); err != nil {
			return nil, fmt.Errorf("entra %s: list schedule requests of %s in %s: %w", p.name, a.PrincipalRef, a.Resource, err)
		}
		for i, r := range list.Value {
			if r.AccessID == a.Role && (r.Action == "adminAssign" || r.Action == "adminExtend") && match(r) {
				return &list.Value[i], nil
			}
		}
		next = list.NextLink
	}
	return nil, nil
}

// maxPages bounds how many pages of one listing are read.
const maxPages = 50

// instance returns the person's active assignment of the role in the
// group, or nil; the one lasting longest when there are several.
func (p *Provider) instance(ctx context.Context, group string, a drawbridge.Assignment) (*instance, error) {
	filter := fmt.Sprintf("groupId eq '%s' and principalId eq '%s' and accessId eq '%s'", odataString(group), odataString(a.PrincipalRef), a.Role)
	var list struct {
		Value []instance `json:"value"`
	}
	if err := p.call(ctx, http.MethodGet, instancesPath+"?$filter="+url.QueryEscape(filter), nil, &list, PermissionPIM); err != nil {
		return nil, fmt.Errorf("entra %s: list assignments of %s in %s: %w", p.name, a.PrincipalRef, a.Resource, err)
	}
	var best *instance
	for i, in := range list.Value {
		if in.AccessID != a.Role {
			continue
		}
		if best == nil || in.EndDateTime == nil || (best.EndDateTime != nil && in.EndDateTime.After(*best.EndDateTime)) {
			best = &list.Value[i]
		}
		if best.EndDateTime == nil {
			break
		}
	}
	return best, nil
}

// GraphError is an error answer from Graph or the token endpoint.
type GraphError struct {
	Status  int
	Code    string
	Message string
}

func (e *GraphError) Error() string {
	return fmt.Sprintf("Graph answered %d %s: %s", e.Status, e.Code, e.Message)
}

func graphCode(err error) string {
	var g *GraphError
	if errors.As(err, &g) {
		return g.Code
	}
	return ""
}

func graphMessage(err error) string {
	var g *GraphError
	if errors.As(err, &g) {
		return g.Message
	}
	return ""
}

func isNotFound(err error) bool {
	var g *GraphError
	return errors.As(err, &g) && g.Status == http.StatusNotFound
}

const maxAnswer = 1 << 20

// call sends one Graph request and decodes a 2xx answer into out. Errors
// are classified for the core: 429 is a rejection with Graph's
// Retry-After, 5xx and transport failures are retryable, 401 and 403 are
// permanent and name permission, any other 4xx is permanent with Graph's
// message.
func (p *Provider) call(ctx context.Context, method, path string, in, out any, permission string) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	target := path
	if !strings.HasPrefix(path, "https://") && !strings.HasPrefix(path, "http://") {
		target = p.graph + path
	} else if !strings.HasPrefix(path, p.graph+"/") {
		return drawbridge.Permanent(fmt.Errorf("the next page is at %s, outside %s: not followed", path, p.graph))
	}
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return drawbridge.Permanent(err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return drawbridge.Permanent(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Advanced queries ($count, $filter on members) need it; others ignore it.
	req.Header.Set("ConsistencyLevel", "eventual")
	req.Header.Set("User-Agent", "drawbridge-entra")
	res, err := p.client.Do(req)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return tokenError(re)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("no answer from Graph within %s (%s %s): Entra may have acted, so it is asked again", p.timeout, method, path)
		}
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if out == nil || len(raw) == 0 {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("answer %s to %s %s from Graph is not the expected JSON: %w", res.Status, method, path, err)
		}
		return nil
	}
	g := &GraphError{Status: res.StatusCode}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil {
		g.Code, g.Message = e.Error.Code, e.Error.Message
	}
	if g.Message == "" {
		g.Message = strings.TrimSpace(string(raw))
	}
	g.Message = drawbridge.Printable(drawbridge.Clip(g.Message, 500))
	switch code := res.StatusCode; {
	case code == http.StatusTooManyRequests:
		err := error(fmt.Errorf("throttled by Graph: %w", g))
		if d, ok := outbound.RetryAfter(res.Header.Get("Retry-After"), p.now()); ok {
			err = drawbridge.RetryAfter(err, d)
		}
		return drawbridge.Rejected(err)
	case code >= 500:
		err := error(g)
		if d, ok := outbound.RetryAfter(res.Header.Get("Retry-After"), p.now()); ok {
			err = drawbridge.RetryAfter(err, d)
		}
		return err
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return drawbridge.Permanent(fmt.Errorf("%w (the app registration needs the Microsoft Graph application permission %s, with admin consent)", g, permission))
	case code == http.StatusNotFound || code == http.StatusBadRequest || code == http.StatusConflict:
		// Callers look at these (already gone, already a member); left
		// unread, they are permanent.
		return drawbridge.Permanent(g)
	default:
		return drawbridge.Permanent(g)
	}
}

// tokenError classifies a token endpoint failure: refused credentials are
// permanent, an endpoint in trouble is retried.
func tokenError(re *oauth2.RetrieveError) error {
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	msg := re.ErrorDescription
	if msg == "" {
		msg = drawbridge.Clip(strings.TrimSpace(string(re.Body)), 300)
	}
	err := fmt.Errorf("the tenant's token endpoint refused the app (%d %s: %s)", status, re.ErrorCode, drawbridge.Printable(msg))
	if status == http.StatusTooManyRequests || status >= 500 || status == 0 {
		return err
	}
	return drawbridge.Permanent(fmt.Errorf("%w: check tenant_id, client_id and client_secret (has the secret expired?)", err))
}
