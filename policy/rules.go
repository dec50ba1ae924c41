package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
)

var (
	topKeys      = []string{"version", "rules"}
	ruleKeys     = []string{"name", "description", "match", "require", "approval", "max_duration", "max_continuous", "decision"}
	matchKeys    = []string{"provider", "resources", "accounts", "roles", "permission_sets", "requesters", "condition"}
	requireKeys  = []string{"ticket", "reason"}
	approvalKeys = []string{"approvers", "count", "timeout", "slack_channel", "in_slack", "remind_after", "escalate_to"}
)

// Defaults for the approval block, chosen so that the smallest useful
// require_approval rule (approvers only) means one person within an hour.
const (
	DefaultApprovalCount   = 1
	DefaultApprovalTimeout = time.Hour
)

var (
	ruleNameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	providerRE   = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	awsAccountRE = regexp.MustCompile(`^[0-9]{12}$`)
)

const versionExample = "`version: 1`"

// Parse validates and compiles a policy file. filename is used only in
// messages. Every problem is reported, as a *ValidationError, and nothing
// partial is returned: a policy either loads whole or not at all.
func Parse(filename string, data []byte) (*Policy, error) {
	ps := &parser{file: filename}
	root := ps.document(data, versionExample)
	if root == nil {
		return nil, ps.err()
	}
	var rules []*Rule
	seen := ps.mapping(root, "the policy file", topKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "version":
			if n, ok := ps.integer(v, "version"); ok && n != 1 {
				ps.errf(v, "unsupported version %d; this Drawbridge reads version: 1", n)
			}
		case "rules":
			rules = ps.rules(v)
		}
	})
	if seen["version"] == nil {
		ps.errf(root, "missing version; add %s at the top of the file", versionExample)
	}
	if seen["rules"] == nil {
		ps.errf(root, "missing rules; add a rules: list (no rules would deny everything, which is never what a policy file is for)")
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return newPolicy(filename, data, rules), nil
}

func (ps *parser) rules(n *yaml.Node) []*Rule {
	if n.Kind != yaml.SequenceNode {
		ps.errf(n, "rules must be a list of rules (each item starts with `- name: ...`), not a %s", kindName(n))
		return nil
	}
	if len(n.Content) == 0 {
		ps.errf(n, "rules is empty; add at least one rule (an empty policy would deny everything)")
		return nil
	}
	var out []*Rule
	names := map[string]int{}
	for i, rn := range n.Content {
		r := ps.rule(rn, i+1)
		if r == nil {
			continue
		}
		if r.Name != "" {
			if first, dup := names[r.Name]; dup {
				ps.errf(rn, "duplicate rule name %q (first at line %d); rule names must be unique because decisions record them", r.Name, first)
			} else {
				names[r.Name] = rn.Line
			}
		}
		out = append(out, r)
	}
	return out
}

// rule parses one rule; n is its 1-based position, used to name rules that
// have no name.
func (ps *parser) rule(rn *yaml.Node, n int) *Rule {
	r := &Rule{Line: rn.Line}
	what := fmt.Sprintf("rule #%d", n)
	// Name the rule in every message about it, including those about keys
	// that come before its name.
	if rn.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(rn.Content); i += 2 {
			if k, v := rn.Content[i], rn.Content[i+1]; k.Value == "name" && v.Kind == yaml.ScalarNode && ruleNameRE.MatchString(v.Value) {
				what = fmt.Sprintf("rule %q", v.Value)
			}
		}
	}
	var matchNode, requireNode, approvalNode, maxNode, continuousNode, decisionNode *yaml.Node
	seen := ps.mapping(rn, what, ruleKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			if s, ok := ps.str(v, "name"); ok {
				if !ruleNameRE.MatchString(s) {
					ps.errf(v, "rule name %q may use only letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. prod-admin)", s)
				} else {
					r.Name = s
				}
			}
		case "description":
			r.Description, _ = ps.str(v, "description")
		case "match":
			matchNode = v
		case "require":
			requireNode = v
		case "approval":
			approvalNode = v
		case "max_duration":
			maxNode = v
			if d, ok := ps.duration(v, "max_duration"); ok {
				if d > duration.HardMax {
					// Every grant is capped anyway; a rule that seems to
					// allow more misleads whoever reviews it.
					ps.errf(v, "max_duration %s is above Drawbridge's hard limit of %gh (%s) for one grant; write at most %gh", v.Value, duration.HardMax.Hours(), duration.Format(duration.HardMax), duration.HardMax.Hours())
				}
				r.MaxDuration = d
			}
		case "max_continuous":
			continuousNode = v
			r.MaxContinuous, _ = ps.duration(v, "max_continuous")
		case "decision":
			decisionNode = v
			if s, ok := ps.str(v, "decision"); ok {
				switch e := drawbridge.Effect(s); e {
				case drawbridge.EffectAllow, drawbridge.EffectRequireApproval, drawbridge.EffectDeny:
					r.Decision = e
				default:
					ps.errf(v, "unknown decision %q (valid: allow, require_approval, deny)", s)
				}
			}
		}
	})
	if rn.Kind != yaml.MappingNode {
		return nil
	}
	if seen["name"] == nil {
		ps.errf(rn, "%s has no name; add `name: <unique-name>` (decisions and audit records name the rule)", what)
	}
	if matchNode != nil {
		ps.match(matchNode, what, r)
	} else {
		ps.errf(rn, "%s has no match; add match: with provider, accounts, permission_sets and requesters", what)
	}
	if decisionNode == nil {
		ps.errf(rn, "%s has no decision; add `decision: allow`, `require_approval` or `deny`", what)
	}
	if requireNode != nil {
		ps.require(requireNode, what, r)
	}
	if approvalNode != nil {
		ps.approval(approvalNode, what, r)
	}

	switch r.Decision {
	case drawbridge.EffectDeny:
		if maxNode != nil {
			ps.errf(seen["max_duration"], "%s denies, so max_duration has no effect; remove it", what)
		}
		if continuousNode != nil {
			ps.errf(seen["max_continuous"], "%s denies, so max_continuous has no effect; remove it", what)
		}
		if requireNode != nil {
			ps.errf(seen["require"], "%s denies, so require has no effect; remove it", what)
		}
		if approvalNode != nil {
			ps.errf(seen["approval"], "%s denies, so approval has no effect; remove it (approval belongs to decision: require_approval)", what)
		}
	case drawbridge.EffectAllow, drawbridge.EffectRequireApproval:
		if maxNode == nil {
			ps.errf(rn, "%s has no max_duration; add e.g. `max_duration: 2h` (every grant must be bounded)", what)
		}
		switch {
		case r.MaxContinuous == 0 || r.MaxDuration == 0:
		case r.MaxContinuous < r.MaxDuration:
			ps.errf(continuousNode, "%s: max_continuous %s is shorter than max_duration %s, so a grant of max_duration could never be given; raise max_continuous or remove it (it defaults to max_duration)", what, r.MaxContinuous, r.MaxDuration)
		case r.MaxContinuous > MaxContinuousLimit:
			ps.errf(continuousNode, "%s: max_continuous %s is longer than Drawbridge's limit of %s; access held continuously that long is standing access, grant it outside Drawbridge", what, r.MaxContinuous, MaxContinuousLimit)
		}
		if r.Decision == drawbridge.EffectAllow && approvalNode != nil {
			ps.errf(seen["approval"], "%s allows without approval, so approval has no effect; use `decision: require_approval` or remove approval", what)
		}
		if r.Decision == drawbridge.EffectRequireApproval && approvalNode == nil {
			ps.errf(decisionNode, "%s requires approval but has no approval block; add e.g. `approval: {approvers: [\"group:sre-leads\"], count: 1, timeout: 4h}`", what)
		}
	}
	return r
}

func (ps *parser) match(n *yaml.Node, what string, r *Rule) {
	var resNode, roleNode *yaml.Node
	var resKey, roleKey string
	var provider string
	seen := ps.mapping(n, what+" match", matchKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "provider":
			if s, ok := ps.str(v, "provider"); ok {
				if !providerRE.MatchString(s) {
					ps.errf(v, "provider %q must be a lower-case provider name such as aws, entra or boundary", s)
				} else {
					provider = s
				}
			}
		case "resources", "accounts":
			if resNode != nil {
				ps.errf(k, "%s and %s are the same list (accounts is the AWS name for resources); keep one", resKey, key)
				return
			}
			resNode, resKey = v, key
		case "roles", "permission_sets":
			if roleNode != nil {
				ps.errf(k, "%s and %s are the same list (permission_sets is the AWS name for roles); keep one", roleKey, key)
				return
			}
			roleNode, roleKey = v, key
		case "requesters":
			ps.requesters(v, r)
		case "condition":
			ps.condition(v, r)
		}
	})
	if n.Kind != yaml.MappingNode {
		return
	}
	r.Provider = provider
	if seen["provider"] == nil {
		ps.errf(n, "%s match has no provider; add e.g. `provider: aws`", what)
	}
	if resNode != nil {
		ps.resources(resNode, resKey, provider, r)
	} else {
		ps.errf(n, "%s match has no accounts (or resources); list them, or write accounts: [\"*\"] for every account (an omitted list never means all)", what)
	}
	if roleNode != nil {
		ps.roles(roleNode, roleKey, r)
	} else {
		ps.errf(n, "%s match has no permission_sets (or roles); list them, or write permission_sets: [\"*\"] for all (an omitted list never means all)", what)
	}
	if seen["requesters"] == nil {
		ps.errf(n, "%s match has no requesters; list who may ask, e.g. requesters: [\"group:engineers\"], or [\"*\"] for everyone (an omitted list never means everyone)", what)
	}
}

func (ps *parser) resources(n *yaml.Node, key, provider string, r *Rule) {
	list, nodes, _ := ps.strList(n, key, `["123456789012", "ou:ou-prod-1234", "tag:env=staging"] or ["*"]`)
	r.Resources = list
	r.exact = map[string]struct{}{}
	for i, s := range list {
		v := nodes[i]
		switch {
		case s == "*":
			r.anyResource = true
		case strings.HasPrefix(s, "ou:"):
			id := strings.TrimPrefix(s, "ou:")
			if !cleanName(id) {
				ps.errf(v, "OU selector %q needs an OU id without spaces, e.g. \"ou:ou-prod-1234\"", s)
				continue
			}
			r.ous = append(r.ous, id)
		case strings.HasPrefix(s, "tag:"):
			kv := strings.TrimPrefix(s, "tag:")
			k, val, found := strings.Cut(kv, "=")
			if !found || k == "" || !cleanGroup(k) || strings.ContainsFunc(val, isControl) {
				ps.errf(v, "tag selector %q needs key=value, e.g. \"tag:env=staging\"", s)
				continue
			}
			r.tags = append(r.tags, tagSelector{key: k, value: val})
		default:
			if provider == "aws" && !awsAccountRE.MatchString(s) {
				ps.errf(v, "account id %q must be 12 digits (quote it to keep leading zeros), or \"*\", \"ou:<ou-id>\" or \"tag:<key>=<value>\"", s)
				continue
			}
			if !cleanName(s) {
				ps.errf(v, "resource %q must be an id without spaces, or \"*\", \"ou:<ou-id>\" or \"tag:<key>=<value>\"", s)
				continue
			}
			r.exact[s] = struct{}{}
		}
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func (ps *parser) roles(n *yaml.Node, key string, r *Rule) {
	list, nodes, _ := ps.strList(n, key, `[ReadOnlyAccess] or ["*"]`)
	r.Roles = list
	r.roles = map[string]struct{}{}
	for i, s := range list {
		switch {
		case s == "*":
			r.anyRole = true
		case !cleanName(s):
			ps.errf(nodes[i], "%s entry %q must be a name without spaces, e.g. ReadOnlyAccess", key, s)
		default:
			r.roles[s] = struct{}{}
		}
	}
}

// principalRefs parses "group:x", "user:email" and "*" lists, shared by
// requesters and approvers.
func (ps *parser) principalRefs(n *yaml.Node, key string) (list []string, anyone bool, users, groups []string) {
	list, nodes, _ := ps.strList(n, key, `["group:engineers", "user:alice@example.com"] or ["*"]`)
	for i, s := range list {
		v := nodes[i]
		switch {
		case s == "*":
			anyone = true
		case strings.HasPrefix(s, "group:"):
			g := strings.TrimPrefix(s, "group:")
			if !cleanGroup(g) {
				ps.errf(v, "%s entry %q needs a group name, e.g. \"group:engineers\"", key, s)
				continue
			}
			groups = append(groups, g)
		case strings.HasPrefix(s, "user:"):
			u := strings.TrimPrefix(s, "user:")
			if !strings.Contains(u, "@") || !cleanName(u) {
				ps.errf(v, "%s entry %q needs an email, e.g. \"user:alice@example.com\"", key, s)
				continue
			}
			if u = drawbridge.CanonicalPrincipalID(u); !slices.Contains(users, u) {
				users = append(users, u)
			}
		default:
			hint := ""
			if strings.Contains(s, "@") && !strings.Contains(s, ":") {
				hint = fmt.Sprintf("did you mean \"user:%s\"? ", s)
			} else if !strings.ContainsAny(s, ":@") {
				hint = fmt.Sprintf("did you mean \"group:%s\"? ", s)
			}
			ps.errf(v, "unknown %s entry %q (%svalid forms: \"group:<name>\", \"user:<email>\", \"*\")", key, s, hint)
		}
	}
	return list, anyone, users, groups
}

func (ps *parser) requesters(n *yaml.Node, r *Rule) {
	list, anyone, users, groups := ps.principalRefs(n, "requesters")
	r.Requesters, r.anyRequester = list, anyone
	r.users, r.groups = newStringSet(users), newStringSet(groups)
}

func (ps *parser) condition(n *yaml.Node, r *Rule) {
	expr, ok := ps.str(n, "condition")
	if !ok {
		return
	}
	if strings.TrimSpace(expr) == "" {
		ps.errf(n, "condition is empty; remove it or write a CEL expression such as 'request.duration <= duration(\"2h\")'")
		return
	}
	prg, issues := compileCondition(expr)
	for _, is := range issues {
		line, col := n.Line, n.Column
		// For a condition on one line, point at the offending character:
		// the scalar's column, plus one for an opening quote, plus CEL's
		// 0-based column. Block scalars start on the next line.
		switch {
		case is.line == 0:
		case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
			line = n.Line + is.line
			col = 1
		case is.line == 1 && !strings.Contains(expr, "\n"):
			if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
				col++
			}
			col += is.col
		}
		ps.errAt(line, col, "condition: %s (CEL variables: %s)", is.msg, celVariables())
	}
	r.Condition, r.prg = expr, prg
}

func (ps *parser) require(n *yaml.Node, what string, r *Rule) {
	ps.mapping(n, what+" require", requireKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "reason":
			r.RequireReason, _ = ps.boolean(v, "require.reason")
		case "ticket":
			s, ok := ps.str(v, "require.ticket")
			if !ok {
				return
			}
			if s == "" {
				ps.errf(v, "require.ticket is empty; give the pattern a ticket must match, e.g. '^(INC|CHG)-[0-9]+$', or remove it")
				return
			}
			// The pattern must match the whole ticket: an unanchored
			// "INC-[0-9]+" would otherwise accept "see INC-1, or not".
			re, err := regexp.Compile(`^(?:` + s + `)$`)
			if err != nil {
				ps.errf(v, "require.ticket %q is not a valid regular expression: %v", s, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
				return
			}
			r.TicketPattern, r.ticketRE = s, re
		}
	})
}

// slackChannelID is a Slack channel id: public (C…) or private (G…).
// Names (#sre) change and are not unique across a grid, ids are neither.
var slackChannelID = regexp.MustCompile(`^[CG][A-Z0-9]{2,20}$`)

func (ps *parser) approval(n *yaml.Node, what string, r *Rule) {
	r.ApprovalCount, r.ApprovalTimeout, r.ApprovalInSlack = DefaultApprovalCount, DefaultApprovalTimeout, true
	var users []string
	var countNode, remindNode, escalateNode *yaml.Node
	seen := ps.mapping(n, what+" approval", approvalKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "approvers":
			var groups []string
			r.Approvers, r.anyApprover, users, groups = ps.principalRefs(v, "approvers")
			r.approverUsers, r.approverGroups = newStringSet(users), newStringSet(groups)
		case "count":
			countNode = v
			if c, ok := ps.integer(v, "approval.count"); ok {
				if c < 1 {
					ps.errf(v, "approval.count must be at least 1, not %d (use decision: allow for no approval)", c)
				} else {
					r.ApprovalCount = c
				}
			}
		case "timeout":
			if d, ok := ps.duration(v, "approval.timeout"); ok {
				r.ApprovalTimeout = d
			}
		case "slack_channel":
			if s, ok := ps.str(v, "approval.slack_channel"); ok {
				if !slackChannelID.MatchString(s) {
					ps.errf(v, "approval.slack_channel %q: give the channel's id (C…, channel details → About), not its name; invite the Drawbridge app there", s)
				} else {
					r.SlackChannel = s
				}
			}
		case "in_slack":
			if b, ok := ps.boolean(v, "approval.in_slack"); ok {
				r.ApprovalInSlack = b
			}
		case "remind_after":
			remindNode = v
			r.RemindAfter, _ = ps.duration(v, "approval.remind_after")
		case "escalate_to":
			escalateNode = v
			if s, ok := ps.str(v, "approval.escalate_to"); ok {
				r.EscalateTo = ps.escalation(v, s)
			}
		}
	})
	if n.Kind != yaml.MappingNode {
		return
	}
	switch {
	case r.RemindAfter > 0 && r.RemindAfter >= r.ApprovalTimeout:
		ps.errf(remindNode, "approval.remind_after %s is not shorter than approval.timeout %s, so no reminder would ever be sent; lower it or remove it",
			duration.Format(r.RemindAfter), duration.Format(r.ApprovalTimeout))
	case escalateNode != nil && remindNode == nil:
		ps.errf(escalateNode, "approval.escalate_to needs approval.remind_after: the escalation goes out when the request has waited twice remind_after (add e.g. remind_after: 30m)")
	case r.EscalateTo != "" && 2*r.RemindAfter >= r.ApprovalTimeout:
		ps.errf(escalateNode, "approval.escalate_to: the escalation would go out after %s (twice remind_after), not before approval.timeout %s; lower remind_after",
			duration.Format(2*r.RemindAfter), duration.Format(r.ApprovalTimeout))
	}
	if seen["approvers"] == nil {
		ps.errf(n, "%s approval has no approvers; add e.g. approvers: [\"group:sre-leads\"]", what)
		return
	}
	if !r.anyApprover && r.approverGroups.len() == 0 && len(users) > 0 && r.ApprovalCount > len(users) {
		ps.errf(countNode, "approval.count is %d but only %d approver(s) are listed, so no request could ever be approved; lower count or add approvers", r.ApprovalCount, len(users))
	}
}

// escalation reads approval.escalate_to: a channel id, or one person
// ("user:<email>") who is sent the approval message directly.
func (ps *parser) escalation(v *yaml.Node, s string) string {
	if slackChannelID.MatchString(s) {
		return s
	}
	if u, ok := strings.CutPrefix(s, "user:"); ok && strings.Contains(u, "@") && cleanName(u) {
		return "user:" + drawbridge.CanonicalPrincipalID(u)
	}
	ps.errf(v, "approval.escalate_to %q: give a channel id (C…, channel details → About) or \"user:<email>\" of the person to escalate to (for a group, give the channel where it works: Drawbridge cannot list a group's members)", s)
	return ""
}
