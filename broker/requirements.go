package broker

import (
	"context"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/policy"
)

// Missing says what a request lacks that the rule deciding it requires.
type Missing struct {
	Rule   string
	Reason bool
	// Ticket is the pattern a ticket must match, "" when none is missing.
	Ticket string
}

// Any reports whether anything is missing.
func (m Missing) Any() bool { return m.Reason || m.Ticket != "" }

// MissingDetails reports whether the rule that would decide in, as the
// policy stands now, requires a reason or a ticket that in does not give,
// without recording anything. A channel that can ask for them (Slack's
// modal) asks instead of submitting a request that is certain to be
// DENIED for their lack; every other problem is left to Submit, which
// decides and records as usual.
func (b *Broker) MissingDetails(ctx context.Context, in SubmitInput) (Missing, error) {
	e, err := b.Catalog.Resolve(in.Entitlement)
	if err != nil {
		return Missing{}, err
	}
	requester, err := b.Directory.Resolve(ctx, in.Requester)
	if err != nil {
		return Missing{}, err
	}
	pol, err := b.decidingPolicy()
	if err != nil {
		return Missing{}, err
	}
	ous, tags := b.Catalog.ResourceAttrs(e)
	dec := pol.Evaluate(&policy.Input{Requester: requester, Entitlement: e, Duration: in.Duration,
		Reason: in.Reason, Ticket: in.Ticket, Now: b.now(), OUs: ous, Tags: tags})
	rule, ok := pol.Rule(dec.Rule)
	if !ok || rule.Decision == drawbridge.EffectDeny {
		return Missing{}, nil
	}
	m := Missing{Rule: rule.Name, Reason: rule.RequireReason && in.Reason == ""}
	if rule.TicketPattern != "" && in.Ticket == "" {
		m.Ticket = rule.TicketPattern
	}
	return m, nil
}
