package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// X-Amz-Target prefixes of the emulated services (the smithy service
// shape names the SDK clients put before the operation name).
const (
	ssoAdminPrefix      = "SWBExternalService."
	identityStorePrefix = "AWSIdentityStore."
	organizationsPrefix = "AWSOrganizationsV20161128."
	contentType         = "application/x-amz-json-1.1"
)

// opKey names an operation in the call counters and fault scripts:
// Identity Center operations by their bare name (OpCreateAccountAssignment),
// the other services' by their whole target (OpGetUserId), so that
// operations of the same name in two services stay apart.
func opKey(target string) string {
	if op, ok := strings.CutPrefix(target, ssoAdminPrefix); ok {
		return op
	}
	return target
}

// apiError is an error answered on the wire as AWS JSON 1.1 does. fields
// are extra members of the error shape (Identity Store's ResourceType and
// ResourceId), which the SDK deserialises into the typed error.
type apiError struct {
	status int
	code   string
	msg    string
	fields map[string]any
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{status: statusFor(code), code: code, msg: fmt.Sprintf(format, args...)}
}

func statusFor(code string) int {
	switch code {
	case "InternalServerException", "ServiceException":
		return http.StatusInternalServerError
	case "ServiceUnavailableException":
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

// request is the union of the input members of the emulated operations.
type request struct {
	// IAM Identity Center
	InstanceArn                        *string
	TargetId                           *string
	TargetType                         *string
	PermissionSetArn                   *string
	PrincipalType                      *string
	PrincipalId                        *string
	AccountId                          *string
	Filter                             *struct{ AccountId *string }
	AccountAssignmentCreationRequestId *string
	AccountAssignmentDeletionRequestId *string
	MaxResults                         *int
	InlinePolicy                       *string
	ProvisionPermissionSetRequestId    *string
	NextToken                          *string

	// Identity Store
	IdentityStoreId     *string
	UserId              *string
	GroupId             *string
	AlternateIdentifier *struct {
		UniqueAttribute *struct {
			AttributePath  string
			AttributeValue any
		}
		ExternalId *struct{ Id, Issuer string }
	}
	MemberId *struct{ UserId *string }

	// Organizations (AccountId is shared with Identity Center)
	ChildId    *string
	ParentId   *string
	ResourceId *string

	emptyPage bool // an injected fault: answer an empty page (Fault.EmptyPage)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ServeHTTP answers one AWS JSON 1.1 call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	out, err := s.serve(r, target)
	s.mu.Lock()
	hook := s.hooks[opKey(target)]
	delete(s.hooks, opKey(target))
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", uuid.NewString())
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = errorf("InternalServerException", "%v", err)
		}
		w.Header().Set("X-Amzn-ErrorType", ae.code)
		w.WriteHeader(ae.status)
		body := map[string]any{"__type": ae.code, "message": ae.msg}
		for k, v := range ae.fields {
			body[k] = v
		}
		json.NewEncoder(w).Encode(body) //nolint:errcheck // the client went away
		return
	}
	json.NewEncoder(w).Encode(out) //nolint:errcheck // the client went away
}

func (s *Server) serve(r *http.Request, target string) (any, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return nil, &apiError{status: http.StatusNotFound, code: "UnknownOperationException", msg: fmt.Sprintf("%s %s is not an operation; AWS JSON 1.1 calls are POST /", r.Method, r.URL.Path)}
	}
	op := opKey(target)
	handler := s.ops[target]

	s.mu.Lock()
	s.calls[op]++
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}

	if handler == nil {
		return nil, errorf("UnknownOperationException", "unknown operation %q", target)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, errorf("SerializationException", "cannot read request body: %v", err)
	}
	in, err := decodeInput(target, body)
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	// The Identity Center quota covers its own API and the Identity Store;
	// Organizations has a quota of its own.
	if strings.HasPrefix(target, organizationsPrefix) {
		if !s.orgBucket.allow(now) {
			return nil, errorf("TooManyRequestsException", "%s", defaultMessage("TooManyRequestsException"))
		}
	} else if !s.bucket.allow(now) {
		return nil, errorf("ThrottlingException", "Rate exceeded")
	}
	asyncFail, emptyPage, err := s.takeFault(op)
	if err != nil {
		return nil, err
	}
	in.emptyPage = emptyPage
	s.settle(now)
	s.settleProvisions(now)
	if strings.HasPrefix(target, ssoAdminPrefix) && op != OpListInstances && str(in.InstanceArn) != s.instanceARN {
		return nil, errorf("ResourceNotFoundException", "Instance %s does not exist", str(in.InstanceArn))
	}
	return handler(in, now, asyncFail)
}

type handlerFunc func(in *request, now time.Time, asyncFail string) (any, error)

// operationTable maps each X-Amz-Target to its handler.
func (s *Server) operationTable() map[string]handlerFunc {
	ops := map[string]handlerFunc{
		OpCreateAccountAssignment: func(in *request, now time.Time, asyncFail string) (any, error) {
			st, err := s.startOperation(in, now, true, asyncFail)
			return map[string]any{"AccountAssignmentCreationStatus": st}, err
		},
		OpDeleteAccountAssignment: func(in *request, now time.Time, asyncFail string) (any, error) {
			st, err := s.startOperation(in, now, false, asyncFail)
			return map[string]any{"AccountAssignmentDeletionStatus": st}, err
		},
		OpDescribeAccountAssignmentCreationStatus: func(in *request, _ time.Time, _ string) (any, error) {
			st, err := s.describeOperation(str(in.AccountAssignmentCreationRequestId), true)
			return map[string]any{"AccountAssignmentCreationStatus": st}, err
		},
		OpDescribeAccountAssignmentDeletionStatus: func(in *request, _ time.Time, _ string) (any, error) {
			st, err := s.describeOperation(str(in.AccountAssignmentDeletionRequestId), false)
			return map[string]any{"AccountAssignmentDeletionStatus": st}, err
		},
		OpListAccountAssignments:             s.listAccountAssignments,
		OpListAccountAssignmentsForPrincipal: s.listAccountAssignmentsForPrincipal,
		OpListPermissionSets:                 s.listPermissionSets,
		OpDescribePermissionSet:              s.describePermissionSet,
		OpListInstances:                      s.listInstances,
	}
	table := map[string]handlerFunc{}
	for op, h := range ops {
		table[ssoAdminPrefix+op] = h
	}
	for op, h := range s.policyOps() {
		table[ssoAdminPrefix+op] = h
	}
	for op, h := range s.identityStoreOps() {
		table[op] = h
	}
	for op, h := range s.organizationsOps() {
		table[op] = h
	}
	return table
}

// takeFault consumes the next entry of op's fault script, returning the
// HTTP error to answer, the failure reason an asynchronous operation is to
// end with, or whether a list is to answer an empty page. Callers hold s.mu.
func (s *Server) takeFault(op string) (asyncFail string, emptyPage bool, err error) {
	script := s.faults[op]
	if len(script) == 0 {
		return "", false, nil
	}
	f := script[0]
	if f.Times > 0 {
		f.Times--
		if f.Times == 0 {
			if len(script) == 1 {
				delete(s.faults, op)
			} else {
				s.faults[op] = script[1:]
			}
		}
	}
	switch {
	case f.Code != "":
		e := errorf(f.Code, "%s", f.Message)
		if e.msg == "" {
			e.msg = defaultMessage(f.Code)
		}
		if f.HTTPStatus != 0 {
			e.status = f.HTTPStatus
		}
		if f.RetryAfterSeconds > 0 {
			e.fields = map[string]any{"RetryAfterSeconds": f.RetryAfterSeconds}
		}
		return "", false, e
	case f.EmptyPage:
		return "", true, nil
	case !f.AsyncFailed:
		return "", false, nil // a pass in a script: this call is answered normally
	case f.FailureReason == "":
		return "Injected failure", false, nil
	default:
		return f.FailureReason, false, nil
	}
}

func defaultMessage(code string) string {
	switch code {
	case "ThrottlingException":
		return "Rate exceeded"
	case "AccessDeniedException":
		return "User is not authorized to perform this operation"
	case "InternalServerException":
		return "An internal error occurred"
	case "ConflictException":
		return "Another operation is in progress for this resource"
	case "TooManyRequestsException":
		return "AWS Organizations can't complete your request because another request is already in progress. Try again later."
	default:
		return "Injected fault"
	}
}

func (s *Server) permissionSet(arn *string) (*permissionSet, error) {
	ps := s.byARN[str(arn)]
	if ps == nil {
		return nil, errorf("ResourceNotFoundException", "Could not find PermissionSet with id %s", str(arn))
	}
	return ps, nil
}

// statusJSON is AccountAssignmentOperationStatus on the wire.
type statusJSON struct {
	Status           string
	RequestId        string
	FailureReason    string `json:",omitempty"`
	TargetId         string
	TargetType       string
	PermissionSetArn string
	PrincipalType    string
	PrincipalId      string
	CreatedDate      float64
}

func statusOf(op *operation) statusJSON {
	st := statusJSON{
		Status:           op.status,
		RequestId:        op.requestID,
		TargetId:         op.key.accountID,
		TargetType:       "AWS_ACCOUNT",
		PermissionSetArn: op.key.permissionSetARN,
		PrincipalType:    op.key.principalType,
		PrincipalId:      op.key.principalID,
		CreatedDate:      float64(op.created.UnixMilli()) / 1000,
	}
	if op.status == "FAILED" {
		st.FailureReason = op.failWith
	}
	return st
}

// startOperation validates a create or delete and records it. Callers hold
// s.mu.
func (s *Server) startOperation(in *request, now time.Time, create bool, asyncFail string) (*statusJSON, error) {
	ps, err := s.permissionSet(in.PermissionSetArn)
	if err != nil {
		return nil, err
	}
	key := assignmentKey{str(in.TargetId), ps.arn, str(in.PrincipalType), str(in.PrincipalId)}
	if s.busy[key] > 0 {
		return nil, errorf("ConflictException", "An account assignment operation is already in progress for principal %s on %s in account %s; retry when it completes", key.principalID, ps.name, key.accountID)
	}
	if s.maxInFlight > 0 && s.inFlight() >= s.maxInFlight {
		return nil, errorf("ThrottlingException", "Too many outstanding account assignment operations (limit %d)", s.maxInFlight)
	}
	op := &operation{
		requestID: uuid.NewString(),
		create:    create,
		key:       key,
		created:   now,
		doneAt:    now.Add(s.delay),
		status:    "IN_PROGRESS",
		failWith:  asyncFail,
	}
	s.operations[op.requestID] = op
	if s.delay <= 0 {
		s.complete(op, now)
	} else {
		s.pending = append(s.pending, op)
		s.busy[key]++
	}
	st := statusOf(op)
	return &st, nil
}

func (s *Server) describeOperation(id string, create bool) (*statusJSON, error) {
	op := s.operations[id]
	if op == nil || op.create != create {
		kind := "deletion"
		if create {
			kind = "creation"
		}
		return nil, errorf("ResourceNotFoundException", "Account assignment %s request %s does not exist", kind, id)
	}
	st := statusOf(op)
	return &st, nil
}

// page validates MaxResults and NextToken (an offset, opaque to clients) and
// returns the slice bounds and the next token.
func page(in *request, n int) (from, to int, next *string, err error) {
	return pageOf(in, n, 100, "ValidationException")
}

// pageOf is page for a service whose pages hold at most maxPage items and
// whose invalid input is reported as badInput.
func pageOf(in *request, n, maxPage int, badInput string) (from, to int, next *string, err error) {
	limit := maxPage
	if in.MaxResults != nil {
		limit = *in.MaxResults // in range: validateInput checked it
	}
	if in.NextToken != nil {
		off, cut := strings.CutPrefix(*in.NextToken, "emu-")
		off, _, _ = strings.Cut(off, "-")
		from, err = strconv.Atoi(off)
		if !cut || err != nil || from < 0 || from > n {
			return 0, 0, nil, errorf(badInput, "Invalid NextToken")
		}
	}
	if in.emptyPage {
		// An empty page that goes on where it started, under a token of
		// its own (clients stop at a token they were given before).
		t := fmt.Sprintf("emu-%d-e%d", from, emptyPages.Add(1))
		return from, from, &t, nil
	}
	to = min(from+limit, n)
	if to < n {
		t := "emu-" + strconv.Itoa(to)
		next = &t
	}
	return from, to, next, nil
}

// emptyPages numbers the tokens of injected empty pages.
var emptyPages atomic.Int64

// withNextToken adds NextToken to a list response when there is a next
// page; AWS omits the member on the last page.
func withNextToken(out map[string]any, next *string) map[string]any {
	if next != nil {
		out["NextToken"] = *next
	}
	return out
}

func (s *Server) listAccountAssignments(in *request, now time.Time, _ string) (any, error) {
	ps, err := s.permissionSet(in.PermissionSetArn)
	if err != nil {
		return nil, err
	}
	type assignmentJSON struct{ AccountId, PermissionSetArn, PrincipalType, PrincipalId string }
	var all []assignmentJSON
	// The current assignments and those a lagging listing still shows.
	keys := maps.Clone(s.assignments)
	for _, c := range s.history {
		keys[c.key] = true
	}
	for k := range keys {
		if k.accountID == str(in.AccountId) && k.permissionSetARN == ps.arn && s.listed(k, now) {
			all = append(all, assignmentJSON{k.accountID, k.permissionSetARN, k.principalType, k.principalID})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].PrincipalType != all[j].PrincipalType {
			return all[i].PrincipalType < all[j].PrincipalType
		}
		return all[i].PrincipalId < all[j].PrincipalId
	})
	from, to, next, err := page(in, len(all))
	if err != nil {
		return nil, err
	}
	return withNextToken(map[string]any{"AccountAssignments": append([]assignmentJSON{}, all[from:to]...)}, next), nil
}

// listAccountAssignmentsForPrincipal answers the assignments held by one
// principal (as the principal itself: AWS lists a group's assignments under
// the group), optionally only those in Filter.AccountId, ordered by
// account, then permission set ARN, and paged like every list. It is as
// lagging as ListAccountAssignments (Options.ListLag).
func (s *Server) listAccountAssignmentsForPrincipal(in *request, now time.Time, _ string) (any, error) {
	p := principalKey{str(in.PrincipalType), str(in.PrincipalId)}
	var account string
	if in.Filter != nil {
		account = str(in.Filter.AccountId)
	}
	type assignmentJSON struct{ AccountId, PermissionSetArn, PrincipalType, PrincipalId string }
	var all []assignmentJSON
	seen := map[assignmentKey]bool{}
	consider := func(k assignmentKey) {
		if seen[k] || account != "" && k.accountID != account {
			return
		}
		seen[k] = true
		if s.listed(k, now) {
			all = append(all, assignmentJSON{k.accountID, k.permissionSetARN, k.principalType, k.principalID})
		}
	}
	for k := range s.byPrincipal[p] {
		consider(k)
	}
	// Those a lagging listing still shows.
	for _, c := range s.history {
		if c.key.principal() == p {
			consider(c.key)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].AccountId != all[j].AccountId {
			return all[i].AccountId < all[j].AccountId
		}
		return all[i].PermissionSetArn < all[j].PermissionSetArn
	})
	from, to, next, err := page(in, len(all))
	if err != nil {
		return nil, err
	}
	return withNextToken(map[string]any{"AccountAssignments": append([]assignmentJSON{}, all[from:to]...)}, next), nil
}

func (s *Server) listPermissionSets(in *request, _ time.Time, _ string) (any, error) {
	from, to, next, err := page(in, len(s.permissionSets))
	if err != nil {
		return nil, err
	}
	arns := []string{}
	for _, ps := range s.permissionSets[from:to] {
		arns = append(arns, ps.arn)
	}
	return withNextToken(map[string]any{"PermissionSets": arns}, next), nil
}

func (s *Server) describePermissionSet(in *request, _ time.Time, _ string) (any, error) {
	ps, err := s.permissionSet(in.PermissionSetArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"PermissionSet": map[string]any{
		"Name":             ps.name,
		"PermissionSetArn": ps.arn,
		"Description":      "Drawbridge emulator permission set " + ps.name,
		"SessionDuration":  formatDuration(ps.sessionDuration),
		"CreatedDate":      s.created.Unix(),
	}}, nil
}

func (s *Server) listInstances(in *request, _ time.Time, _ string) (any, error) {
	if _, _, _, err := page(in, 1); err != nil {
		return nil, err
	}
	return map[string]any{"Instances": []map[string]any{{
		"InstanceArn":     s.instanceARN,
		"IdentityStoreId": s.identityStoreID,
		"Name":            "drawbridge-emulator",
		"OwnerAccountId":  "000000000000",
		"Status":          "ACTIVE",
		"CreatedDate":     s.created.Unix(),
	}}}, nil
}
