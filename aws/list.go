package aws

import (
	"context"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/drawbridge-jit/drawbridge"
)

// ListAssignments returns every user assignment of the configured
// permission sets in the given accounts, reading all pages, ordered by
// account (as given), permission set name and user id. Group assignments
// are left out: Drawbridge grants to users only. Reconciliation compares
// the result with the ACTIVE grants and recorded standing access.
func (p *Provider) ListAssignments(ctx context.Context, accounts []string) ([]drawbridge.Assignment, error) {
	const op = "ListAccountAssignments"
	var out []drawbridge.Assignment
	for _, account := range accounts {
		if !accountIDPattern.MatchString(account) {
			return nil, drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
				"aws: %s %s: account id must be 12 digits", op, account))
		}
		for _, name := range p.PermissionSetNames() {
			e := drawbridge.Entitlement{Provider: p.Name(), Resource: account, Role: name}
			subject := account + "/" + name
			psARN := p.permissionSets[name]
			pages := ssoadmin.NewListAccountAssignmentsPaginator(p.client, &ssoadmin.ListAccountAssignmentsInput{
				InstanceArn:      &p.instanceARN,
				AccountId:        &account,
				PermissionSetArn: &psARN,
			})
			var users []string
			for pages.HasMorePages() {
				page, err := p.nextAssignmentsPage(ctx, pages, op, subject)
				if err != nil {
					return nil, err
				}
				for _, x := range page.AccountAssignments {
					if x.PrincipalType == types.PrincipalTypeUser {
						users = append(users, awssdk.ToString(x.PrincipalId))
					}
				}
			}
			slices.Sort(users)
			for _, u := range slices.Compact(users) {
				out = append(out, drawbridge.Assignment{Entitlement: e, PrincipalRef: u})
			}
		}
	}
	return out, nil
}

// nextAssignmentsPage reads the next page of a listing. Listing is
// read-only, so a transient failure (throttling, a dropped connection) is
// retried here like every read, rather than failing the grant or the
// reconciliation that asked; the paginator re-sends the same page.
func (p *Provider) nextAssignmentsPage(ctx context.Context, pages *ssoadmin.ListAccountAssignmentsPaginator, op, subject string) (*ssoadmin.ListAccountAssignmentsOutput, error) {
	var out *ssoadmin.ListAccountAssignmentsOutput
	err := retryRead(ctx, p.sleep, func() error {
		var err error
		out, err = pages.NextPage(ctx)
		return classifyAbout(op, subject, err)
	})
	return out, err
}
