// Package emulator is a loopback HashiCorp Boundary controller for tests,
// the sandbox and dev mode: the /v1 API calls the boundary provider makes
// through the official client (github.com/hashicorp/boundary/api), in the
// wire format that client expects — typed id prefixes (u_, r_, s_, at_,
// mgoidc_, ttcp_), a version on every mutable resource that a change must
// name, {kind, op, message} errors, go-bexpr filters on lists, recursive
// listing from a scope — and the part of Boundary's model the reference
// workflow depends on: an OIDC login that recomputes a user's managed
// groups from the token's groups claim, roles whose principals and grants
// decide which targets a user may open a session to, live sessions that
// outlast the role until they are cancelled, and auth tokens that keep a
// login's managed groups until the next login.
//
// Faults (any status with any headers, or a lost answer after the work is
// done) are injected per method and path, so the provider's handling of
// throttling (429 with Retry-After), permanent refusals and timeouts is
// tested against the real client code.
package emulator

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-bexpr"
)

// Scope is an org (o_) or project (p_) scope; the global scope is always
// there.
type Scope struct {
	ID, ParentID, Name string
}

// User is a Boundary user (u_) with its primary account's e-mail.
type User struct {
	ID, Name, LoginName, Email, FullName string
}

// ManagedGroup is an OIDC managed group (mgoidc_) whose filter is matched
// against the ID token at each login, like the reference workflow's
// `"<entra group object id>" in "/token/groups"`.
type ManagedGroup struct {
	ID, Name, Filter string
}

// Target is a target (ttcp_) in a project scope.
type Target struct {
	ID, ScopeID, Name string
}

// Role is a role (r_): its principals (users and managed groups) get its
// grants, such as "ids=ttcp_…;actions=authorize-session,read".
type Role struct {
	ID, ScopeID, Name string
	Version           uint32
	PrincipalIDs      []string
	Grants            []string
}

// AuthToken is a login's token (at_).
type AuthToken struct {
	ID, Token, UserID, AuthMethodID string
	Created, Expires                time.Time
}

// Session statuses.
const (
	StatusActive     = "active"
	StatusCanceling  = "canceling"
	StatusTerminated = "terminated"
)

// Session is a session (s_) a user authorised on a target.
type Session struct {
	ID, TargetID, ScopeID, UserID, AuthTokenID string
	Version                                    uint32
	Status, TerminationReason                  string
	Created, Expires                           time.Time
	// CanceledAt is when it was cancelled on the emulator's clock (zero
	// while it is active).
	CanceledAt time.Time
}

// Fault answers the next Count requests matching Method and a path
// containing Path with Status, Headers and a Boundary error (Kind,
// Message); with Lose it does the work and breaks the connection instead
// of answering (the client sees what it sees after a timeout).
type Fault struct {
	Method, Path string
	Count        int
	Status       int
	Headers      map[string]string
	Kind         string
	Message      string
	Lose         bool
	// ChangeRole, when set, is another administrator's change to that
	// role (its version moves on) made just before the request is served
	// as usual: the request's version is then stale.
	ChangeRole string
}

// SessionLifetime is how long an authorised session lasts unless
// cancelled: Boundary's default session max duration, the "up to 8 h" of
// the reference workflow's gap.
const SessionLifetime = 8 * time.Hour

// TokenLifetime is how long an auth token lasts (Boundary's default).
const TokenLifetime = 7 * 24 * time.Hour

// Emulator is the controller. Create it with New and serve it (it is an
// http.Handler) on loopback.
type Emulator struct {
	mu       sync.Mutex
	now      func() time.Time
	scopes   map[string]Scope
	users    map[string]*User
	groups   map[string]*ManagedGroup
	members  map[string]map[string]bool // managed group id → user ids, as of each user's last login
	targets  map[string]*Target
	roles    map[string]*Role
	tokens   map[string]*AuthToken // by id
	sessions map[string]*Session
	// admins are the users whose tokens may call the management API.
	admins    map[string]bool
	passwords map[string]passwordAccount // login name → account
	faults    []*Fault
	calls     []string
}

type passwordAccount struct {
	authMethodID, password, userID string
}

// PasswordAuthMethod is the id of the emulator's password auth method.
const PasswordAuthMethod = "ampw_1234567890"

// OIDCAuthMethod is the id of the emulator's OIDC auth method (the
// reference workflow's Entra ID connection).
const OIDCAuthMethod = "amoidc_1234567890"

// New returns a controller with only the global scope. now is its clock
// (session and token times, cancellation times); time.Now when nil.
func New(now func() time.Time) *Emulator {
	if now == nil {
		now = time.Now
	}
	return &Emulator{now: now, scopes: map[string]Scope{"global": {ID: "global", Name: "Global"}},
		users: map[string]*User{}, groups: map[string]*ManagedGroup{}, members: map[string]map[string]bool{},
		targets: map[string]*Target{}, roles: map[string]*Role{}, tokens: map[string]*AuthToken{},
		sessions: map[string]*Session{}, admins: map[string]bool{}, passwords: map[string]passwordAccount{}}
}

const idChars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// newID returns prefix_ and ten base62 characters, Boundary's id form.
func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return prefix + "_" + string(b)
}

// AddScope adds an org or project scope (ParentID defaults to global) and
// returns it with an id when it had none (o_ under global, p_ below).
func (e *Emulator) AddScope(s Scope) Scope {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.ParentID == "" {
		s.ParentID = "global"
	}
	if s.ID == "" {
		prefix := "p"
		if s.ParentID == "global" {
			prefix = "o"
		}
		s.ID = newID(prefix)
	}
	e.scopes[s.ID] = s
	return s
}

// AddUser adds a user and returns it with an id when it had none.
func (e *Emulator) AddUser(u User) User {
	e.mu.Lock()
	defer e.mu.Unlock()
	if u.ID == "" {
		u.ID = newID("u")
	}
	e.users[u.ID] = &u
	return u
}

// AddAdmin adds a user who may call the management API, with a password
// account login/password on PasswordAuthMethod.
func (e *Emulator) AddAdmin(login, password string) User {
	u := e.AddUser(User{Name: login, LoginName: login})
	e.mu.Lock()
	defer e.mu.Unlock()
	e.admins[u.ID] = true
	e.passwords[login] = passwordAccount{authMethodID: PasswordAuthMethod, password: password, userID: u.ID}
	return u
}

// AddManagedGroup adds an OIDC managed group; its filter must parse.
func (e *Emulator) AddManagedGroup(g ManagedGroup) (ManagedGroup, error) {
	if _, err := bexpr.CreateEvaluator(g.Filter); err != nil {
		return ManagedGroup{}, fmt.Errorf("managed group filter %q: %w", g.Filter, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if g.ID == "" {
		g.ID = newID("mgoidc")
	}
	e.groups[g.ID] = &g
	e.members[g.ID] = map[string]bool{}
	return g, nil
}

// AddTarget adds a TCP target and returns it with an id when it had none.
func (e *Emulator) AddTarget(t Target) Target {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.ID == "" {
		t.ID = newID("ttcp")
	}
	e.targets[t.ID] = &t
	return t
}

// AddRole adds a role (version 1) and returns it with an id when it had
// none.
func (e *Emulator) AddRole(r Role) Role {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.ID == "" {
		r.ID = newID("r")
	}
	r.Version = 1
	r.PrincipalIDs = slices.Clone(r.PrincipalIDs)
	r.Grants = slices.Clone(r.Grants)
	e.roles[r.ID] = &r
	return r
}

// Role returns the role as it is now.
func (e *Emulator) Role(id string) Role {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := *e.roles[id]
	r.PrincipalIDs = slices.Clone(r.PrincipalIDs)
	return r
}

// SetPrincipals changes a role's principals out of band (an administrator
// in the admin UI), bumping its version.
func (e *Emulator) SetPrincipals(roleID string, ids ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.roles[roleID]
	r.PrincipalIDs = slices.Clone(ids)
	r.Version++
}

// Login is an OIDC login of user through OIDCAuthMethod with an ID token
// whose groups claim is groups: like Boundary, it recomputes the user's
// managed-group memberships from the claim and returns a new auth token.
// Memberships change only here: a token issued earlier keeps acting with
// the memberships of the latest login.
func (e *Emulator) Login(userID string, groups []string) (AuthToken, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.users[userID] == nil {
		return AuthToken{}, fmt.Errorf("no user %s", userID)
	}
	claims := map[string]any{"token": map[string]any{"groups": groups}, "userinfo": map[string]any{}}
	for id, g := range e.groups {
		ev, err := bexpr.CreateEvaluator(g.Filter)
		if err != nil {
			return AuthToken{}, err
		}
		// A selector the token lacks is an error to go-bexpr and no
		// match to Boundary.
		if ok, err := ev.Evaluate(claims); err == nil && ok {
			e.members[id][userID] = true
		} else {
			delete(e.members[id], userID)
		}
	}
	return e.mintToken(userID, OIDCAuthMethod), nil
}

func (e *Emulator) mintToken(userID, authMethod string) AuthToken {
	id := newID("at")
	now := e.now().UTC()
	t := &AuthToken{ID: id, Token: id + "_" + newID("s")[2:] + newID("s")[2:], UserID: userID, AuthMethodID: authMethod,
		Created: now, Expires: now.Add(TokenLifetime)}
	e.tokens[id] = t
	return *t
}

// ManagedGroupMembers returns the users in a managed group as of their
// latest logins.
func (e *Emulator) ManagedGroupMembers(groupID string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for u := range e.members[groupID] {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// ErrNotAuthorized is AuthorizeSession's refusal.
var ErrNotAuthorized = errors.New("not authorised to open a session to this target")

// AuthorizeSession opens a session to target with the token's user, as
// `boundary connect` does: the token must be live, and a role must give
// the user (directly or through a managed group) authorize-session on the
// target.
func (e *Emulator) AuthorizeSession(token, targetID string) (Session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	at := e.tokenBySecret(token)
	if at == nil {
		return Session{}, fmt.Errorf("auth token not valid: %w", ErrNotAuthorized)
	}
	t := e.targets[targetID]
	if t == nil {
		return Session{}, fmt.Errorf("no target %s", targetID)
	}
	if !e.mayConnect(at.UserID, targetID) {
		return Session{}, ErrNotAuthorized
	}
	now := e.now().UTC()
	s := &Session{ID: newID("s"), TargetID: targetID, ScopeID: t.ScopeID, UserID: at.UserID, AuthTokenID: at.ID,
		Version: 1, Status: StatusActive, Created: now, Expires: now.Add(SessionLifetime)}
	e.sessions[s.ID] = s
	return *s, nil
}

func (e *Emulator) mayConnect(userID, targetID string) bool {
	for _, r := range e.roles {
		holds := false
		for _, p := range r.PrincipalIDs {
			if p == userID || e.members[p][userID] {
				holds = true
			}
		}
		if !holds {
			continue
		}
		for _, g := range r.Grants {
			if grantsConnect(g, targetID) {
				return true
			}
		}
	}
	return false
}

// grantsConnect reports whether a grant string such as
// "ids=ttcp_1;actions=authorize-session,read" lets its holder open a
// session to target.
func grantsConnect(grant, target string) bool {
	var idsOK, actOK bool
	for _, part := range strings.Split(grant, ";") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "ids":
			idsOK = slices.Contains(strings.Split(v, ","), target) || v == "*"
		case "actions":
			acts := strings.Split(v, ",")
			actOK = slices.Contains(acts, "authorize-session") || slices.Contains(acts, "*")
		}
	}
	return idsOK && actOK
}

func (e *Emulator) tokenBySecret(secret string) *AuthToken {
	for _, t := range e.tokens {
		if t.Token == secret && e.now().Before(t.Expires) {
			return t
		}
	}
	return nil
}

// Session returns a session as it is now.
func (e *Emulator) Session(id string) Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	return *e.sessions[id]
}

// Tokens returns the live auth tokens of a user.
func (e *Emulator) Tokens(userID string) []AuthToken {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []AuthToken
	for _, t := range e.tokens {
		if t.UserID == userID {
			out = append(out, *t)
		}
	}
	return out
}

// Inject adds a fault.
func (e *Emulator) Inject(f Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f.Count <= 0 {
		f.Count = 1
	}
	e.faults = append(e.faults, &f)
}

// Calls returns "METHOD /path" of every request served so far.
func (e *Emulator) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// ServeHTTP serves the /v1 API.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, r.Method+" "+r.URL.Path)
	var lose bool
	for i, f := range e.faults {
		if f.Method == r.Method && strings.Contains(r.URL.Path, f.Path) {
			if f.Count--; f.Count <= 0 {
				e.faults = slices.Delete(e.faults, i, i+1)
			}
			if f.Lose {
				lose = true
				break
			}
			if role := e.roles[f.ChangeRole]; role != nil {
				role.Version++
				break
			}
			for k, v := range f.Headers {
				w.Header().Set(k, v)
			}
			apiError(w, f.Status, f.Kind, f.Message)
			return
		}
	}
	if lose {
		e.route(discard{header: http.Header{}}, r)
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	e.route(w, r)
}

type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// route dispatches one call. Paths are /v1/<collection> and
// /v1/<collection>/<id>[:<action>], as the client builds them.
func (e *Emulator) route(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		apiError(w, http.StatusNotFound, "NotFound", "no such path")
		return
	}
	coll, idAction, _ := strings.Cut(rest, "/")
	id, action, _ := strings.Cut(idAction, ":")
	if coll == "auth-methods" && action == "authenticate" && r.Method == http.MethodPost {
		e.authenticate(w, r, id)
		return
	}
	caller, status, kind := e.caller(r)
	if status != 0 {
		apiError(w, status, kind, "the request was not authenticated, or its token may not do this")
		return
	}
	switch {
	case coll == "roles" && id != "" && action == "" && r.Method == http.MethodGet:
		role := e.roles[id]
		if role == nil {
			apiError(w, http.StatusNotFound, "NotFound", "Resource not found.")
			return
		}
		writeJSON(w, http.StatusOK, e.roleJSON(role))
	case coll == "roles" && (action == "add-principals" || action == "remove-principals") && r.Method == http.MethodPost:
		e.changePrincipals(w, r, id, action == "add-principals")
	case coll == "users" && id == "" && r.Method == http.MethodGet:
		var items []map[string]any
		for _, u := range e.users {
			items = append(items, userJSON(u))
		}
		e.list(w, r, items)
	case coll == "users" && id != "" && r.Method == http.MethodGet:
		u := e.users[id]
		if u == nil {
			apiError(w, http.StatusNotFound, "NotFound", "Resource not found.")
			return
		}
		writeJSON(w, http.StatusOK, userJSON(u))
	case coll == "managed-groups" && id != "" && r.Method == http.MethodGet:
		g := e.groups[id]
		if g == nil {
			apiError(w, http.StatusNotFound, "NotFound", "Resource not found.")
			return
		}
		var ids []string
		for u := range e.members[id] {
			ids = append(ids, u)
		}
		slices.Sort(ids)
		writeJSON(w, http.StatusOK, map[string]any{"id": g.ID, "name": g.Name, "auth_method_id": OIDCAuthMethod, "scope_id": "global",
			"type": "oidc", "version": 1, "member_ids": ids, "attributes": map[string]any{"filter": g.Filter}})
	case coll == "sessions" && id == "" && r.Method == http.MethodGet:
		all := r.URL.Query().Get("include_terminated") == "true"
		var items []map[string]any
		for _, s := range e.sessions {
			if all || s.Status != StatusTerminated {
				items = append(items, sessionJSON(s))
			}
		}
		e.list(w, r, items)
	case coll == "sessions" && id != "" && action == "" && r.Method == http.MethodGet:
		s := e.sessions[id]
		if s == nil {
			apiError(w, http.StatusNotFound, "NotFound", "Resource not found.")
			return
		}
		writeJSON(w, http.StatusOK, sessionJSON(s))
	case coll == "sessions" && action == "cancel" && r.Method == http.MethodPost:
		e.cancel(w, r, id)
	case coll == "auth-tokens" && id == "" && r.Method == http.MethodGet:
		var items []map[string]any
		for _, t := range e.tokens {
			items = append(items, tokenJSON(t))
		}
		e.list(w, r, items)
	case coll == "auth-tokens" && id != "" && r.Method == http.MethodDelete:
		if e.tokens[id] == nil {
			apiError(w, http.StatusNotFound, "NotFound", "Resource not found.")
			return
		}
		if e.tokens[id].Token == caller {
			apiError(w, http.StatusBadRequest, "InvalidArgument", "refusing to delete the token this request is made with")
			return
		}
		delete(e.tokens, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		apiError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%s %s is not a path this emulator serves", r.Method, r.URL.Path))
	}
}

// caller checks the bearer token: a live token of an administrator may
// manage, any other answers 401 (unknown or expired) or 403.
func (e *Emulator) caller(r *http.Request) (string, int, string) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", http.StatusUnauthorized, "Unauthenticated"
	}
	t := e.tokenBySecret(secret)
	switch {
	case t == nil:
		return "", http.StatusUnauthorized, "Unauthenticated"
	case !e.admins[t.UserID]:
		return "", http.StatusForbidden, "PermissionDenied"
	}
	return secret, 0, ""
}

func (e *Emulator) authenticate(w http.ResponseWriter, r *http.Request, authMethod string) {
	var in struct {
		Command    string `json:"command"`
		Attributes struct {
			LoginName string `json:"login_name"`
			Password  string `json:"password"`
		} `json:"attributes"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Command != "login" {
		apiError(w, http.StatusBadRequest, "InvalidArgument", "Error in provided request.")
		return
	}
	acct, ok := e.passwords[in.Attributes.LoginName]
	if authMethod != PasswordAuthMethod {
		apiError(w, http.StatusNotFound, "NotFound", "Resource not found.")
		return
	}
	if !ok || acct.password != in.Attributes.Password {
		apiError(w, http.StatusUnauthorized, "Unauthenticated", "Unable to authenticate.")
		return
	}
	t := e.mintToken(acct.userID, authMethod)
	attrs := tokenJSON(&t)
	attrs["token"] = t.Token
	writeJSON(w, http.StatusOK, map[string]any{"command": "login", "attributes": attrs})
}

func (e *Emulator) changePrincipals(w http.ResponseWriter, r *http.Request, id string, add bool) {
	role := e.roles[id]
	if role == nil {
		apiError(w, http.StatusNotFound, "NotFound", "Resource not found.")
		return
	}
	var in struct {
		Version      uint32   `json:"version"`
		PrincipalIDs []string `json:"principal_ids"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.PrincipalIDs) == 0 {
		apiError(w, http.StatusBadRequest, "InvalidArgument", "Error in provided request.")
		return
	}
	if in.Version != role.Version {
		apiError(w, http.StatusBadRequest, "InvalidArgument",
			fmt.Sprintf("Unable to change principals of role: version %d given, the role is at version %d.", in.Version, role.Version))
		return
	}
	for _, p := range in.PrincipalIDs {
		switch {
		case e.users[p] == nil && e.groups[p] == nil:
			apiError(w, http.StatusBadRequest, "InvalidArgument", fmt.Sprintf("Unable to change principals of role: principal %s not found.", p))
			return
		case add && slices.Contains(role.PrincipalIDs, p):
			apiError(w, http.StatusBadRequest, "InvalidArgument", fmt.Sprintf("Unable to add principals to role: %s is already a principal.", p))
			return
		case !add && !slices.Contains(role.PrincipalIDs, p):
			apiError(w, http.StatusBadRequest, "InvalidArgument", fmt.Sprintf("Unable to remove principals from role: %s is not a principal.", p))
			return
		}
	}
	if add {
		role.PrincipalIDs = append(role.PrincipalIDs, in.PrincipalIDs...)
	} else {
		role.PrincipalIDs = slices.DeleteFunc(role.PrincipalIDs, func(p string) bool { return slices.Contains(in.PrincipalIDs, p) })
	}
	role.Version++
	writeJSON(w, http.StatusOK, e.roleJSON(role))
}

// cancel moves a session to canceling (its connections are closed: the
// worker's part) and records when. Cancelling a session already ended
// answers it as it is.
func (e *Emulator) cancel(w http.ResponseWriter, r *http.Request, id string) {
	s := e.sessions[id]
	if s == nil {
		apiError(w, http.StatusNotFound, "NotFound", "Resource not found.")
		return
	}
	var in struct {
		Version uint32 `json:"version"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		apiError(w, http.StatusBadRequest, "InvalidArgument", "Error in provided request.")
		return
	}
	if s.Status == StatusActive {
		if in.Version != s.Version {
			apiError(w, http.StatusBadRequest, "InvalidArgument",
				fmt.Sprintf("Unable to cancel session: version %d given, the session is at version %d.", in.Version, s.Version))
			return
		}
		s.Status, s.TerminationReason, s.CanceledAt = StatusCanceling, "canceled", e.now().UTC()
		s.Version++
	}
	writeJSON(w, http.StatusOK, sessionJSON(s))
}

// list answers a listing: the items in scope_id (and below it with
// recursive=true) that pass the bexpr filter, evaluated like Boundary's
// over {"item": <the item as JSON>}, in one complete page.
func (e *Emulator) list(w http.ResponseWriter, r *http.Request, items []map[string]any) {
	q := r.URL.Query()
	scope := q.Get("scope_id")
	if _, ok := e.scopes[scope]; !ok {
		apiError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("scope %q not found", scope))
		return
	}
	recursive := q.Get("recursive") == "true"
	var ev *bexpr.Evaluator
	if f := q.Get("filter"); f != "" {
		var err error
		if ev, err = bexpr.CreateEvaluator(f); err != nil {
			apiError(w, http.StatusBadRequest, "InvalidArgument", fmt.Sprintf("Invalid filter: %v", err))
			return
		}
	}
	out := []map[string]any{}
	for _, it := range items {
		s, _ := it["scope_id"].(string)
		if s != scope && (!recursive || !e.under(s, scope)) {
			continue
		}
		if ev != nil {
			// Round-trip through JSON so that the filter sees what the
			// client would.
			raw, _ := json.Marshal(it)
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			ok, err := ev.Evaluate(map[string]any{"item": m})
			if err != nil || !ok {
				continue
			}
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
	writeJSON(w, http.StatusOK, map[string]any{"items": out, "response_type": "complete", "est_item_count": len(out)})
}

// under reports whether scope s lies below ancestor.
func (e *Emulator) under(s, ancestor string) bool {
	for range 4 {
		sc, ok := e.scopes[s]
		if !ok || sc.ID == "global" {
			return false
		}
		if sc.ParentID == ancestor {
			return true
		}
		s = sc.ParentID
	}
	return false
}

func (e *Emulator) roleJSON(r *Role) map[string]any {
	principals := []map[string]any{}
	for _, p := range r.PrincipalIDs {
		typ, scope := "user", "global"
		if e.groups[p] != nil {
			typ = "managed group"
		}
		principals = append(principals, map[string]any{"id": p, "type": typ, "scope_id": scope})
	}
	return map[string]any{"id": r.ID, "scope_id": r.ScopeID, "name": r.Name, "version": r.Version,
		"principal_ids": r.PrincipalIDs, "principals": principals, "grant_strings": r.Grants}
}

func userJSON(u *User) map[string]any {
	return map[string]any{"id": u.ID, "scope_id": "global", "name": u.Name, "login_name": u.LoginName,
		"email": u.Email, "full_name": u.FullName, "version": 1}
}

func sessionJSON(s *Session) map[string]any {
	m := map[string]any{"id": s.ID, "target_id": s.TargetID, "scope_id": s.ScopeID, "user_id": s.UserID,
		"auth_token_id": s.AuthTokenID, "version": s.Version, "status": s.Status, "type": "tcp",
		"created_time": s.Created.Format(time.RFC3339Nano), "expiration_time": s.Expires.Format(time.RFC3339Nano)}
	if s.TerminationReason != "" {
		m["termination_reason"] = s.TerminationReason
	}
	return m
}

func tokenJSON(t *AuthToken) map[string]any {
	return map[string]any{"id": t.ID, "scope_id": "global", "user_id": t.UserID, "auth_method_id": t.AuthMethodID,
		"created_time": t.Created.Format(time.RFC3339Nano), "expiration_time": t.Expires.Format(time.RFC3339Nano)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError answers Boundary's error shape.
func apiError(w http.ResponseWriter, status int, kind, message string) {
	writeJSON(w, status, map[string]any{"kind": kind, "message": message})
}
