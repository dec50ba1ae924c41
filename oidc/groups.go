package oidc

import (
	"context"
	"fmt"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// GroupDirectory adds fresh managed-group memberships to the people its
// Next directory resolves, so that policy (group:<name>), approver checks
// in every channel and role bindings see them. A membership older than
// ValidFor no longer counts. A group the config defines (Defined) is
// never added: group names are one namespace, and another source may
// confirm a config group's member, never add one.
type GroupDirectory struct {
	Next     drawbridge.Directory
	Store    drawbridge.GroupMembershipStore
	Defined  drawbridge.GroupSource
	ValidFor time.Duration
	Now      func() time.Time
}

// Resolve resolves who through Next and adds their fresh memberships.
func (d *GroupDirectory) Resolve(ctx context.Context, who string) (*drawbridge.Principal, error) {
	p, err := d.Next.Resolve(ctx, who)
	if err != nil {
		return nil, err
	}
	ms, err := d.Store.GroupMemberships(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("managed groups of %s: %w", p.ID, err)
	}
	now := d.Now()
	for _, m := range ms {
		if !now.Before(m.ComputedAt.Add(d.ValidFor)) || p.InGroup(m.Group) || (d.Defined != nil && d.Defined.DefinesGroup(m.Group)) {
			continue
		}
		p.Groups = append(p.Groups, m.Group)
	}
	return p, nil
}

// DefinesGroup passes Next's answer on, so a directory stacked on this
// one keeps the config's groups closed too.
func (d *GroupDirectory) DefinesGroup(name string) bool {
	gs, ok := d.Next.(drawbridge.GroupSource)
	return ok && gs.DefinesGroup(name)
}
