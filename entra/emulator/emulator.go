// Package emulator is a loopback Microsoft Entra ID for tests and dev
// mode: the tenant's client-credentials token endpoint and the Microsoft
// Graph calls the entra provider makes (PIM for Groups assignment schedule
// requests, schedules and instances; group members and owners; users),
// answering in the shapes of Microsoft's documented examples. It models
// native expiry on an injectable clock, activations that stay pending for a
// while, application permissions, throttling and injected faults, so the
// real client code is tested against it.
package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Permissions the emulated app may hold (Graph application permissions).
const (
	PermissionPIM        = "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"
	PermissionMembership = "GroupMember.ReadWrite.All"
	PermissionUsers      = "User.Read.All"
)

// User is a tenant user.
type User struct {
	ID, UserPrincipalName, Mail, DisplayName string
}

// Group is a tenant group.
type Group struct {
	ID, DisplayName string
}

// Schedule is an active PIM assignment: the person holds AccessID in the
// group from Start until End (no end when End is zero).
type Schedule struct {
	ID          string
	GroupID     string
	PrincipalID string
	AccessID    string
	Start, End  time.Time
	// RequestID is the schedule request that created or last moved it.
	RequestID string
}

// Request is a recorded assignment schedule request.
type Request struct {
	ID               string       `json:"id"`
	Status           string       `json:"status"`
	Action           string       `json:"action"`
	AccessID         string       `json:"accessId"`
	PrincipalID      string       `json:"principalId"`
	GroupID          string       `json:"groupId"`
	Justification    string       `json:"justification"`
	ScheduleInfo     scheduleInfo `json:"scheduleInfo"`
	TicketInfo       ticketInfo   `json:"ticketInfo"`
	TargetScheduleID string       `json:"targetScheduleId"`
	CreatedDateTime  time.Time    `json:"createdDateTime"`
	// ready is when a pending request is provisioned.
	ready time.Time
}

type scheduleInfo struct {
	StartDateTime *time.Time `json:"startDateTime"`
	Expiration    struct {
		Type        string     `json:"type"`
		Duration    *string    `json:"duration"`
		EndDateTime *time.Time `json:"endDateTime"`
	} `json:"expiration"`
}

type ticketInfo struct {
	TicketNumber *string `json:"ticketNumber"`
	TicketSystem *string `json:"ticketSystem"`
}

// Fault answers the next Count requests matching Method and a path
// containing Path: with Status, Retry-After and Graph error Code/Message,
// or, with Lose, by doing the work and dropping the answer (the client
// sees a broken connection, as after a timeout).
type Fault struct {
	Method, Path string
	Count        int
	Status       int
	RetryAfter   string
	Code         string
	Message      string
	Lose         bool
}

// Emulator is the tenant. Create it with New and serve it (it is an
// http.Handler) on loopback.
type Emulator struct {
	TenantID, ClientID, ClientSecret string

	mu sync.Mutex
	// Now is the tenant's clock: native expiry and pending activations
	// follow it.
	now         func() time.Time
	permissions map[string]bool
	users       map[string]User
	groups      map[string]Group
	members     map[string]map[string]bool // group → user → direct member
	owners      map[string]map[string]bool
	schedules   []*Schedule
	requests    []*Request
	faults      []*Fault
	tokens      map[string]bool
	// ActivationDelay keeps new assign and extend requests
	// PendingProvisioning this long before they take effect.
	activationDelay time.Duration
	calls           []string
}

// New returns an empty tenant whose app holds every permission.
func New(tenant, clientID, clientSecret string, now func() time.Time) *Emulator {
	if now == nil {
		now = time.Now
	}
	return &Emulator{TenantID: tenant, ClientID: clientID, ClientSecret: clientSecret, now: now,
		permissions: map[string]bool{PermissionPIM: true, PermissionMembership: true, PermissionUsers: true},
		users:       map[string]User{}, groups: map[string]Group{}, members: map[string]map[string]bool{},
		owners: map[string]map[string]bool{}, tokens: map[string]bool{}}
}

// AddUser adds a user and returns it (with an id when it had none).
func (e *Emulator) AddUser(u User) User {
	e.mu.Lock()
	defer e.mu.Unlock()
	if u.ID == "" {
		u.ID = guid()
	}
	e.users[u.ID] = u
	return u
}

// AddGroup adds a group and returns it (with an id when it had none).
func (e *Emulator) AddGroup(g Group) Group {
	e.mu.Lock()
	defer e.mu.Unlock()
	if g.ID == "" {
		g.ID = guid()
	}
	e.groups[g.ID] = g
	return g
}

// Revoke takes a permission from the app.
func (e *Emulator) Revoke(permission string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.permissions, permission)
}

// SetActivationDelay makes later assign and extend requests stay
// PendingProvisioning for d on the emulator's clock.
func (e *Emulator) SetActivationDelay(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.activationDelay = d
}

// Inject adds a fault.
func (e *Emulator) Inject(f Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &f)
}

// Active returns the person's active PIM assignments of the group (native
// expiry applied), and whether they are a direct member or owner.
func (e *Emulator) Active(groupID, principalID string) []Schedule {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	var out []Schedule
	for _, s := range e.schedules {
		if s.GroupID == groupID && s.PrincipalID == principalID {
			out = append(out, *s)
		}
	}
	return out
}

// IsMember reports whether the user is a direct member (accessId member)
// or owner of the group.
func (e *Emulator) IsMember(groupID, accessID, userID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.direct(accessID)[groupID][userID]
}

// Requests returns the schedule requests made so far.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	out := make([]Request, len(e.requests))
	for i, r := range e.requests {
		out[i] = *r
	}
	return out
}

// Calls returns "METHOD path" of every Graph call answered so far.
func (e *Emulator) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

func (e *Emulator) direct(accessID string) map[string]map[string]bool {
	if accessID == "owner" {
		return e.owners
	}
	return e.members
}

// settle applies the clock: pending requests whose time came take effect,
// and assignments past their end are gone (native expiry).
func (e *Emulator) settle() {
	now := e.now()
	for _, r := range e.requests {
		if r.Status == "PendingProvisioning" && !now.Before(r.ready) {
			r.Status = "Provisioned"
			e.apply(r)
		}
	}
	e.schedules = slices.DeleteFunc(e.schedules, func(s *Schedule) bool { return !s.End.IsZero() && !now.Before(s.End) })
}

// apply makes a provisioned assign or extend request's schedule.
func (e *Emulator) apply(r *Request) {
	start := e.now()
	if r.ScheduleInfo.StartDateTime != nil && !r.ScheduleInfo.StartDateTime.IsZero() {
		start = *r.ScheduleInfo.StartDateTime
	}
	var end time.Time
	switch x := r.ScheduleInfo.Expiration; x.Type {
	case "afterDuration":
		d, _ := parseDuration(*x.Duration)
		end = start.Add(d)
	case "afterDateTime":
		end = *x.EndDateTime
	}
	for _, s := range e.schedules {
		if s.GroupID == r.GroupID && s.PrincipalID == r.PrincipalID && s.AccessID == r.AccessID {
			s.End, s.RequestID = end, r.ID
			r.TargetScheduleID = s.ID
			return
		}
	}
	s := &Schedule{ID: guid(), GroupID: r.GroupID, PrincipalID: r.PrincipalID, AccessID: r.AccessID, Start: start, End: end, RequestID: r.ID}
	e.schedules = append(e.schedules, s)
	r.TargetScheduleID = s.ID
}

var isoDuration = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

func parseDuration(s string) (time.Duration, bool) {
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || s == "P" || s == "PT" {
		return 0, false
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		var n int64
		if m[i+1] != "" {
			fmt.Sscan(m[i+1], &n)
		}
		d += time.Duration(n) * unit
	}
	return d, d > 0
}

func guid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ServeHTTP answers the token endpoint (POST /{tenant}/oauth2/v2.0/token)
// and Graph (under /v1.0/).
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		e.token(w, r)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, r.Method+" "+r.URL.Path)
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !e.tokens[auth] {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.")
		return
	}
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
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			graphError(w, f.Status, f.Code, f.Message)
			return
		}
	}
	e.settle()
	if lose {
		// Do the work, then break the connection instead of answering.
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

func (e *Emulator) token(w http.ResponseWriter, r *http.Request) {
	tenant := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/oauth2/v2.0/token")
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		tokenError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case tenant != e.TenantID:
		tokenError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", tenant))
	case r.PostForm.Get("grant_type") != "client_credentials":
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	case id != e.ClientID:
		tokenError(w, http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", id))
	case secret != e.ClientSecret:
		tokenError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
	default:
		tok := "emu-" + guid()
		e.tokens[tok] = true
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
	}
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc, "error_codes": []int{}})
}

func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "request-id": guid()}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

const pimBase = "/v1.0/identityGovernance/privilegedAccess/group/"

// route answers one Graph call; e.mu is held.
func (e *Emulator) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	parts := strings.Split(strings.Trim(strings.TrimPrefix(p, "/v1.0"), "/"), "/")
	need := func(perm string) bool {
		if e.permissions[perm] {
			return true
		}
		graphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return false
	}
	switch {
	case strings.HasPrefix(p, pimBase):
		if !need(PermissionPIM) {
			return
		}
		e.pim(w, r, strings.TrimPrefix(p, pimBase))
	case parts[0] == "users":
		if !need(PermissionUsers) {
			return
		}
		e.usersCall(w, r, parts)
	case parts[0] == "groups":
		if !need(PermissionMembership) {
			return
		}
		e.groupsCall(w, r, parts)
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", parts[0]))
	}
}

// filter parses the $filter forms the provider sends: clauses `field eq
// 'value'` joined by `and`.
func filter(r *http.Request) (map[string]string, error) {
	raw := r.URL.Query().Get("$filter")
	out := map[string]string{}
	if raw == "" {
		return out, nil
	}
	for _, clause := range strings.Split(raw, " and ") {
		field, val, ok := strings.Cut(strings.TrimSpace(clause), " eq ")
		if !ok || len(val) < 2 || val[0] != '\'' || val[len(val)-1] != '\'' {
			return nil, fmt.Errorf("invalid filter clause: %s", clause)
		}
		out[field] = strings.ReplaceAll(val[1:len(val)-1], "''", "'")
	}
	return out, nil
}

func matches(f map[string]string, fields map[string]string) bool {
	for k, v := range f {
		if got, ok := fields[k]; !ok || !strings.EqualFold(got, v) {
			return false
		}
	}
	return true
}

func (e *Emulator) pim(w http.ResponseWriter, r *http.Request, rest string) {
	f, err := filter(r)
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	ctx := "https://graph.microsoft.com/v1.0/$metadata#identityGovernance/privilegedAccess/group/" + rest
	switch {
	case rest == "assignmentScheduleRequests" && r.Method == http.MethodPost:
		e.newRequest(w, r)
	case rest == "assignmentScheduleRequests" && r.Method == http.MethodGet:
		if f["groupId"] == "" && f["principalId"] == "" {
			graphError(w, http.StatusBadRequest, "BadRequest", "A filter on groupId or principalId is required.")
			return
		}
		out := []any{}
		for _, q := range e.requests {
			if matches(f, map[string]string{"groupId": q.GroupID, "principalId": q.PrincipalID, "accessId": q.AccessID}) {
				out = append(out, q)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": ctx, "value": out})
	case strings.HasPrefix(rest, "assignmentScheduleRequests/") && r.Method == http.MethodGet:
		id := strings.TrimPrefix(rest, "assignmentScheduleRequests/")
		for _, q := range e.requests {
			if q.ID == id {
				writeJSON(w, http.StatusOK, q)
				return
			}
		}
		graphError(w, http.StatusNotFound, "ResourceNotFound", "The requested resource was not found.")
	case (rest == "assignmentScheduleInstances" || rest == "assignmentSchedules") && r.Method == http.MethodGet:
		out := []any{}
		add := func(id, group, principal, access, memberType string, start, end time.Time) {
			if !matches(f, map[string]string{"groupId": group, "principalId": principal, "accessId": access}) {
				return
			}
			var endp *time.Time
			if !end.IsZero() {
				endp = &end
			}
			v := map[string]any{"id": id, "groupId": group, "principalId": principal, "accessId": access,
				"memberType": memberType, "assignmentType": "assigned", "startDateTime": start, "endDateTime": endp}
			if rest == "assignmentSchedules" {
				exp := map[string]any{"type": "noExpiration", "endDateTime": endp}
				if endp != nil {
					exp["type"] = "afterDateTime"
				}
				v["scheduleInfo"] = map[string]any{"startDateTime": start, "expiration": exp}
				delete(v, "startDateTime")
				delete(v, "endDateTime")
			}
			out = append(out, v)
		}
		for _, s := range e.schedules {
			add(s.ID, s.GroupID, s.PrincipalID, s.AccessID, "direct", s.Start, s.End)
		}
		for _, access := range []string{"member", "owner"} {
			for g, users := range e.direct(access) {
				for u, ok := range users {
					if ok {
						add(g+"_"+access+"_"+u, g, u, access, "direct", time.Time{}, time.Time{})
					}
				}
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": ctx, "value": out})
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+rest+"'.")
	}
}

func (e *Emulator) newRequest(w http.ResponseWriter, r *http.Request) {
	var q Request
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload: "+err.Error())
		return
	}
	bad := func(code, msg string) { graphError(w, http.StatusBadRequest, code, msg) }
	if _, ok := e.groups[q.GroupID]; !ok {
		bad("GroupNotFound", fmt.Sprintf("The group %s was not found.", q.GroupID))
		return
	}
	if _, ok := e.users[q.PrincipalID]; !ok {
		bad("PrincipalNotFound", fmt.Sprintf("The principal %s was not found.", q.PrincipalID))
		return
	}
	if q.AccessID != "member" && q.AccessID != "owner" {
		bad("InvalidAccessId", "accessId must be member or owner.")
		return
	}
	now := e.now().UTC()
	q.ID, q.CreatedDateTime = guid(), now
	var existing *Schedule
	for _, s := range e.schedules {
		if s.GroupID == q.GroupID && s.PrincipalID == q.PrincipalID && s.AccessID == q.AccessID {
			existing = s
		}
	}
	switch q.Action {
	case "adminAssign", "adminExtend":
		if q.Action == "adminAssign" && existing != nil {
			bad("RoleAssignmentExists", "The Role assignment already exists.")
			return
		}
		if q.Action == "adminExtend" && existing == nil {
			bad("RoleAssignmentDoesNotExist", "The Role assignment does not exist.")
			return
		}
		x := q.ScheduleInfo.Expiration
		switch {
		case x.Type == "afterDuration" && x.Duration != nil:
			if d, ok := parseDuration(*x.Duration); !ok || d < 5*time.Minute {
				bad("ActiveDurationTooShort", "The role assignment duration is too short: the minimum is 5 minutes.")
				return
			}
		case x.Type == "afterDateTime" && x.EndDateTime != nil:
		default:
			bad("InvalidExpiration", "Assignment without an expiration is not allowed by the policy of this group.")
			return
		}
		q.Status = "Provisioned"
		if e.activationDelay > 0 {
			q.Status, q.ready = "PendingProvisioning", now.Add(e.activationDelay)
		} else {
			e.apply(&q)
		}
	case "adminRemove":
		if existing == nil {
			bad("RoleAssignmentDoesNotExist", "The Role assignment does not exist.")
			return
		}
		e.schedules = slices.DeleteFunc(e.schedules, func(s *Schedule) bool { return s == existing })
		q.Status, q.TargetScheduleID = "Revoked", existing.ID
	default:
		bad("InvalidAction", fmt.Sprintf("The action %q is not supported.", q.Action))
		return
	}
	e.requests = append(e.requests, &q)
	writeJSON(w, http.StatusCreated, q)
}

func (e *Emulator) findUser(ref string) (User, bool) {
	if u, ok := e.users[ref]; ok {
		return u, true
	}
	for _, u := range e.users {
		if strings.EqualFold(u.UserPrincipalName, ref) {
			return u, true
		}
	}
	return User{}, false
}

func userJSON(u User) map[string]any {
	return map[string]any{"id": u.ID, "userPrincipalName": u.UserPrincipalName, "mail": u.Mail, "displayName": u.DisplayName}
}

func (e *Emulator) usersCall(w http.ResponseWriter, r *http.Request, parts []string) {
	if r.Method != http.MethodGet {
		graphError(w, http.StatusMethodNotAllowed, "Request_BadRequest", "Method not allowed.")
		return
	}
	if len(parts) == 2 {
		ref, _ := url.PathUnescape(parts[1])
		if u, ok := e.findUser(ref); ok {
			writeJSON(w, http.StatusOK, userJSON(u))
			return
		}
		graphError(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", ref))
		return
	}
	f, err := filter(r)
	if err != nil {
		graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", err.Error())
		return
	}
	out := []any{}
	for _, u := range e.users {
		if matches(f, map[string]string{"id": u.ID, "mail": u.Mail, "userPrincipalName": u.UserPrincipalName}) {
			out = append(out, userJSON(u))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (e *Emulator) groupsCall(w http.ResponseWriter, r *http.Request, parts []string) {
	notFound := func(what string) {
		graphError(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", what))
	}
	if len(parts) == 1 && r.Method == http.MethodGet {
		f, err := filter(r)
		if err != nil {
			graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", err.Error())
			return
		}
		out := []any{}
		for _, g := range e.groups {
			if matches(f, map[string]string{"id": g.ID, "displayName": g.DisplayName}) {
				out = append(out, map[string]any{"id": g.ID, "displayName": g.DisplayName})
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"value": out})
		return
	}
	if len(parts) < 3 || (parts[2] != "members" && parts[2] != "owners") {
		graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported group call.")
		return
	}
	g, ok := e.groups[parts[1]]
	if !ok {
		notFound(parts[1])
		return
	}
	access := strings.TrimSuffix(parts[2], "s")
	set := e.direct(access)
	switch {
	case len(parts) == 3 && r.Method == http.MethodGet:
		f, err := filter(r)
		if err != nil {
			graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", err.Error())
			return
		}
		out := []any{}
		for u, in := range set[g.ID] {
			if in && matches(f, map[string]string{"id": u}) {
				out = append(out, map[string]any{"@odata.type": "#microsoft.graph.user", "id": u})
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"value": out})
	case len(parts) == 4 && parts[3] == "$ref" && r.Method == http.MethodPost:
		var body struct {
			ID string `json:"@odata.id"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.ID == "" {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier.")
			return
		}
		uid := body.ID[strings.LastIndex(body.ID, "/")+1:]
		if _, ok := e.users[uid]; !ok {
			notFound(uid)
			return
		}
		if set[g.ID][uid] {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("One or more added object references already exist for the following modified properties: '%s'.", parts[2]))
			return
		}
		if set[g.ID] == nil {
			set[g.ID] = map[string]bool{}
		}
		set[g.ID][uid] = true
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 5 && parts[4] == "$ref" && r.Method == http.MethodDelete:
		if !set[g.ID][parts[3]] {
			notFound(parts[3])
			return
		}
		delete(set[g.ID], parts[3])
		w.WriteHeader(http.StatusNoContent)
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported group call.")
	}
}
