package emulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Permission set inline policies and their provisioning: what Drawbridge's
// deny_old_sessions mode changes. As in AWS, a change to the inline policy
// reaches an account's IAM role only when the permission set is provisioned
// to that account (ProvisionPermissionSet, asynchronous, polled with
// DescribePermissionSetProvisioningStatus); until then the account's
// sessions are judged by the policy as last provisioned there.

// Inline-policy operations, as they appear after "SWBExternalService.".
const (
	OpGetInlinePolicyForPermissionSet         = "GetInlinePolicyForPermissionSet"
	OpPutInlinePolicyToPermissionSet          = "PutInlinePolicyToPermissionSet"
	OpDeleteInlinePolicyFromPermissionSet     = "DeleteInlinePolicyFromPermissionSet"
	OpProvisionPermissionSet                  = "ProvisionPermissionSet"
	OpDescribePermissionSetProvisioningStatus = "DescribePermissionSetProvisioningStatus"
)

// MaxInlinePolicy is Identity Center's limit on a permission set's inline
// policy, in characters.
const MaxInlinePolicy = 32768

// provision is one asynchronous ProvisionPermissionSet to one account.
type provision struct {
	requestID string
	psARN     string
	accountID string
	policy    string // the inline policy when provisioning started
	created   time.Time
	doneAt    time.Time
	status    string // IN_PROGRESS, SUCCEEDED
}

func (s *Server) policyOps() map[string]handlerFunc {
	return map[string]handlerFunc{
		OpGetInlinePolicyForPermissionSet: func(in *request, _ time.Time, _ string) (any, error) {
			ps, err := s.permissionSet(in.PermissionSetArn)
			if err != nil {
				return nil, err
			}
			return map[string]any{"InlinePolicy": ps.inlinePolicy}, nil
		},
		OpPutInlinePolicyToPermissionSet: func(in *request, _ time.Time, _ string) (any, error) {
			ps, err := s.permissionSet(in.PermissionSetArn)
			if err != nil {
				return nil, err
			}
			doc := str(in.InlinePolicy)
			if err := checkPolicy(doc); err != nil {
				return nil, errorf("ValidationException", "The policy is not valid: %v", err)
			}
			ps.inlinePolicy = doc
			return map[string]any{}, nil
		},
		OpDeleteInlinePolicyFromPermissionSet: func(in *request, _ time.Time, _ string) (any, error) {
			ps, err := s.permissionSet(in.PermissionSetArn)
			if err != nil {
				return nil, err
			}
			ps.inlinePolicy = ""
			return map[string]any{}, nil
		},
		OpProvisionPermissionSet: s.provisionPermissionSet,
		OpDescribePermissionSetProvisioningStatus: func(in *request, _ time.Time, _ string) (any, error) {
			p := s.provisions[str(in.ProvisionPermissionSetRequestId)]
			if p == nil {
				return nil, errorf("ResourceNotFoundException", "Permission set provisioning request %s does not exist", str(in.ProvisionPermissionSetRequestId))
			}
			return map[string]any{"PermissionSetProvisioningStatus": provisionStatus(p)}, nil
		},
	}
}

func (s *Server) provisionPermissionSet(in *request, now time.Time, asyncFail string) (any, error) {
	ps, err := s.permissionSet(in.PermissionSetArn)
	if err != nil {
		return nil, err
	}
	if str(in.TargetType) != "AWS_ACCOUNT" || str(in.TargetId) == "" {
		return nil, errorf("ValidationException", "Drawbridge's emulator provisions to one account: TargetType AWS_ACCOUNT with a TargetId")
	}
	p := &provision{requestID: uuid.NewString(), psARN: ps.arn, accountID: str(in.TargetId),
		policy: ps.inlinePolicy, created: now, doneAt: now.Add(s.delay), status: "IN_PROGRESS"}
	if asyncFail != "" {
		p.status = "FAILED"
	}
	s.provisions[p.requestID] = p
	s.pendingProvisions = append(s.pendingProvisions, p)
	s.settleProvisions(now)
	st := provisionStatus(p)
	if asyncFail != "" {
		st["FailureReason"] = asyncFail
	}
	return map[string]any{"PermissionSetProvisioningStatus": st}, nil
}

func provisionStatus(p *provision) map[string]any {
	return map[string]any{"Status": p.status, "RequestId": p.requestID, "AccountId": p.accountID,
		"PermissionSetArn": p.psARN, "CreatedDate": float64(p.created.UnixMilli()) / 1000}
}

// settleProvisions completes, in the order started, every provisioning
// whose delay has passed: the account's role then carries the policy the
// permission set had when provisioning started. Callers hold s.mu.
func (s *Server) settleProvisions(now time.Time) {
	n := 0
	for _, p := range s.pendingProvisions {
		if p.status == "IN_PROGRESS" && p.doneAt.After(now) {
			s.pendingProvisions[n] = p
			n++
			continue
		}
		if p.status == "IN_PROGRESS" {
			p.status = "SUCCEEDED"
			s.provisioned[[2]string{p.psARN, p.accountID}] = p.policy
		}
	}
	clear(s.pendingProvisions[n:])
	s.pendingProvisions = s.pendingProvisions[:n]
}

// policyDoc is the part of an IAM policy document the emulator reads.
type policyDoc struct {
	Version   string
	Statement []policyStatement
}

type policyStatement struct {
	Sid       string
	Effect    string
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

// checkPolicy refuses what AWS would refuse of the documents Drawbridge
// writes: too long, not JSON, without statements or with an Effect other
// than Allow or Deny, or two statements with one Sid.
func checkPolicy(doc string) error {
	if len(doc) < 1 || len(doc) > MaxInlinePolicy {
		return fmt.Errorf("the inline policy is %d characters; the limit is %d", len(doc), MaxInlinePolicy)
	}
	var d policyDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return fmt.Errorf("not a JSON policy document: %v", err)
	}
	if d.Version != "2012-10-17" || len(d.Statement) == 0 {
		return fmt.Errorf("a policy needs Version 2012-10-17 and at least one Statement")
	}
	var sids []string
	for _, st := range d.Statement {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return fmt.Errorf("statement %q: Effect must be Allow or Deny", st.Sid)
		}
		if st.Sid != "" && slices.Contains(sids, st.Sid) {
			return fmt.Errorf("statement ids must be unique: %q is repeated", st.Sid)
		}
		sids = append(sids, st.Sid)
	}
	return nil
}

// InlinePolicy returns the named permission set's inline policy ("" for
// none), as a test checks what Drawbridge wrote.
func (s *Server) InlinePolicy(permissionSetName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ps := s.byName[permissionSetName]; ps != nil {
		return ps.inlinePolicy
	}
	return ""
}

// SessionAllowed reports whether a role session of the user, issued at
// issuedAt from the named permission set in the account, may still make
// calls there: whether no Deny statement of the inline policy as last
// provisioned to that account matches it. The emulator evaluates the
// conditions a deny of old sessions uses — StringEquals on
// identitystore:userId and aws:PrincipalAccount, DateLessThan on
// aws:TokenIssueTime — and refuses to judge a Deny with any other
// condition, rather than guess.
func (s *Server) SessionAllowed(accountID, permissionSetName, userID string, issuedAt time.Time) (bool, error) {
	ps := s.byName[permissionSetName]
	if ps == nil {
		return false, fmt.Errorf("emulator: no permission set %q", permissionSetName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleProvisions(s.now())
	doc := s.provisioned[[2]string{ps.arn, accountID}]
	if doc == "" {
		return true, nil
	}
	var d policyDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return false, fmt.Errorf("emulator: provisioned policy: %v", err)
	}
	ctx := map[string]string{"identitystore:userId": userID, "aws:PrincipalAccount": accountID}
	for _, st := range d.Statement {
		if st.Effect != "Deny" || st.Action != "*" || st.Resource != "*" {
			continue
		}
		match := true
		for op, conds := range st.Condition {
			for key, want := range conds {
				w, ok := want.(string)
				switch {
				case !ok:
					return false, fmt.Errorf("emulator: statement %q: condition %s %s is not a single string", st.Sid, op, key)
				case op == "StringEquals" && (key == "identitystore:userId" || key == "aws:PrincipalAccount"):
					match = match && ctx[key] == w
				case op == "DateLessThan" && key == "aws:TokenIssueTime":
					cut, err := time.Parse(time.RFC3339, w)
					if err != nil {
						return false, fmt.Errorf("emulator: statement %q: %s is not an ISO 8601 time: %v", st.Sid, key, err)
					}
					match = match && issuedAt.Before(cut)
				default:
					return false, fmt.Errorf("emulator: statement %q: condition %s on %s is not evaluated by the emulator", st.Sid, op, key)
				}
			}
		}
		if match {
			return false, nil
		}
	}
	return true, nil
}

// AddGroupAssignment assigns the permission set in the account to an
// Identity Store group at once, out of band: access its members hold
// through the group.
func (s *Server) AddGroupAssignment(accountID, permissionSetName, groupID string) error {
	ps := s.byName[permissionSetName]
	if ps == nil {
		return fmt.Errorf("emulator: no permission set %q", permissionSetName)
	}
	if !resourceIDPattern.MatchString(groupID) {
		return fmt.Errorf("emulator: group id %q is not an Identity Store id (pattern %s)", groupID, resourceIDPattern)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.settle(now)
	s.set(assignmentKey{accountID, ps.arn, "GROUP", groupID}, true, now)
	return nil
}
