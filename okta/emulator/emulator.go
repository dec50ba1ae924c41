// Package emulator is a loopback Okta org for tests and dev mode: the
// Okta management API calls the okta provider makes (users by id or login,
// groups by id or name, group membership with paged listings), answering
// with Okta's error shape ({errorCode, errorSummary, …}). It checks the
// SSWS API token, pages listings with Link rel="next" headers, applies a
// per-minute rate limit on its injectable clock with Okta's X-Rate-Limit-*
// headers, and takes injected faults (any status with any headers), so the
// real client code is tested against it.
package emulator

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// User is an Okta user.
type User struct {
	ID, Login, Email string
}

// Group is an Okta group.
type Group struct {
	ID, Name string
}

// Fault answers the next Count requests matching Method and a path
// containing Path with Status, Headers and an Okta error (Code, Summary);
// with Lose it does the work and breaks the connection instead of
// answering (the client sees what it sees after a timeout).
type Fault struct {
	Method, Path string
	Count        int
	Status       int
	Headers      map[string]string
	Code         string
	Summary      string
	Lose         bool
}

// Emulator is the org. Create it with New and serve it (it is an
// http.Handler) on loopback.
type Emulator struct {
	mu       sync.Mutex
	token    string
	now      func() time.Time
	pageSize int
	users    map[string]User
	groups   map[string]Group
	members  map[string]map[string]bool // group id → user id
	faults   []*Fault
	calls    []string
	// limit calls per minute of the clock; used of them in window.
	limit  int
	window time.Time
	used   int
}

// New returns an empty org that accepts the API token token. now is its
// clock (rate-limit reset times are on it); time.Now when nil.
func New(token string, now func() time.Time) *Emulator {
	if now == nil {
		now = time.Now
	}
	return &Emulator{token: token, now: now, pageSize: 200, users: map[string]User{},
		groups: map[string]Group{}, members: map[string]map[string]bool{}}
}

// SetRateLimit lets n API calls through per minute of the org's clock
// (0: no limit). Okta-style, every answer then carries X-Rate-Limit-Limit,
// -Remaining and -Reset (the unix second the minute ends), and a call over
// the limit is answered 429 E0000047.
func (e *Emulator) SetRateLimit(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limit = n
}

// rateLimited counts the call in the current minute, sets the rate-limit
// headers and reports whether the call is over the limit.
func (e *Emulator) rateLimited(w http.ResponseWriter) bool {
	if e.limit <= 0 {
		return false
	}
	now := e.now()
	window := now.Truncate(time.Minute)
	if !window.Equal(e.window) {
		e.window, e.used = window, 0
	}
	e.used++
	reset := window.Add(time.Minute).Unix()
	w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(e.limit))
	w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(max(e.limit-e.used, 0)))
	w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(reset, 10))
	return e.used > e.limit
}

// SetPageSize makes listings answer at most n items a page (Okta's
// default for group members is 1000; small pages test the paging).
func (e *Emulator) SetPageSize(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pageSize = max(n, 1)
}

// AddUser adds a user and returns it (with an id when it had none).
func (e *Emulator) AddUser(u User) User {
	e.mu.Lock()
	defer e.mu.Unlock()
	if u.ID == "" {
		u.ID = id("00u")
	}
	e.users[u.ID] = u
	return u
}

// AddGroup adds a group and returns it (with an id when it had none).
func (e *Emulator) AddGroup(g Group) Group {
	e.mu.Lock()
	defer e.mu.Unlock()
	if g.ID == "" {
		g.ID = id("00g")
	}
	e.groups[g.ID] = g
	return g
}

// IsMember reports whether the user is a member of the group.
func (e *Emulator) IsMember(groupID, userID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.members[groupID][userID]
}

// Inject adds a fault.
func (e *Emulator) Inject(f Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &f)
}

// Calls returns "METHOD path" of every API call answered so far.
func (e *Emulator) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

const idChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// id returns an Okta-shaped id: a three-character type prefix and 17
// alphanumerics.
func id(prefix string) string {
	var b [17]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return prefix + string(b[:])
}

// ServeHTTP answers the API under /api/v1/.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "SSWS "+e.token {
		oktaError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return
	}
	if e.rateLimited(w) {
		oktaError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
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
			for k, v := range f.Headers {
				w.Header().Set(k, v)
			}
			oktaError(w, f.Status, f.Code, f.Summary)
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

func (e *Emulator) route(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/api/v1/"), "/")
	if !strings.HasPrefix(r.URL.Path, "/api/v1/") {
		notFound(w)
		return
	}
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			notFound(w)
			return
		}
		parts[i] = u
	}
	switch {
	case len(parts) == 2 && parts[0] == "users" && r.Method == http.MethodGet:
		u, ok := e.user(parts[1])
		if !ok {
			notFound(w)
			return
		}
		writeJSON(w, userJSON(u))
	case len(parts) == 1 && parts[0] == "groups" && r.Method == http.MethodGet:
		q := r.URL.Query().Get("q")
		var out []any
		for _, g := range e.sortedGroups() {
			if strings.HasPrefix(strings.ToLower(g.Name), strings.ToLower(q)) {
				out = append(out, map[string]any{"id": g.ID, "type": "OKTA_GROUP", "profile": map[string]string{"name": g.Name}})
			}
		}
		writeJSON(w, out)
	case len(parts) == 3 && parts[0] == "groups" && parts[2] == "users" && r.Method == http.MethodGet:
		if _, ok := e.groups[parts[1]]; !ok {
			notFound(w)
			return
		}
		e.listMembers(w, r, parts[1])
	case len(parts) == 4 && parts[0] == "groups" && parts[2] == "users":
		g, u := parts[1], parts[3]
		_, okG := e.groups[g]
		_, okU := e.users[u]
		if !okG || !okU {
			notFound(w)
			return
		}
		switch r.Method {
		case http.MethodPut:
			if e.members[g] == nil {
				e.members[g] = map[string]bool{}
			}
			e.members[g][u] = true
		case http.MethodDelete:
			delete(e.members[g], u)
		default:
			oktaError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		notFound(w)
	}
}

// user finds a user by id, login, or the short login before the @.
func (e *Emulator) user(key string) (User, bool) {
	if u, ok := e.users[key]; ok {
		return u, true
	}
	for _, u := range e.users {
		if strings.EqualFold(u.Login, key) {
			return u, true
		}
	}
	for _, u := range e.users {
		if short, _, _ := strings.Cut(u.Login, "@"); strings.EqualFold(short, key) {
			return u, true
		}
	}
	return User{}, false
}

func (e *Emulator) sortedGroups() []Group {
	out := make([]Group, 0, len(e.groups))
	for _, g := range e.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// listMembers answers one page of a group's users, ordered by id, after
// the cursor in ?after=, with a Link rel="next" when more follow.
func (e *Emulator) listMembers(w http.ResponseWriter, r *http.Request, group string) {
	ids := make([]string, 0, len(e.members[group]))
	for u := range e.members[group] {
		ids = append(ids, u)
	}
	slices.Sort(ids)
	limit := e.pageSize
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		limit = min(limit, n)
	}
	after := r.URL.Query().Get("after")
	start := 0
	if after != "" {
		start, _ = slices.BinarySearch(ids, after)
		if start < len(ids) && ids[start] == after {
			start++
		}
	}
	end := min(start+limit, len(ids))
	out := []any{}
	for _, u := range ids[start:end] {
		out = append(out, userJSON(e.users[u]))
	}
	if end < len(ids) {
		next := fmt.Sprintf("http://%s/api/v1/groups/%s/users?limit=%d&after=%s", r.Host, url.PathEscape(group), limit, url.QueryEscape(ids[end-1]))
		w.Header().Add("Link", `<`+next+`>; rel="next"`)
	}
	writeJSON(w, out)
}

func userJSON(u User) map[string]any {
	return map[string]any{"id": u.ID, "status": "ACTIVE", "profile": map[string]string{"login": u.Login, "email": u.Email}}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found")
}

func oktaError(w http.ResponseWriter, status int, code, summary string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errorCode": code, "errorSummary": summary, "errorLink": code,
		"errorId": id("oae"), "errorCauses": []any{}})
}
