package aws

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"

	"github.com/drawbridge-jit/drawbridge"
)

// PrincipalRef returns the person's Identity Store user id: the directory's
// AWS user id when it has one, else the user whose UserAttribute equals the
// person's canonical id, looked up in the Identity Store and cached.
func (p *Provider) PrincipalRef(ctx context.Context, who *drawbridge.Principal) (string, error) {
	if who == nil {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID, "aws: no person given"))
	}
	if id := who.Identity(drawbridge.IdentityAWS); id != "" {
		if !userIDPattern.MatchString(id) {
			return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
				"aws: %s's AWS user id %q is not an Identity Store user id (a UUID, optionally after ten hex digits and a dash): fix directory.users[].aws_user_id", who.ID, id))
		}
		return id, nil
	}
	if p.identityStoreID == "" {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
			"aws: %s has no AWS Identity Store user id: set directory.users[].aws_user_id for them, or the provider's identity_store_id to look them up", who.ID))
	}
	return p.UserID(ctx, who.ID)
}

// UserID looks up the Identity Store user whose UserAttribute
// ("emails.value" or "userName") equals value. A user that does not exist
// is a permanent ENOTFOUND error naming the attribute and value.
func (p *Provider) UserID(ctx context.Context, value string) (string, error) {
	if p.identityStoreID == "" {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID, "aws: no identity store id configured to look %s up in", value))
	}
	if id, err, ok := p.users.get(value); ok {
		return id, err
	}
	v, err, _ := p.flight.Do("user\x00"+value, func() (any, error) {
		const op = "GetUserId"
		subject := fmt.Sprintf("%s %q in identity store %s", p.userAttribute, value, p.identityStoreID)
		var out *identitystore.GetUserIdOutput
		err := retryRead(ctx, p.sleep, func() error {
			var err error
			out, err = p.identity.GetUserId(ctx, &identitystore.GetUserIdInput{
				IdentityStoreId: &p.identityStoreID,
				AlternateIdentifier: &istypes.AlternateIdentifierMemberUniqueAttribute{Value: istypes.UniqueAttribute{
					AttributePath:  &p.userAttribute,
					AttributeValue: document.NewLazyDocument(value),
				}},
			})
			return classifyAbout(op, subject, err)
		})
		var nf *istypes.ResourceNotFoundException
		if errors.As(err, &nf) && nf.ResourceType != istypes.ResourceTypeIdentityStore {
			err = drawbridge.Permanent(drawbridge.Errorf(drawbridge.ENOTFOUND,
				"aws: no user with %s %q in AWS Identity Store %s: create them there (or match %s to their email), or set directory.users[].aws_user_id",
				p.userAttribute, value, p.identityStoreID, p.userAttribute))
			p.users.put(value, "", err)
			return "", err
		}
		if err != nil {
			return "", err
		}
		id := awssdk.ToString(out.UserId)
		if err := p.checkMatch(ctx, id, value); err != nil {
			p.users.put(value, "", err)
			return "", err
		}
		p.users.put(value, id, nil)
		return id, nil
	})
	return v.(string), err
}

// checkMatch confirms that the user GetUserId found carries value exactly
// as Drawbridge compares people (CanonicalPrincipalID: ASCII case only).
// The Identity Store matches with Unicode case folding, so "sue@…" can
// find the user "ſue@…": that user is someone else, and is reported as
// not found.
func (p *Provider) checkMatch(ctx context.Context, userID, value string) error {
	var out *identitystore.DescribeUserOutput
	err := retryRead(ctx, p.sleep, func() error {
		var err error
		out, err = p.identity.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: &p.identityStoreID, UserId: &userID})
		return classifyAbout("DescribeUser", "user "+userID, err)
	})
	if err != nil {
		return err
	}
	have := []string{awssdk.ToString(out.UserName)}
	if p.userAttribute != "userName" {
		have = have[:0]
		for _, e := range out.Emails {
			have = append(have, awssdk.ToString(e.Value))
		}
	}
	want := drawbridge.CanonicalPrincipalID(value)
	for _, h := range have {
		if drawbridge.CanonicalPrincipalID(h) == want {
			return nil
		}
	}
	return drawbridge.Permanent(drawbridge.Errorf(drawbridge.ENOTFOUND,
		"aws: no user with %s %q in AWS Identity Store %s (user %s matches it only under Unicode case folding, which Drawbridge does not apply): set directory.users[].aws_user_id",
		p.userAttribute, value, p.identityStoreID, userID))
}

// GroupNames returns the display names of the Identity Store groups the
// user is a direct member of, sorted and cached.
func (p *Provider) GroupNames(ctx context.Context, userID string) ([]string, error) {
	if names, err, ok := p.memberOf.get(userID); ok {
		return slices.Clone(names), err
	}
	v, err, _ := p.flight.Do("groups\x00"+userID, func() (any, error) {
		const op = "ListGroupMembershipsForMember"
		subject := "user " + userID
		var groupIDs []string
		pages := identitystore.NewListGroupMembershipsForMemberPaginator(p.identity, &identitystore.ListGroupMembershipsForMemberInput{
			IdentityStoreId: &p.identityStoreID,
			MemberId:        &istypes.MemberIdMemberUserId{Value: userID},
		})
		for pages.HasMorePages() {
			var out *identitystore.ListGroupMembershipsForMemberOutput
			err := retryRead(ctx, p.sleep, func() error {
				var err error
				out, err = pages.NextPage(ctx)
				return classifyAbout(op, subject, err)
			})
			if err != nil {
				return nil, err
			}
			for _, m := range out.GroupMemberships {
				groupIDs = append(groupIDs, awssdk.ToString(m.GroupId))
			}
		}
		names := make([]string, 0, len(groupIDs))
		for _, id := range groupIDs {
			name, err := p.groupName(ctx, id)
			if err != nil {
				return nil, err
			}
			names = append(names, name)
		}
		slices.Sort(names)
		names = slices.Compact(names)
		p.memberOf.put(userID, names, nil)
		return names, nil
	})
	if err != nil {
		return nil, err
	}
	return slices.Clone(v.([]string)), nil
}

// groupName returns a group's display name, cached: memberships change
// more often than group names, and many people share a group.
func (p *Provider) groupName(ctx context.Context, groupID string) (string, error) {
	if name, err, ok := p.groupNames.get(groupID); ok {
		return name, err
	}
	var out *identitystore.DescribeGroupOutput
	err := retryRead(ctx, p.sleep, func() error {
		var err error
		out, err = p.identity.DescribeGroup(ctx, &identitystore.DescribeGroupInput{IdentityStoreId: &p.identityStoreID, GroupId: &groupID})
		return classifyAbout("DescribeGroup", "group "+groupID, err)
	})
	if err != nil {
		return "", err
	}
	name := awssdk.ToString(out.DisplayName)
	p.groupNames.put(groupID, name, nil)
	return name, nil
}

// readAttempts and readBackoff bound the retries of an idempotent read
// within one call: a throttled lookup while a request is being provisioned
// should not fail it. maxRetryAfter bounds how long a read waits when the
// Identity Store asks for a pause (RetryAfterSeconds): a longer pause is
// left to the caller's own backoff, so that no call hangs for minutes.
const (
	readAttempts  = 3
	readBackoff   = 100 * time.Millisecond
	maxRetryAfter = 10 * time.Second
)

// retryRead runs call up to readAttempts times while it fails with a
// retryable error, backing off exponentially with jitter, and at least as
// long as a throttling error's RetryAfterSeconds asks.
func retryRead(ctx context.Context, sleep func(context.Context, time.Duration) error, call func() error) error {
	var err error
	for attempt := range readAttempts {
		if err = call(); err == nil || drawbridge.IsPermanent(err) || ctx.Err() != nil {
			return err
		}
		if attempt < readAttempts-1 {
			d := readBackoff << attempt
			d = d/2 + rand.N(d/2+1)
			var te *istypes.ThrottlingException
			if errors.As(err, &te) && te.RetryAfterSeconds > 0 {
				after := time.Duration(te.RetryAfterSeconds) * time.Second
				if after > maxRetryAfter {
					return err
				}
				d = max(d, after)
			}
			if sleep(ctx, d) != nil {
				return err
			}
		}
	}
	return err
}

// Directory adds what the Identity Store knows to a base directory's
// people. Build it with NewDirectory.
type Directory struct {
	base drawbridge.Directory
	p    *Provider
}

var _ drawbridge.Directory = (*Directory)(nil)

// NewDirectory returns a directory that resolves people through base and
// then, from p's Identity Store: links the person's aws identity when base
// has none (looked up by p's UserAttribute), and with Config.ResolveGroups
// appends the display names of the person's Identity Store groups to
// Principal.Groups, for policy matching. Group names are one namespace
// across sources: when base defines a group (drawbridge.GroupSource) the
// Identity Store may confirm a member the config lists, never add one, and
// Resolve refuses a person the two sources disagree about. Someone base does not know but who is given by email
// and exists in the Identity Store resolves to a principal with that email
// as id, the user id and those groups.
//
// A person unknown to the Identity Store resolves as base has them (a grant
// for them fails later with PrincipalRef's clear error). When the Identity
// Store cannot be reached, Resolve fails with EUNAVAILABLE rather than
// silently dropping groups, because a policy may test that someone is not
// in a group.
func NewDirectory(base drawbridge.Directory, p *Provider) *Directory {
	return &Directory{base: base, p: p}
}

// Resolve returns the person named by who (an email or a Slack id).
func (d *Directory) Resolve(ctx context.Context, who string) (*drawbridge.Principal, error) {
	pr, err := d.base.Resolve(ctx, who)
	if d.p.identityStoreID == "" {
		return pr, err
	}
	if err != nil {
		email := drawbridge.CanonicalPrincipalID(who)
		// Only an ASCII email is looked up: the Identity Store folds case
		// the Unicode way ("ſam" finds sam), Drawbridge does not.
		if !drawbridge.IsUnknownPerson(err) || drawbridge.CheckEmail(email) != nil {
			return nil, err
		}
		id, lerr := d.p.UserID(ctx, email)
		if lerr != nil {
			if drawbridge.ErrorCode(lerr) == drawbridge.ENOTFOUND {
				return nil, err
			}
			return nil, unavailable(email, lerr)
		}
		pr = &drawbridge.Principal{ID: email}
		pr.Link(drawbridge.IdentityAWS, id)
	}
	if pr.Identity(drawbridge.IdentityAWS) == "" {
		id, err := d.p.UserID(ctx, pr.ID)
		switch {
		case drawbridge.ErrorCode(err) == drawbridge.ENOTFOUND:
			return pr, nil
		case err != nil:
			return nil, unavailable(pr.ID, err)
		}
		pr.Link(drawbridge.IdentityAWS, id)
	}
	if d.p.resolveGroups {
		names, err := d.p.GroupNames(ctx, pr.Identity(drawbridge.IdentityAWS))
		if err != nil {
			return nil, unavailable(pr.ID, err)
		}
		defined, _ := d.base.(drawbridge.GroupSource)
		for _, g := range names {
			if pr.InGroup(g) {
				continue
			}
			if defined != nil && defined.DefinesGroup(g) {
				return nil, drawbridge.Errorf(drawbridge.EINTERNAL, "resolve %s: the AWS Identity Store puts them in group %q, which directory.users of the config also defines without them; "+
					"group names are one namespace across sources, so the Identity Store cannot add members to a config group: rename one of the two groups, or list %s in the config group", pr.ID, g, pr.ID)
			}
			pr.Groups = append(pr.Groups, g)
		}
	}
	return pr, nil
}

func unavailable(who string, err error) error {
	return drawbridge.Errorf(drawbridge.EUNAVAILABLE, "resolve %s in the AWS Identity Store: %v", who, err)
}
