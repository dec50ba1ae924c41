// Package emulator is a wire-level emulator of AWS IAM Identity Center
// (service sso-admin), its Identity Store and the read side of AWS
// Organizations, for tests, `drawbridge demo`, `drawbridge sandbox` and dev
// mode. It speaks AWS JSON 1.1 (POST /, X-Amz-Target:
// SWBExternalService.<Operation>, AWSIdentityStore.<Operation> or
// AWSOrganizationsV20161128.<Operation>) exactly as the real ssoadmin,
// identitystore and organizations SDK clients expect, so Drawbridge's
// production AWS code runs unchanged against it: only the clients'
// BaseEndpoint differs, and one server answers all three services.
//
// It covers the operations Drawbridge uses: account assignments (created and
// deleted asynchronously, polled through their status calls, with
// ConflictException while another operation on the same assignment is in
// progress), listing and describing permission sets, listing instances;
// users, groups and memberships (AddUser, AddGroup, AddMembership); the
// organisation tree of OUs and accounts with tags (AddOU, AddAccount). Tests
// can enforce Identity Center's quotas, inject faults per operation (Fail, or
// a Script consumed in order), add latency, seed standing access out of band
// and inspect what happened.
//
// Input is validated as AWS validates it, from the service models the AWS
// CLI ships: member names case-sensitively, required members, patterns,
// lengths and enums (an Identity Store user id must be a UUID, optionally
// after ten hex digits and a dash), all before any lookup, so a malformed
// id gets ValidationException even where the resource does not exist. The
// seeding methods (AddUser, AddGroup, AddAssignment, AddOU) refuse ids AWS
// would never issue.
//
// Requests are not signature-checked: any credentials work.
package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sandbox identifiers, used by SandboxOptions and by the sandbox, demo and
// example configuration.
const (
	SandboxInstanceARN     = "arn:aws:sso:::instance/ssoins-0000000000000000"
	SandboxIdentityStoreID = "d-0000000000"
)

// Operation names, as they appear after "SWBExternalService." in X-Amz-Target.
const (
	OpCreateAccountAssignment                 = "CreateAccountAssignment"
	OpDeleteAccountAssignment                 = "DeleteAccountAssignment"
	OpDescribeAccountAssignmentCreationStatus = "DescribeAccountAssignmentCreationStatus"
	OpDescribeAccountAssignmentDeletionStatus = "DescribeAccountAssignmentDeletionStatus"
	OpListAccountAssignments                  = "ListAccountAssignments"
	OpListAccountAssignmentsForPrincipal      = "ListAccountAssignmentsForPrincipal"
	OpListPermissionSets                      = "ListPermissionSets"
	OpDescribePermissionSet                   = "DescribePermissionSet"
	OpListInstances                           = "ListInstances"
)

// Identity Store and Organizations operations, named by their whole
// X-Amz-Target so that they never collide with an Identity Center
// operation of the same name.
const (
	OpGetUserId                     = identityStorePrefix + "GetUserId"
	OpDescribeUser                  = identityStorePrefix + "DescribeUser"
	OpGetGroupId                    = identityStorePrefix + "GetGroupId"
	OpDescribeGroup                 = identityStorePrefix + "DescribeGroup"
	OpListGroupMembershipsForMember = identityStorePrefix + "ListGroupMembershipsForMember"

	OpListRoots             = organizationsPrefix + "ListRoots"
	OpListParents           = organizationsPrefix + "ListParents"
	OpListAccountsForParent = organizationsPrefix + "ListAccountsForParent"
	OpDescribeAccount       = organizationsPrefix + "DescribeAccount"
	OpListTagsForResource   = organizationsPrefix + "ListTagsForResource"
)

// Options configure a Server. The zero value works: empty identifiers and a
// nil PermissionSets take the sandbox defaults, and a zero Delay completes
// asynchronous operations at once.
type Options struct {
	InstanceARN     string
	IdentityStoreID string
	// PermissionSets maps a permission set name to its session duration.
	PermissionSets map[string]time.Duration
	// Delay is how long an asynchronous Create/DeleteAccountAssignment stays
	// IN_PROGRESS. Zero answers SUCCEEDED (or FAILED) in the create/delete
	// response itself.
	Delay time.Duration
	// RateLimit caps calls per second across the Identity Center and
	// Identity Store operations, like AWS's published 20 TPS; calls above
	// it get ThrottlingException. Zero means unlimited.
	RateLimit float64
	// ListLag makes ListAccountAssignments answer from the assignments as
	// they stood that long ago (on the emulator's clock): AWS does not
	// document the listing as strongly consistent, so a client must not
	// conclude from one listing taken right after a change that the change
	// did or did not happen. Zero answers from the current state.
	ListLag time.Duration
	// OrgRateLimit caps Organizations calls per second; calls above it get
	// TooManyRequestsException, as Organizations answers. Zero means
	// unlimited.
	OrgRateLimit float64
	// MaxInFlight caps outstanding (IN_PROGRESS) asynchronous assignment
	// operations, like AWS's 10; further creates/deletes get
	// ThrottlingException. Zero means unlimited.
	MaxInFlight int
	// OnChange, when set, is called each time an assignment appears
	// (present) or disappears, with the time the change took effect on the
	// emulator's clock. It runs with the emulator's lock held and must not
	// call the server. Harnesses use it to count the creates and deletes
	// that took effect per assignment, which the calls alone cannot tell
	// (a retried call, a lost answer).
	OnChange func(a Assignment, present bool, at time.Time)
	// Now is the emulator's clock, which decides when an asynchronous
	// operation's Delay has passed and refills the rate limit; nil means
	// time.Now. A fake clock makes tests exact: with it standing still,
	// operations stay IN_PROGRESS until the test advances it.
	Now func() time.Time
}

// SandboxRootID is the id of the emulated organisation's root, the parent
// of OUs and accounts added without one.
const SandboxRootID = "r-0000"

// SandboxOptions returns the defaults used by the sandbox, demo and example
// configuration: the sandbox instance and identity store, three permission
// sets and a 50 ms asynchronous delay.
func SandboxOptions() Options {
	return Options{
		InstanceARN:     SandboxInstanceARN,
		IdentityStoreID: SandboxIdentityStoreID,
		PermissionSets: map[string]time.Duration{
			"ReadOnlyAccess":      8 * time.Hour,
			"PowerUserAccess":     4 * time.Hour,
			"AdministratorAccess": time.Hour,
		},
		Delay: 50 * time.Millisecond,
	}
}

// PermissionSetARN returns the stable ARN of the named permission set in the
// sandbox instance.
func PermissionSetARN(name string) string {
	return permissionSetARN(SandboxInstanceARN, name)
}

// permissionSetARN derives a permission set ARN from the instance and the
// name, so the same name always gets the same ARN across runs and machines.
func permissionSetARN(instanceARN, name string) string {
	instanceID := instanceARN[strings.LastIndex(instanceARN, "/")+1:]
	sum := sha256.Sum256([]byte(name))
	return "arn:aws:sso:::permissionSet/" + instanceID + "/ps-" + hex.EncodeToString(sum[:8])
}

// Fault is an injected failure for one operation. In a Script, a Fault with
// neither Code, AsyncFailed nor EmptyPage is a pass: that call is answered normally.
type Fault struct {
	// Code is the error type returned as an HTTP error, e.g.
	// "ThrottlingException", "InternalServerException" (answered with 500),
	// "AccessDeniedException", "ConflictException", "ValidationException".
	Code    string
	Message string
	// HTTPStatus overrides the status code derived from Code.
	HTTPStatus int
	// Times is how many calls the fault affects; zero means every call until
	// the fault is replaced or cleared (with Fail) or one call (in a Script).
	Times int
	// AsyncFailed (Create/DeleteAccountAssignment only, and only when Code
	// is empty) accepts the call but ends its asynchronous status FAILED with
	// FailureReason, leaving the assignment unchanged.
	AsyncFailed   bool
	FailureReason string
	// EmptyPage (list operations only, and only when Code is empty) answers
	// with no items and a NextToken that goes on where this page would have
	// started: AWS may answer a page of a list so (Organizations' ListParents
	// is known to), and a client must follow the token, not stop.
	EmptyPage bool
	// RetryAfterSeconds adds that member to the error (Identity Store's
	// ThrottlingException carries it).
	RetryAfterSeconds int
}

// Assignment is one account assignment held in the emulator.
type Assignment struct {
	AccountID        string
	PermissionSet    string // name
	PermissionSetARN string
	PrincipalType    string // USER or GROUP
	PrincipalID      string
}

type assignmentKey struct {
	accountID, permissionSetARN, principalType, principalID string
}

// principalKey names a principal: USER or GROUP, and its id.
type principalKey struct{ principalType, principalID string }

func (k assignmentKey) principal() principalKey { return principalKey{k.principalType, k.principalID} }

type permissionSet struct {
	name, arn       string
	sessionDuration time.Duration
	inlinePolicy    string // "" when it has none
}

// operation is one asynchronous create or delete.
type operation struct {
	requestID string
	create    bool
	key       assignmentKey
	created   time.Time
	doneAt    time.Time
	status    string // IN_PROGRESS, SUCCEEDED, FAILED
	failWith  string // FailureReason when the operation is to fail
}

// Server is the emulator. It is an http.Handler (use it with httptest) and
// can listen on a loopback address itself with Start. It is safe for
// concurrent use.
type Server struct {
	instanceARN     string
	identityStoreID string
	delay           time.Duration
	maxInFlight     int
	listLag         time.Duration
	onChange        func(Assignment, bool, time.Time)
	now             func() time.Time
	created         time.Time

	permissionSets []permissionSet // sorted by name
	byName         map[string]*permissionSet
	byARN          map[string]*permissionSet

	mu          sync.Mutex
	assignments map[assignmentKey]bool
	// byPrincipal indexes assignments by principal, so that
	// ListAccountAssignmentsForPrincipal costs what the principal holds,
	// not what the instance holds.
	byPrincipal map[principalKey]map[assignmentKey]bool
	history     []change // changes to assignments within listLag, oldest first
	operations  map[string]*operation
	pending     []*operation          // in creation order, settled in that order
	busy        map[assignmentKey]int // IN_PROGRESS operations per assignment
	faults      map[string][]*Fault   // per operation, consumed from the front
	calls       map[string]int
	latency     time.Duration
	hooks       map[string]func() // run once at the next call of an operation
	bucket      bucket            // Identity Center and Identity Store calls
	orgBucket   bucket            // Organizations calls

	// Identity Store
	users       map[string]*user  // by user id
	groups      map[string]*group // by group id
	memberships []membership      // in the order added

	// Organizations: parents maps each OU and account to its parent id.
	parents  map[string]string
	ous      map[string]bool
	accounts map[string]*orgAccount

	// Permission set provisioning: the inline policy each account's role
	// carries, keyed by permission set ARN and account id.
	provisions        map[string]*provision
	pendingProvisions []*provision
	provisioned       map[[2]string]string

	ops map[string]handlerFunc

	ln    net.Listener
	http  *http.Server
	url   string
	conns atomic.Int64 // connections accepted by Start's server
}

// New returns an emulator that is not listening; use it as an http.Handler
// or call Start instead.
func New(opts Options) *Server {
	def := SandboxOptions()
	if opts.InstanceARN == "" {
		opts.InstanceARN = def.InstanceARN
	}
	if opts.IdentityStoreID == "" {
		opts.IdentityStoreID = def.IdentityStoreID
	}
	if opts.PermissionSets == nil {
		opts.PermissionSets = def.PermissionSets
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		instanceARN:     opts.InstanceARN,
		identityStoreID: opts.IdentityStoreID,
		delay:           opts.Delay,
		maxInFlight:     opts.MaxInFlight,
		listLag:         opts.ListLag,
		onChange:        opts.OnChange,
		now:             opts.Now,
		created:         opts.Now().Truncate(time.Second),
		byName:          map[string]*permissionSet{},
		byARN:           map[string]*permissionSet{},
		assignments:     map[assignmentKey]bool{},
		byPrincipal:     map[principalKey]map[assignmentKey]bool{},
		operations:      map[string]*operation{},
		busy:            map[assignmentKey]int{},
		faults:          map[string][]*Fault{},
		users:           map[string]*user{},
		groups:          map[string]*group{},
		parents:         map[string]string{},
		ous:             map[string]bool{},
		accounts:        map[string]*orgAccount{},
		calls:           map[string]int{},
		hooks:           map[string]func(){},
		provisions:      map[string]*provision{},
		provisioned:     map[[2]string]string{},
		bucket:          bucket{rate: opts.RateLimit, tokens: opts.RateLimit, last: opts.Now()},
		orgBucket:       bucket{rate: opts.OrgRateLimit, tokens: opts.OrgRateLimit, last: opts.Now()},
	}
	s.ops = s.operationTable()
	for name, d := range opts.PermissionSets {
		s.permissionSets = append(s.permissionSets, permissionSet{name: name, arn: permissionSetARN(opts.InstanceARN, name), sessionDuration: d})
	}
	sort.Slice(s.permissionSets, func(i, j int) bool { return s.permissionSets[i].name < s.permissionSets[j].name })
	for i := range s.permissionSets {
		ps := &s.permissionSets[i]
		s.byName[ps.name] = ps
		s.byARN[ps.arn] = ps
	}
	return s
}

// Start returns an emulator listening on addr, which must be a loopback
// address ("127.0.0.1:0" picks a free port). The emulator accepts any
// credentials, so it refuses to listen where other machines could reach it.
func Start(addr string, opts Options) (*Server, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: listen %s: %w", addr, err)
	}
	s := New(opts)
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}}
	go s.http.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Close
	return s, nil
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("emulator: bad listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("emulator: refusing to listen on %q: the emulator accepts any credentials, so it only listens on a loopback address such as 127.0.0.1:0", addr)
}

// URL is the base URL to use as the SDK client's BaseEndpoint; empty when
// the server was made with New rather than Start.
func (s *Server) URL() string { return s.url }

// Connections returns how many TCP connections a server made with Start
// has accepted: a client that reuses its connections makes one per
// concurrent caller, however many calls it sends.
func (s *Server) Connections() int { return int(s.conns.Load()) }

// Close stops a server started with Start.
func (s *Server) Close() error {
	if s.http == nil {
		return nil
	}
	return s.http.Close()
}

// InstanceARN is the emulated instance's ARN.
func (s *Server) InstanceARN() string { return s.instanceARN }

// IdentityStoreID is the emulated instance's identity store id.
func (s *Server) IdentityStoreID() string { return s.identityStoreID }

// PermissionSetARN returns the ARN of the named permission set in this
// server's instance, or "" when there is no such permission set.
func (s *Server) PermissionSetARN(name string) string {
	if ps := s.byName[name]; ps != nil {
		return ps.arn
	}
	return ""
}

// PermissionSetARNs maps every permission set name to its ARN: what the AWS
// provider's configuration needs.
func (s *Server) PermissionSetARNs() map[string]string {
	m := make(map[string]string, len(s.permissionSets))
	for _, ps := range s.permissionSets {
		m[ps.name] = ps.arn
	}
	return m
}

// Fail injects f into every following call of op (see Fault.Times),
// replacing op's fault script. A Fault with neither Code, AsyncFailed nor EmptyPage
// clears op's faults.
func (s *Server) Fail(op string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Code == "" && !f.AsyncFailed && !f.EmptyPage {
		delete(s.faults, op)
		return
	}
	s.faults[op] = []*Fault{&f}
}

// Script replaces op's faults with a sequence consumed in order, one call
// per entry (or Times calls), after which op answers normally again. A
// Fault with neither Code, AsyncFailed nor EmptyPage lets one call through, so
// Script(op, Fault{}, Fault{Code: "ThrottlingException"}) throttles the
// second call only. No faults clears op's script.
func (s *Server) Script(op string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(faults) == 0 {
		delete(s.faults, op)
		return
	}
	script := make([]*Fault, len(faults))
	for i, f := range faults {
		if f.Times <= 0 {
			f.Times = 1
		}
		script[i] = &f
	}
	s.faults[op] = script
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// OnCall runs fn once, after the next call of op has been handled and
// before its answer is sent, without holding the emulator's lock: a test
// makes another client act between what this call read and the caller
// seeing it, deterministically.
func (s *Server) OnCall(op string, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks[op] = fn
}

// SetLatency delays every following response by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Calls returns how many calls of op the server received, failed ones
// included.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// HasAssignment reports whether the user principalID holds the named
// permission set in the account, counting asynchronous operations whose
// delay has passed.
func (s *Server) HasAssignment(accountID, permissionSetName, principalID string) bool {
	ps := s.byName[permissionSetName]
	if ps == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	return s.assignments[assignmentKey{accountID, ps.arn, "USER", principalID}]
}

// Assignments returns every assignment, sorted by account, permission set
// name, principal type and id.
func (s *Server) Assignments() []Assignment {
	s.mu.Lock()
	s.settle(s.now())
	out := make([]Assignment, 0, len(s.assignments))
	for k := range s.assignments {
		out = append(out, Assignment{
			AccountID:        k.accountID,
			PermissionSet:    s.byARN[k.permissionSetARN].name,
			PermissionSetARN: k.permissionSetARN,
			PrincipalType:    k.principalType,
			PrincipalID:      k.principalID,
		})
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.AccountID != b.AccountID {
			return a.AccountID < b.AccountID
		}
		if a.PermissionSet != b.PermissionSet {
			return a.PermissionSet < b.PermissionSet
		}
		if a.PrincipalType != b.PrincipalType {
			return a.PrincipalType < b.PrincipalType
		}
		return a.PrincipalID < b.PrincipalID
	})
	return out
}

// AddAssignment creates a user assignment at once, out of band: standing
// access that existed before Drawbridge. The principal id must be one AWS
// could issue (see AddUser).
func (s *Server) AddAssignment(accountID, permissionSetName, principalID string) error {
	ps := s.byName[permissionSetName]
	if ps == nil {
		return fmt.Errorf("emulator: no permission set %q", permissionSetName)
	}
	if !resourceIDPattern.MatchString(principalID) {
		return fmt.Errorf("emulator: principal id %q is not an Identity Store id (pattern %s)", principalID, resourceIDPattern)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.settle(now)
	s.set(assignmentKey{accountID, ps.arn, "USER", principalID}, true, now)
	return nil
}

// RemoveAssignment deletes a user assignment at once, out of band: drift
// made by someone outside Drawbridge.
func (s *Server) RemoveAssignment(accountID, permissionSetName, principalID string) {
	ps := s.byName[permissionSetName]
	if ps == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.settle(now)
	s.set(assignmentKey{accountID, ps.arn, "USER", principalID}, false, now)
}

// settle completes, in creation order, every pending operation whose delay
// has passed. Completing lazily (rather than on timers) keeps the emulator
// free of goroutines and makes the order of overlapping creates and deletes
// the order they were made in. Callers hold s.mu.
func (s *Server) settle(now time.Time) {
	n := 0
	for _, op := range s.pending {
		if op.doneAt.After(now) {
			s.pending[n] = op
			n++
			continue
		}
		s.complete(op, op.doneAt)
		if s.busy[op.key]--; s.busy[op.key] <= 0 {
			delete(s.busy, op.key)
		}
	}
	clear(s.pending[n:])
	s.pending = s.pending[:n]
}

// complete ends op, which took effect at. Callers hold s.mu.
func (s *Server) complete(op *operation, at time.Time) {
	if op.failWith != "" {
		op.status = "FAILED"
		return
	}
	op.status = "SUCCEEDED"
	s.set(op.key, op.create, at)
}

// change is one assignment made (present) or removed at a time.
type change struct {
	at      time.Time
	key     assignmentKey
	present bool
}

// set makes or removes an assignment at the given time, remembering the
// change for as long as a lagging listing may not show it yet. Callers
// hold s.mu.
func (s *Server) set(k assignmentKey, present bool, at time.Time) {
	if s.onChange != nil && s.assignments[k] != present {
		s.onChange(Assignment{AccountID: k.accountID, PermissionSet: s.byARN[k.permissionSetARN].name, PermissionSetARN: k.permissionSetARN,
			PrincipalType: k.principalType, PrincipalID: k.principalID}, present, at)
	}
	if s.listLag > 0 && s.assignments[k] != present {
		cut := 0
		for cut < len(s.history) && !s.history[cut].at.After(at.Add(-s.listLag)) {
			cut++
		}
		s.history = append(s.history[cut:], change{at: at, key: k, present: present})
	}
	p := k.principal()
	if present {
		s.assignments[k] = true
		if s.byPrincipal[p] == nil {
			s.byPrincipal[p] = map[assignmentKey]bool{}
		}
		s.byPrincipal[p][k] = true
	} else {
		delete(s.assignments, k)
		if delete(s.byPrincipal[p], k); len(s.byPrincipal[p]) == 0 {
			delete(s.byPrincipal, p)
		}
	}
}

// listed reports whether a listing at now shows k: its state ListLag ago.
// Callers hold s.mu.
func (s *Server) listed(k assignmentKey, now time.Time) bool {
	present := s.assignments[k]
	for i := len(s.history) - 1; i >= 0; i-- {
		c := s.history[i]
		if !c.at.After(now.Add(-s.listLag)) {
			break
		}
		if c.key == k {
			present = !c.present
		}
	}
	return present
}

// inFlight counts operations still IN_PROGRESS. Callers hold s.mu.
func (s *Server) inFlight() int { return len(s.pending) }

// InFlight returns how many asynchronous assignment operations are
// IN_PROGRESS now. Unlike Calls, which counts a call as it arrives, an
// operation is counted only once the emulator has recorded it, so a test
// that waits for InFlight knows the next conflicting call will meet it.
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	return s.inFlight()
}

// bucket is a token bucket holding a second's worth of calls; a zero rate
// allows everything. Callers hold s.mu.
type bucket struct {
	rate, tokens float64
	last         time.Time
}

// allow takes one token, if there is one.
func (b *bucket) allow(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	b.tokens += now.Sub(b.last).Seconds() * b.rate
	b.last = now
	if burst := max(b.rate, 1); b.tokens > burst {
		b.tokens = burst
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// formatDuration renders d as the ISO 8601 duration AWS uses for session
// durations ("PT1H", "PT8H", "PT1H30M").
func formatDuration(d time.Duration) string {
	if d < time.Second {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteString("PT")
	h, m, sec := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	if h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if sec > 0 {
		fmt.Fprintf(&b, "%dS", sec)
	}
	return b.String()
}
