package oidc

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// session is one signed-in browser, kept on the server: the cookie holds
// only a random id, and the map is keyed by its hash, so a memory dump or
// a log line of the map never yields a usable cookie.
type session struct {
	principal string
	// identity is the linked identity the person signed in with,
	// "<issuer>#<subject>".
	identity string
	// authTime is when the identity provider last authenticated the
	// person (auth_time, else the time the ID token was issued): step-up
	// compares it with the time of the approval.
	authTime          time.Time
	created, lastSeen time.Time
}

// pendingLogin is a login between the redirect to the provider and the
// callback, found by its state.
type pendingLogin struct {
	nonce, verifier, returnTo string
	stepUp                    bool
	started                   time.Time
}

// maxPending bounds the logins waiting for their callback: starting one
// needs no credential, so without a bound anyone could fill the memory.
// A login older than loginTimeout is forgotten.
const (
	maxPending   = 10000
	loginTimeout = 10 * time.Minute
)

// sessions holds the server-side sessions and the pending logins of one
// process. A restart signs everyone out, which is the safe direction.
type sessions struct {
	mu       sync.Mutex
	byHash   map[string]*session
	pending  map[string]pendingLogin
	idle     time.Duration
	absolute time.Duration
}

func newSessions(idle, absolute time.Duration) *sessions {
	return &sessions{byHash: map[string]*session{}, pending: map[string]pendingLogin{}, idle: idle, absolute: absolute}
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create stores s under a new random id and returns the id (the cookie).
func (ss *sessions) create(s *session, now time.Time) string {
	id := randomString()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sweep(now)
	s.created, s.lastSeen = now, now
	ss.byHash[hashID(id)] = s
	return id
}

// get returns the live session of id and marks it used; an idle or too
// old session is deleted and not returned.
func (ss *sessions) get(id string, now time.Time) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	h := hashID(id)
	s, ok := ss.byHash[h]
	if !ok {
		return session{}, false
	}
	if ss.expired(s, now) {
		delete(ss.byHash, h)
		return session{}, false
	}
	s.lastSeen = now
	return *s, true
}

func (ss *sessions) expired(s *session, now time.Time) bool {
	return !now.Before(s.lastSeen.Add(ss.idle)) || !now.Before(s.created.Add(ss.absolute))
}

func (ss *sessions) delete(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byHash, hashID(id))
}

// sweep drops expired sessions and logins; called under mu on every
// creation, so memory is bounded by the sessions alive at once.
func (ss *sessions) sweep(now time.Time) {
	for h, s := range ss.byHash {
		if ss.expired(s, now) {
			delete(ss.byHash, h)
		}
	}
	for st, p := range ss.pending {
		if !now.Before(p.started.Add(loginTimeout)) {
			delete(ss.pending, st)
		}
	}
}

// begin records a pending login and returns its state, or an error when
// too many logins are waiting.
func (ss *sessions) begin(p pendingLogin) (string, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sweep(p.started)
	if len(ss.pending) >= maxPending {
		return "", fmt.Errorf("too many sign-ins in progress (%d); try again in a few minutes", maxPending)
	}
	state := randomString()
	ss.pending[state] = p
	return state, nil
}

// finish returns and forgets the pending login of state: a state is
// good for one callback only.
func (ss *sessions) finish(state string, now time.Time) (pendingLogin, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	p, ok := ss.pending[state]
	delete(ss.pending, state)
	if !ok || !now.Before(p.started.Add(loginTimeout)) {
		return pendingLogin{}, false
	}
	return p, true
}

func randomString() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
