package broker

import (
	"context"

	"github.com/drawbridge-jit/drawbridge"
)

// checkDistinctPerson refuses a review by the requester of r, or by
// someone who already reviewed it, compared as people: the canonical id
// and every linked identity (drawbridge.Principal.SamePerson). Two
// directory entries for one Slack or AWS user are one person, so an alias
// can neither approve its own request nor count twice towards a quorum.
// Whoever cannot be resolved any more cannot be told apart from the
// approver, so the review is refused rather than assumed safe.
func (b *Broker) checkDistinctPerson(ctx context.Context, r *drawbridge.Request, approver *drawbridge.Principal, verb string) error {
	requester, err := b.Directory.Resolve(ctx, r.Requester)
	if err != nil {
		if drawbridge.IsUnknownPerson(err) {
			return drawbridge.Errorf(drawbridge.EFORBIDDEN, "request %s: its requester %s is no longer in the directory, so %s cannot be shown to be someone else; cancel the request", r.ID, r.Requester, approver.ID)
		}
		return err
	}
	if shared, same := approver.SamePerson(requester); same {
		why := ""
		if shared != approver.ID {
			why = " (" + approver.ID + " and " + requester.ID + " are one person: both are " + shared + ")"
		}
		return drawbridge.Errorf(drawbridge.EFORBIDDEN, "%s cannot %s their own request %s%s: someone else must review it", approver.ID, verb, r.ID, why)
	}
	for _, a := range r.Approvals {
		prior, err := b.Directory.Resolve(ctx, a.Approver)
		if err != nil {
			if drawbridge.IsUnknownPerson(err) {
				return drawbridge.Errorf(drawbridge.ECONFLICT, "request %s: its reviewer %s is no longer in the directory, so %s cannot be shown to be someone else; cancel the request and submit it again", r.ID, a.Approver, approver.ID)
			}
			return err
		}
		if shared, same := approver.SamePerson(prior); same {
			as := ""
			if shared != approver.ID {
				as = " as " + prior.ID + ", the same person (both are " + shared + ")"
			}
			return drawbridge.Errorf(drawbridge.ECONFLICT, "%s has already reviewed %s%s; quorum counts distinct people", approver.ID, r.ID, as)
		}
	}
	return nil
}
