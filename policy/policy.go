// Package policy parses, validates, compiles and evaluates Drawbridge's
// access rules (access_rules.yaml). It is pure: apart from Load reading the
// policy file, it does no I/O, so the broker, the CLI (`policy check`, `policy
// test`, `policy explain`) and tests all get the same decision for the same
// input.
//
// Rules are evaluated in file order and the first rule whose match holds
// decides; no matching rule means deny with the reason "no matching rule".
//
// The parser is fail closed. Anything it does not understand is an error
// reported as file:line:col with a hint on how to fix it, and every problem
// in the file is reported at once. In particular a rule's match must name
// its provider, resources (or accounts), roles (or permission_sets) and
// requesters explicitly: an omitted list is an error, never an implicit "*",
// because a forgotten line must not silently widen who gets access. Write
// ["*"] when every value is meant.
//
// A CEL condition is type-checked at Parse against typed request and
// requester objects, so an unknown field is a load error; at run time, a
// condition that fails to evaluate makes its rule deny, never a fall-through
// to a later rule that might allow.
//
// Evaluate is on the request path of every submission, so it uses an index
// built at Parse time from (provider, resource, role) to the ascending
// positions of the rules that can match, merges the few candidate lists in
// rule order, and allocates nothing for rules without a CEL condition. The
// per-rule Explain trace and the tests use a plain scan over all rules
// instead, and the tests check that both always agree.
package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/drawbridge-jit/drawbridge"
)

// Policy is a parsed, validated and compiled access_rules.yaml. It is
// immutable after Parse and safe for concurrent use.
type Policy struct {
	filename string
	sha      string
	rules    []*Rule
	byName   map[string]*Rule
	idx      index
	noMatch  drawbridge.Decision
}

// Rule is one compiled rule. The exported fields show the rule as written
// (after aliases are resolved and defaults applied); callers must not modify
// them.
type Rule struct {
	Name        string
	Description string
	// Line is where the rule starts in the policy file, for messages.
	Line int

	Provider string
	// Resources are the selectors as written under resources or accounts:
	// "*", exact ids, "ou:<ou-id>" and "tag:<key>=<value>".
	Resources []string
	// Roles are the role (permission set) names, or "*".
	Roles []string
	// Requesters are "group:<name>", "user:<email>" or "*".
	Requesters []string
	// Condition is the optional CEL expression, "" when absent.
	Condition string

	RequireReason bool
	// TicketPattern is the regular expression a ticket must match as a
	// whole, "" when no ticket is required.
	TicketPattern string

	Decision    drawbridge.Effect
	MaxDuration time.Duration
	// MaxContinuous bounds the continuous window of access this rule may
	// create across extensions and overlapping requests; zero means
	// MaxDuration (see ContinuousLimit).
	MaxContinuous time.Duration

	// Approvers, ApprovalCount and ApprovalTimeout are set only for
	// require_approval rules.
	Approvers       []string
	ApprovalCount   int
	ApprovalTimeout time.Duration
	// Where and how a pending request is put to its approvers in Slack:
	// SlackChannel overrides slack.approval_channel; ApprovalInSlack false
	// (approval.in_slack: false) replaces the Approve and Deny buttons
	// with a link to the dashboard's step-up approval page and refuses
	// Slack clicks; RemindAfter posts a reminder once a request has
	// waited that long, and EscalateTo (a channel id or "user:<email>")
	// is sent the request when it has waited twice that.
	SlackChannel    string
	ApprovalInSlack bool
	RemindAfter     time.Duration
	EscalateTo      string

	pos int // position in file order, the index's sort key

	anyResource bool
	exact       map[string]struct{}
	ous         []string
	tags        []tagSelector

	anyRole bool
	roles   map[string]struct{}

	anyRequester bool
	users        stringSet
	groups       stringSet

	anyApprover    bool
	approverUsers  stringSet
	approverGroups stringSet

	ticketRE *regexp.Regexp
	prg      cel.Program

	// decision is the precomputed outcome once the rule matched and the
	// request passed its checks, so the allow path formats nothing.
	decision drawbridge.Decision
}

type tagSelector struct{ key, value string }

// Input is everything a decision depends on. The broker fills OUs and Tags
// from the accounts catalog so that the policy itself stays pure.
type Input struct {
	// Requester's ID must be the canonical (lower-cased) email, as the
	// directory returns it: Evaluate compares it as is, so a non-canonical
	// id matches no "user:" entry (fail closed) rather than paying to
	// lower-case it on every decision.
	Requester   *drawbridge.Principal
	Entitlement drawbridge.Entitlement
	Duration    time.Duration
	Reason      string
	Ticket      string
	// Now is exposed to CEL conditions as `now`.
	Now time.Time
	// ContinuousSince is when the requester's unbroken access to this
	// entitlement through Drawbridge began, zero when they hold none now.
	ContinuousSince time.Time
	// ExtendsUntil is the expiry of the grant this request extends, zero
	// for a request that extends nothing: an extension's access runs from
	// there, not from Now.
	ExtendsUntil time.Time
	// OUs are the ids of every OU that contains the resource, ancestors
	// included, so "ou:<parent>" matches accounts in nested OUs.
	OUs  []string
	Tags map[string]string
}

// Load reads the policy file at path and parses it.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "read policy: %v", err)
	}
	return Parse(path, data)
}

// SHA256 is the hex SHA-256 of the raw policy file, recorded with every
// decision so an auditor can tell which version of the file decided.
func (p *Policy) SHA256() string { return p.sha }

// Filename is the name the policy was parsed under.
func (p *Policy) Filename() string { return p.filename }

// Rules returns the rules in file order.
func (p *Policy) Rules() []*Rule { return append([]*Rule(nil), p.rules...) }

// Rule returns the rule with the given name.
func (p *Policy) Rule(name string) (*Rule, bool) {
	r, ok := p.byName[name]
	return r, ok
}

// Evaluate decides a request: the first rule in file order whose match
// holds decides, and no match is a deny with reason "no matching rule".
func (p *Policy) Evaluate(in *Input) drawbridge.Decision {
	if reason := invalidInput(in); reason != "" {
		return p.deny("", reason)
	}
	i, err := p.idx.first(p.rules, in)
	if i < 0 {
		return p.noMatch
	}
	if err != nil {
		return p.conditionFailed(p.rules[i], err)
	}
	return p.decide(p.rules[i], in)
}

// conditionFailed is the decision when a rule's condition cannot be
// evaluated (division by zero, a missing map key, the cost limit). The
// rule could not say whether it applies, so it denies: falling through
// to a later rule would let a broken deny rule hand out access through
// an allow rule after it.
func (p *Policy) conditionFailed(r *Rule, err error) drawbridge.Decision {
	return p.deny(r.Name, fmt.Sprintf("condition of rule %q failed to evaluate, so the request is denied (fail closed): %v", r.Name, err))
}

// invalidInput guards the policy against a caller that skipped validation:
// without a requester or a positive duration no rule may allow anything.
func invalidInput(in *Input) string {
	switch {
	case in == nil:
		return "invalid request: no input"
	case in.Requester == nil || in.Requester.ID == "":
		return "invalid request: no requester"
	case in.Duration <= 0:
		return fmt.Sprintf("invalid request: duration %s is not positive", in.Duration)
	}
	return ""
}

// decide applies a matched rule's checks. None of them falls through to
// a later rule: a request that breaks the matching rule is denied, so the
// outcome never depends on how much a requester asked for.
func (p *Policy) decide(r *Rule, in *Input) drawbridge.Decision {
	if r.Decision == drawbridge.EffectDeny {
		return r.decision
	}
	if in.Duration > r.MaxDuration {
		return p.deny(r.Name, fmt.Sprintf("requested %s exceeds max_duration %s of rule %q", in.Duration, r.MaxDuration, r.Name))
	}
	if !in.ContinuousSince.IsZero() {
		end := in.Now.Add(in.Duration)
		if !in.ExtendsUntil.IsZero() {
			end = in.ExtendsUntil.Add(in.Duration)
		}
		if reason := r.CheckContinuous(in.ContinuousSince, end); reason != "" {
			return p.deny(r.Name, reason)
		}
	}
	if r.RequireReason && strings.TrimSpace(in.Reason) == "" {
		return p.deny(r.Name, fmt.Sprintf("rule %q requires a reason", r.Name))
	}
	if r.ticketRE != nil {
		if in.Ticket == "" {
			return p.deny(r.Name, fmt.Sprintf("rule %q requires a ticket matching %s", r.Name, r.TicketPattern))
		}
		if !r.ticketRE.MatchString(in.Ticket) {
			return p.deny(r.Name, fmt.Sprintf("ticket %q does not match %s required by rule %q", in.Ticket, r.TicketPattern, r.Name))
		}
	}
	return r.decision
}

func (p *Policy) deny(rule, reason string) drawbridge.Decision {
	return drawbridge.Decision{Effect: drawbridge.EffectDeny, Rule: rule, PolicySHA: p.sha, Reason: reason}
}

// MaxContinuousLimit is the longest max_continuous a rule may set: access
// held without a break for longer than a month is standing access, and
// the broker looks back this far to find where a window began.
const MaxContinuousLimit = 31 * 24 * time.Hour

// ContinuousLimit is the longest continuous window of access the rule
// gives: max_continuous, or max_duration when the rule does not set it.
func (r *Rule) ContinuousLimit() time.Duration {
	if r.MaxContinuous > 0 {
		return r.MaxContinuous
	}
	return r.MaxDuration
}

// CheckContinuous returns why access held without a break from since to
// end breaks the rule's continuous limit, or "" when it does not. The
// broker calls it at approval too, with the policy in force then.
func (r *Rule) CheckContinuous(since, end time.Time) string {
	w := end.Sub(since)
	if w <= r.ContinuousLimit() {
		return ""
	}
	key := "max_continuous"
	if r.MaxContinuous == 0 {
		key = "max_duration"
	}
	return fmt.Sprintf("continuous access from %s to %s would last %s, more than %s %s of rule %q (extensions and overlapping requests count towards it; ask for less, or for a new grant once the current one has ended)",
		since.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), w, key, r.ContinuousLimit(), r.Name)
}

// IsApprover reports whether p is one of the rule's approvers. It checks
// membership only: the broker, which knows the requester, refuses
// self-approval and counts distinct approvers.
func (r *Rule) IsApprover(p *drawbridge.Principal) bool {
	if p == nil || p.ID == "" {
		return false
	}
	if r.anyApprover {
		return true
	}
	if r.approverUsers.has(drawbridge.CanonicalPrincipalID(p.ID)) {
		return true
	}
	for _, g := range p.Groups {
		if r.approverGroups.has(g) {
			return true
		}
	}
	return false
}

// Requestable returns the rules under which who may get access (allow and
// require_approval rules whose requesters include them), in file order:
// what a channel shows someone who asked for something they may not have,
// so they learn the entitlements open to them. A rule's condition is not
// evaluated (it depends on the request), so a listed rule may still deny.
func (p *Policy) Requestable(who *drawbridge.Principal) []*Rule {
	var out []*Rule
	for _, r := range p.rules {
		if r.Decision != drawbridge.EffectDeny && who != nil && r.matchesRequester(who) {
			out = append(out, r)
		}
	}
	return out
}

// matchesRequester is allocation-free: the rule's users and groups are
// precomputed sets and the requester's groups are only read.
func (r *Rule) matchesRequester(who *drawbridge.Principal) bool {
	if r.anyRequester {
		return true
	}
	if r.users.len() > 0 && r.users.has(who.ID) {
		return true
	}
	if r.groups.len() > 0 {
		for _, g := range who.Groups {
			if r.groups.has(g) {
				return true
			}
		}
	}
	return false
}

// matchesIndirectResource checks the selectors the index cannot key on:
// "*", OUs and tags. Exact ids are answered by the index itself.
func (r *Rule) matchesIndirectResource(in *Input) bool {
	if r.anyResource {
		return true
	}
	for _, ou := range r.ous {
		for _, have := range in.OUs {
			if ou == have {
				return true
			}
		}
	}
	for _, t := range r.tags {
		if v, ok := in.Tags[t.key]; ok && v == t.value {
			return true
		}
	}
	return false
}

func (r *Rule) matchesResource(in *Input) bool {
	if _, ok := r.exact[in.Entitlement.Resource]; ok {
		return true
	}
	return r.matchesIndirectResource(in)
}

func (r *Rule) matchesRole(role string) bool {
	if r.anyRole {
		return true
	}
	_, ok := r.roles[role]
	return ok
}

// matches is the plain, unindexed definition of "the rule's match holds";
// the index must agree with it. An error means the condition failed to
// evaluate, and the rule then decides deny.
func (r *Rule) matches(in *Input, act *activation) (bool, error) {
	if r.Provider != in.Entitlement.Provider ||
		!r.matchesResource(in) ||
		!r.matchesRole(in.Entitlement.Role) ||
		!r.matchesRequester(in.Requester) {
		return false, nil
	}
	return r.condition(act)
}

// condition evaluates the rule's CEL condition, true when it has none.
// Conditions are type-checked as bool at Parse, so an error here is a
// runtime failure, which the caller turns into a deny.
func (r *Rule) condition(act *activation) (bool, error) {
	if r.prg == nil {
		return true, nil
	}
	out, _, err := r.prg.Eval(act)
	if err != nil {
		return false, err
	}
	b, isBool := out.Value().(bool)
	if !isBool {
		return false, fmt.Errorf("condition returned %v, not a bool", out.Value())
	}
	return b, nil
}

// scan is the unindexed evaluation: the reference the index is tested
// against, and the comparison the benchmarks report.
func (p *Policy) scan(in *Input) drawbridge.Decision {
	if reason := invalidInput(in); reason != "" {
		return p.deny("", reason)
	}
	act := activation{in: in}
	for _, r := range p.rules {
		ok, err := r.matches(in, &act)
		if err != nil {
			return p.conditionFailed(r, err)
		}
		if ok {
			return p.decide(r, in)
		}
	}
	return p.noMatch
}

func newPolicy(filename string, data []byte, rules []*Rule) *Policy {
	sum := sha256.Sum256(data)
	p := &Policy{
		filename: filename,
		sha:      hex.EncodeToString(sum[:]),
		rules:    rules,
		byName:   make(map[string]*Rule, len(rules)),
	}
	p.noMatch = p.deny("", "no matching rule")
	for i, r := range rules {
		r.pos = i
		p.byName[r.Name] = r
		r.decision = drawbridge.Decision{Effect: r.Decision, Rule: r.Name, PolicySHA: p.sha}
		switch r.Decision {
		case drawbridge.EffectAllow:
			r.decision.Reason = fmt.Sprintf("allowed by rule %q", r.Name)
		case drawbridge.EffectDeny:
			r.decision.Reason = fmt.Sprintf("denied by rule %q", r.Name)
		case drawbridge.EffectRequireApproval:
			r.decision.Reason = fmt.Sprintf("rule %q requires %d approval(s) from %s", r.Name, r.ApprovalCount, strings.Join(r.Approvers, ", "))
			r.decision.ApprovalsRequired = r.ApprovalCount
			r.decision.ApprovalTimeout = r.ApprovalTimeout
		}
	}
	p.idx = buildIndex(rules)
	return p
}

// stringSet is a set of strings that answers small sets by a linear scan
// (faster than hashing for the one or two groups a rule usually names) and
// large ones by a map. Neither allocates on lookup.
type stringSet struct {
	list []string
	m    map[string]struct{}
}

const stringSetMapThreshold = 8

func newStringSet(items []string) stringSet {
	if len(items) > stringSetMapThreshold {
		m := make(map[string]struct{}, len(items))
		for _, s := range items {
			m[s] = struct{}{}
		}
		return stringSet{m: m}
	}
	return stringSet{list: items}
}

func (s stringSet) has(x string) bool {
	if s.m != nil {
		_, ok := s.m[x]
		return ok
	}
	for _, y := range s.list {
		if x == y {
			return true
		}
	}
	return false
}

func (s stringSet) items() []string {
	if s.m == nil {
		return s.list
	}
	out := make([]string, 0, len(s.m))
	for x := range s.m {
		out = append(out, x)
	}
	return out
}

func (s stringSet) len() int {
	if s.m != nil {
		return len(s.m)
	}
	return len(s.list)
}
