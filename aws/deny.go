package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/drawbridge-jit/drawbridge"
)

// Deny old sessions (end_sessions: [deny_old_sessions]). Deleting an
// account assignment leaves the role sessions it issued valid for the rest
// of the permission set's session duration. AWS's documented remedy
// ("Revoke active IAM role sessions created by permission sets") is a deny
// statement in the permission set's inline policy for the sessions issued
// before a cutoff, provisioned to the account. EndSessions adds one per
// revocation, scoped to the person (identitystore:userId) and the account
// (aws:PrincipalAccount), and RemoveExpiredDenies takes it out once no
// session issued before the cutoff can still be alive.
//
// The statement carries its own removal time in its Sid, so the schedule
// lives where the statement does: a restart, a lost database or another
// replica still finds and removes it.

// DenyLeaseTTL bounds how long one process may hold a permission set's
// inline-policy lease: a crashed holder blocks others at most that long.
const DenyLeaseTTL = 2 * time.Minute

// denyBusyRetry is when a revocation that found the inline policy being
// changed by another process tries again.
const denyBusyRetry = 5 * time.Second

// denySid names a Drawbridge deny statement: its removal time (unix
// seconds) and the request whose revocation added it (letters and digits
// only: IAM statement ids allow nothing else).
var denySid = regexp.MustCompile(`^DrawbridgeDeny(\d{1,12})R([A-Za-z0-9]{1,100})$`)

// denyStatement is the statement EndSessions adds.
type denyStatement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Action    string                       `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition"`
}

// EndSessions denies, through the permission set's inline policy, the
// person's role sessions in the account issued before now — when the
// provider is configured with DenyOldSessions and the person holds the
// permission set in the account in no other way. The broker calls it only
// after Revoke confirmed the deletion, so the cutoff, taken here, is later
// than the deletion.
func (p *Provider) EndSessions(ctx context.Context, spec drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	if !p.denyOld {
		return drawbridge.RevokeResult{}, nil
	}
	const op = "EndSessions"
	a := spec.Assignment
	psARN, err := p.check(op, a)
	if err != nil {
		return drawbridge.RevokeResult{}, err
	}
	if why, err := p.stillHeld(ctx, a, psARN); err != nil || why != "" {
		if err != nil {
			return drawbridge.RevokeResult{}, err
		}
		return drawbridge.RevokeResult{Details: map[string]string{"deny_old_sessions": "not added: " + why}}, nil
	}
	durations, err := p.sessionDuration(ctx, a.Role, psARN)
	if err != nil {
		return drawbridge.RevokeResult{}, err
	}
	cutoff := p.now().UTC().Truncate(time.Second).Add(time.Second)
	removeAt := cutoff.Add(durations)
	st := denyStatement{
		Sid:      fmt.Sprintf("DrawbridgeDeny%dR%s", removeAt.Unix(), sidSafe(spec.RequestID)),
		Effect:   "Deny",
		Action:   "*",
		Resource: "*",
		Condition: map[string]map[string]string{
			"StringEquals": {"identitystore:userId": a.PrincipalRef, "aws:PrincipalAccount": a.Resource},
			"DateLessThan": {"aws:TokenIssueTime": cutoff.Format(time.RFC3339)},
		},
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return drawbridge.RevokeResult{}, err
	}
	err = p.changeInlinePolicy(ctx, a.Role, psARN, func(stmts []json.RawMessage) ([]json.RawMessage, []string) {
		kept := stmts[:0:0]
		for _, s := range stmts {
			if sidOf(s) != st.Sid {
				kept = append(kept, s)
			}
		}
		return append(kept, raw), []string{a.Resource}
	})
	if err != nil {
		return drawbridge.RevokeResult{}, err
	}
	return drawbridge.RevokeResult{Details: map[string]string{
		"deny_old_sessions": fmt.Sprintf("sessions of %s in %s issued before %s denied through permission set %s's inline policy (statement %s, removed after %s)",
			a.PrincipalRef, a.Resource, cutoff.Format(time.RFC3339), a.Role, st.Sid, removeAt.Format(time.RFC3339)),
	}}, nil
}

// RemoveExpiredDenies takes out of each configured permission set's inline
// policy the deny statements whose sessions have all ended (their removal
// time passed) and provisions the permission set to the accounts they
// named. Every replica may run it; the lease serialises them.
func (p *Provider) RemoveExpiredDenies(ctx context.Context) error {
	if !p.denyOld {
		return nil
	}
	for _, name := range p.PermissionSetNames() {
		psARN := p.permissionSets[name]
		doc, err := p.inlinePolicy(ctx, name, psARN)
		if err != nil {
			return err
		}
		if len(p.expired(doc.statements)) == 0 {
			continue
		}
		err = p.changeInlinePolicy(ctx, name, psARN, func(stmts []json.RawMessage) ([]json.RawMessage, []string) {
			gone := p.expired(stmts)
			var accounts []string
			kept := stmts[:0:0]
			for _, s := range stmts {
				if slices.Contains(gone, sidOf(s)) {
					accounts = append(accounts, accountOf(s))
					continue
				}
				kept = append(kept, s)
			}
			slices.Sort(accounts)
			return kept, slices.Compact(accounts)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// expired returns the Sids of the Drawbridge statements among stmts whose
// removal time has passed.
func (p *Provider) expired(stmts []json.RawMessage) []string {
	now := p.now().Unix()
	var out []string
	for _, s := range stmts {
		sid := sidOf(s)
		m := denySid.FindStringSubmatch(sid)
		if m == nil {
			continue
		}
		if at, err := strconv.ParseInt(m[1], 10, 64); err == nil && at <= now {
			out = append(out, sid)
		}
	}
	return out
}

// changeInlinePolicy applies change to the permission set's inline policy
// under the store lease on it, writes the result and provisions the
// permission set to the accounts change names, waiting until each
// provisioning succeeded. Without the lease two processes could each read
// the policy, add their statement and write, and the second write would
// drop the first's statement; AWS's inline-policy calls carry no version
// to compare. A lease held by another process is a retryable error: the
// revocation tries again shortly.
func (p *Provider) changeInlinePolicy(ctx context.Context, name, psARN string, change func([]json.RawMessage) ([]json.RawMessage, []string)) error {
	lease := "aws-inline-policy:" + psARN
	now := p.now()
	took, err := p.leases.TakeLease(ctx, lease, p.leaseHolder, now, now.Add(DenyLeaseTTL))
	if err != nil {
		return err
	}
	if !took {
		return drawbridge.RetryAfter(fmt.Errorf("aws: the inline policy of permission set %s is being changed by another process (lease %s); this revocation tries again", name, lease), denyBusyRetry)
	}
	// Released by renewing it to end now: ended at or before now, it is
	// free for the next taker.
	defer func() {
		end := p.now()
		p.leases.TakeLease(context.WithoutCancel(ctx), lease, p.leaseHolder, end, end) //nolint:errcheck // the lease runs out by itself
	}()
	doc, err := p.inlinePolicy(ctx, name, psARN)
	if err != nil {
		return err
	}
	stmts, accounts := change(doc.statements)
	if err := p.putInlinePolicy(ctx, name, psARN, doc, stmts); err != nil {
		return err
	}
	for _, account := range accounts {
		if err := p.provision(ctx, name, psARN, account); err != nil {
			return err
		}
	}
	return nil
}

// policyDoc is an inline policy as read: its statements, each kept as
// written so that statements Drawbridge did not write go back unchanged,
// and its other members.
type policyDoc struct {
	rest       map[string]json.RawMessage
	statements []json.RawMessage
}

func (p *Provider) inlinePolicy(ctx context.Context, name, psARN string) (policyDoc, error) {
	const op = "GetInlinePolicyForPermissionSet"
	var out *ssoadmin.GetInlinePolicyForPermissionSetOutput
	err := retryRead(ctx, p.sleep, func() error {
		var err error
		out, err = p.client.GetInlinePolicyForPermissionSet(ctx, &ssoadmin.GetInlinePolicyForPermissionSetInput{InstanceArn: &p.instanceARN, PermissionSetArn: &psARN})
		return classifyAbout(op, "permission set "+name, err)
	})
	if err != nil {
		return policyDoc{}, err
	}
	doc := policyDoc{rest: map[string]json.RawMessage{}}
	text := strings.TrimSpace(awssdk.ToString(out.InlinePolicy))
	if text == "" {
		return doc, nil
	}
	if err := json.Unmarshal([]byte(text), &doc.rest); err != nil {
		return policyDoc{}, drawbridge.Permanent(&opError{op: op, subject: "permission set " + name, msg: "the inline policy is not a JSON object: " + err.Error()})
	}
	raw := doc.rest["Statement"]
	delete(doc.rest, "Statement")
	switch {
	case len(raw) == 0:
	case raw[0] == '[':
		err = json.Unmarshal(raw, &doc.statements)
	default: // IAM allows a single statement object
		doc.statements = []json.RawMessage{raw}
	}
	if err != nil {
		return policyDoc{}, drawbridge.Permanent(&opError{op: op, subject: "permission set " + name, msg: "the inline policy's Statement is not a list: " + err.Error()})
	}
	return doc, nil
}

// putInlinePolicy writes doc with stmts, or deletes the inline policy when
// nothing is left of it.
func (p *Provider) putInlinePolicy(ctx context.Context, name, psARN string, doc policyDoc, stmts []json.RawMessage) error {
	if len(stmts) == 0 && len(doc.rest) <= 1 {
		const op = "DeleteInlinePolicyFromPermissionSet"
		_, err := p.client.DeleteInlinePolicyFromPermissionSet(ctx, &ssoadmin.DeleteInlinePolicyFromPermissionSetInput{InstanceArn: &p.instanceARN, PermissionSetArn: &psARN})
		return classifyAbout(op, "permission set "+name, err)
	}
	const op = "PutInlinePolicyToPermissionSet"
	out := map[string]any{"Version": "2012-10-17"}
	for k, v := range doc.rest {
		out[k] = v
	}
	out["Statement"] = stmts
	text, err := json.Marshal(out)
	if err != nil {
		return err
	}
	if len(text) > maxInlinePolicy {
		return &opError{op: op, subject: "permission set " + name,
			msg: fmt.Sprintf("the inline policy with the deny statement would be %d characters, over Identity Center's limit of %d: statements are removed as their sessions end, so this revocation retries; shorten the permission set's session duration or its inline policy", len(text), maxInlinePolicy)}
	}
	policy := string(text)
	_, err = p.client.PutInlinePolicyToPermissionSet(ctx, &ssoadmin.PutInlinePolicyToPermissionSetInput{InstanceArn: &p.instanceARN, PermissionSetArn: &psARN, InlinePolicy: &policy})
	return classifyAbout(op, "permission set "+name, err)
}

// maxInlinePolicy is Identity Center's limit on an inline policy, in
// characters.
const maxInlinePolicy = 32768

// provision provisions the permission set to the account and waits for
// the provisioning to succeed: until then the account's role still lets
// the old sessions in.
func (p *Provider) provision(ctx context.Context, name, psARN, account string) error {
	const op, describeOp = "ProvisionPermissionSet", "DescribePermissionSetProvisioningStatus"
	subject := "permission set " + name + " to account " + account
	res, err := p.client.ProvisionPermissionSet(ctx, &ssoadmin.ProvisionPermissionSetInput{InstanceArn: &p.instanceARN,
		PermissionSetArn: &psARN, TargetType: types.ProvisionTargetTypeAwsAccount, TargetId: &account})
	if err != nil {
		return classifyAbout(op, subject, err)
	}
	st := res.PermissionSetProvisioningStatus
	for pollErrors := 0; ; {
		if st == nil {
			return &opError{op: op, subject: subject, msg: "response has no status"}
		}
		switch st.Status {
		case types.StatusValuesSucceeded:
			return nil
		case types.StatusValuesFailed:
			return &opError{op: op, subject: subject, msg: fmt.Sprintf("FAILED: %s (request %s)", awssdk.ToString(st.FailureReason), awssdk.ToString(st.RequestId))}
		}
		if err := p.sleep(ctx, p.pollInterval); err != nil {
			return &opError{op: describeOp, subject: subject, err: err, msg: fmt.Sprintf("request %s still %s: %v", awssdk.ToString(st.RequestId), st.Status, err)}
		}
		next, err := p.client.DescribePermissionSetProvisioningStatus(ctx, &ssoadmin.DescribePermissionSetProvisioningStatusInput{
			InstanceArn: &p.instanceARN, ProvisionPermissionSetRequestId: st.RequestId})
		if err != nil {
			if pollErrors++; pollErrors >= maxPollErrors || ctx.Err() != nil {
				return classifyAbout(describeOp, subject, err)
			}
			continue
		}
		pollErrors = 0
		st = next.PermissionSetProvisioningStatus
	}
}

// stillHeld says how the person still holds the permission set in the
// account after the deletion ("" when they do not): assigned to them
// directly (standing access, or a grant made since), or to a group they
// are a member of. Their sessions are then theirs to keep.
func (p *Provider) stillHeld(ctx context.Context, a drawbridge.Assignment, psARN string) (string, error) {
	const op = "ListAccountAssignments"
	pages := ssoadmin.NewListAccountAssignmentsPaginator(p.client, &ssoadmin.ListAccountAssignmentsInput{
		InstanceArn: &p.instanceARN, AccountId: &a.Resource, PermissionSetArn: &psARN})
	var groups []string
	for pages.HasMorePages() {
		page, err := p.nextAssignmentsPage(ctx, pages, op, a.Resource+"/"+a.Role)
		if err != nil {
			return "", err
		}
		for _, x := range page.AccountAssignments {
			id := awssdk.ToString(x.PrincipalId)
			switch x.PrincipalType {
			case types.PrincipalTypeUser:
				if id == a.PrincipalRef {
					return "the person is assigned the permission set in this account again", nil
				}
			case types.PrincipalTypeGroup:
				groups = append(groups, id)
			}
		}
	}
	if len(groups) == 0 {
		return "", nil
	}
	mine, err := p.groupIDs(ctx, a.PrincipalRef)
	if err != nil {
		return "", err
	}
	for _, g := range groups {
		if slices.Contains(mine, g) {
			return "the person holds the permission set in this account through group " + g, nil
		}
	}
	return "", nil
}

// groupIDs reads the ids of the groups the user is a direct member of,
// uncached: a membership removed a minute ago must not keep a deny out.
func (p *Provider) groupIDs(ctx context.Context, userID string) ([]string, error) {
	const op = "ListGroupMembershipsForMember"
	pages := identitystore.NewListGroupMembershipsForMemberPaginator(p.identity, &identitystore.ListGroupMembershipsForMemberInput{
		IdentityStoreId: &p.identityStoreID, MemberId: &istypes.MemberIdMemberUserId{Value: userID}})
	var out []string
	for pages.HasMorePages() {
		var page *identitystore.ListGroupMembershipsForMemberOutput
		err := retryRead(ctx, p.sleep, func() error {
			var err error
			page, err = pages.NextPage(ctx)
			return classifyAbout(op, "user "+userID, err)
		})
		if err != nil {
			return nil, err
		}
		for _, m := range page.GroupMemberships {
			out = append(out, awssdk.ToString(m.GroupId))
		}
	}
	return out, nil
}

// sessionDuration reads one permission set's session duration.
func (p *Provider) sessionDuration(ctx context.Context, name, psARN string) (time.Duration, error) {
	const op = "DescribePermissionSet"
	var res *ssoadmin.DescribePermissionSetOutput
	err := retryRead(ctx, p.sleep, func() error {
		var err error
		res, err = p.client.DescribePermissionSet(ctx, &ssoadmin.DescribePermissionSetInput{InstanceArn: &p.instanceARN, PermissionSetArn: &psARN})
		return classifyAbout(op, "permission set "+name, err)
	})
	if err != nil {
		return 0, err
	}
	if res.PermissionSet == nil || awssdk.ToString(res.PermissionSet.SessionDuration) == "" {
		return defaultSessionDuration, nil
	}
	d, err := parseISODuration(awssdk.ToString(res.PermissionSet.SessionDuration))
	if err != nil {
		return 0, drawbridge.Permanent(&opError{op: op, subject: "permission set " + name, err: err, msg: err.Error()})
	}
	return d, nil
}

func sidOf(stmt json.RawMessage) string {
	var s struct{ Sid string }
	_ = json.Unmarshal(stmt, &s) // a statement that is not an object has no Sid
	return s.Sid
}

func accountOf(stmt json.RawMessage) string {
	var s denyStatement
	_ = json.Unmarshal(stmt, &s) // only Drawbridge's statements are asked
	return s.Condition["StringEquals"]["aws:PrincipalAccount"]
}

// sidSafe keeps the letters and digits of a request id, which is all an
// IAM statement id may hold.
func sidSafe(id string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, id)
}
