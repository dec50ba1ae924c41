package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/duration"
	"github.com/drawbridge-jit/drawbridge/grammar"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
	"github.com/spf13/cobra"
)

// parseHours reads the hours argument users know ("0.5", "0.02" ≈ 72 s);
// the broker applies limits.min_duration.
func parseHours(s string) (time.Duration, error) {
	d, err := duration.ParseHours(s)
	if err != nil {
		return 0, usageError("%v", err)
	}
	return d, nil
}

func requestCmd(g *globals) *cobra.Command {
	var in struct {
		requester, account, resource, permSet, role, reason, ticket, duration, provider string
	}
	c := &cobra.Command{
		Use:   "request <requester> <resource> <role> <hours> [[ticket] <ticket-id>]",
		Short: "Ask for an entitlement for a bounded time (also with --flags)",
		Long: `request asks for one entitlement for a bounded time. The grammar is the one Slack and the
web form use (package grammar):

  [<requester>] <resource> <role> <hours> [[ticket] <ticket-id>] [--reason …]

<resource> is a 12-digit AWS account id, <provider>:<resource> (hooks:payroll-db) or a catalog
alias (staging); <hours> is a plain decimal (0.5, 0.02 = 72s). On the store (operator mode)
<requester> comes first, or --requester. In remote mode (--addr) the token says who asks, so
no requester is written; --requester names someone else, which only an admin token may.`,
		Example: `  drawbridge request U12345678 123456789012 ReadOnlyAccess 0.5
  drawbridge request alice@example.com 111122223333 AdministratorAccess 1 ticket INC-12345 --reason "incident"
  drawbridge request alice@example.com hooks:payroll-db reader 0.5
  drawbridge --addr https://drawbridge.example 111122223333 AdministratorAccess 0.5 INC-12345
  drawbridge request --requester alice@example.com --resource staging --role ReadOnlyAccess --duration 30m`,
		RunE: func(c *cobra.Command, args []string) error {
			var req grammar.Request
			var err error
			if len(args) > 0 {
				for _, f := range []string{"provider", "account", "resource", "permission-set", "role", "duration"} {
					if c.Flags().Changed(f) {
						return usageError("give the entitlement positionally or with flags, not both: drop --%s, or the positional arguments", f)
					}
				}
				if req, err = g.parseRequest(args, in.requester); err != nil {
					return err
				}
			} else if req, err = requestFlags(in.requester, in.provider, in.account, in.resource, in.permSet, in.role, in.duration); err != nil {
				return err
			}
			if in.ticket != "" {
				if req.Ticket != "" && req.Ticket != in.ticket {
					return usageError("the ticket is given twice (%s and --ticket %s): give it once", req.Ticket, in.ticket)
				}
				req.Ticket = in.ticket
			}
			req.Reason = in.reason
			if g.remote() {
				return g.remoteSubmit(c.Context(), req)
			}
			if req.Requester == "" {
				return usageError("who asks? on the store (operator mode) the requester comes first: %s, or --requester", grammar.UsageWithRequester)
			}
			a, err := g.openDeciding(c.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			r, err := a.broker.Submit(c.Context(), broker.SubmitInput{
				Requester: req.Requester, Entitlement: req.Entitlement(),
				Duration: req.Duration, Reason: req.Reason, Ticket: req.Ticket,
			}, operator())
			if err != nil {
				return err
			}
			return g.printResult(r)
		},
	}
	f := c.Flags()
	f.StringVar(&in.requester, "requester", "", "who asks (email or Slack user id); in remote mode someone other than the token's principal (admin tokens only)")
	f.StringVar(&in.resource, "resource", "", "the resource: an AWS account id, <provider>:<resource> or an alias")
	f.StringVar(&in.account, "account", "", "AWS account id (12 digits): --resource by its AWS name")
	f.StringVar(&in.role, "role", "", "the role (for AWS the permission set)")
	f.StringVar(&in.permSet, "permission-set", "", "permission set name: --role by its AWS name")
	f.StringVar(&in.duration, "duration", "", "how long, e.g. 30m, 2h, 1d12h")
	f.StringVar(&in.reason, "reason", "", "why you need it")
	f.StringVar(&in.ticket, "ticket", "", "ticket id, e.g. INC-12345")
	f.StringVar(&in.provider, "provider", "", "the configured provider (optional for an account id or an alias)")
	return c
}

// parseRequest reads positional request arguments in the grammar. On the
// store the requester comes first unless --requester gave it. In remote
// mode the token says who asks; a first argument written as a person (an
// email, a Slack id) is still read as the requester, so scripts written
// for the operator form keep working there (the server accepts someone
// other than the token's principal only from an admin token).
func (g *globals) parseRequest(args []string, requester string) (grammar.Request, error) {
	var req grammar.Request
	var err error
	switch {
	case requester != "":
		req, err = grammar.Parse(args)
		req.Requester = requester
	case !g.remote():
		req, err = grammar.ParseWithRequester(args)
	case grammar.LooksLikePerson(args[0]):
		if req, err = grammar.ParseWithRequester(args); err != nil {
			if alt, altErr := grammar.Parse(args); altErr == nil {
				req, err = alt, nil
			}
		}
	default:
		req, err = grammar.Parse(args)
	}
	if err != nil {
		return req, usageError("request arguments: %v", err)
	}
	return req, nil
}

// requestFlags reads the flag form of request. --account and
// --permission-set are AWS's names for --resource and --role.
func requestFlags(requester, provider, account, resource, permSet, role, dur string) (grammar.Request, error) {
	req := grammar.Request{Requester: requester}
	for _, f := range []struct{ name, v, alias, av string }{{"resource", resource, "account", account}, {"role", role, "permission-set", permSet}} {
		if f.v != "" && f.av != "" && f.v != f.av {
			return req, usageError("--%s and --%s disagree: give one (--%s is the AWS name for --%s)", f.alias, f.name, f.alias, f.name)
		}
	}
	resource, role = cmp.Or(resource, account), cmp.Or(role, permSet)
	if resource == "" || role == "" || dur == "" {
		return req, usageError("missing arguments: give %s, or --resource (or --account), --role (or --permission-set) and --duration", grammar.UsageWithRequester)
	}
	var err error
	if req.Provider, req.Resource, err = grammar.ParseResource(resource); err != nil {
		return req, usageError("--resource: %v", err)
	}
	if provider != "" {
		if req.Provider != "" && req.Provider != provider {
			return req, usageError("--provider %s and --resource %s name different providers: give one", provider, resource)
		}
		req.Provider = provider
	}
	req.Role = role
	if req.Duration, err = duration.Parse(dur); err != nil {
		return req, usageError("--duration: %v", err)
	}
	if req.Duration <= 0 {
		return req, usageError("--duration must be positive, got %s", dur)
	}
	return req, nil
}

// printResult prints a request after a lifecycle command and turns its
// outcome into the exit code: 3 when policy denied it (the request is
// recorded), 1 when the provider failed (see unfinished), else 0 — a
// pending request, and a reviewer's deny, are the command working.
func (g *globals) printResult(r *drawbridge.Request) error {
	if err := g.printRequest(r); err != nil {
		return err
	}
	// A DENIED request whose decision was "require approval" was denied
	// by a reviewer, which is what the deny command is for.
	if r.State == drawbridge.StateDenied && r.Decision.Effect != drawbridge.EffectRequireApproval {
		return &exitError{code: exitDenied, err: fmt.Errorf("request %s DENIED: %s", r.ID, deniedReason(r))}
	}
	if err := unfinished(r); err != nil {
		return &exitError{code: exitRuntime, err: err}
	}
	return nil
}

// unfinished says why r did not get where the command took it: FAILED, or
// waiting on a retry after the provider failed (APPROVED, PROVISIONING or
// REVOKING with an error). Such a request is not lost — the expiry engine
// retries it — but the command did not do its job, so scripts must see it.
func unfinished(r *drawbridge.Request) error {
	switch r.State {
	case drawbridge.StateFailed:
		return fmt.Errorf("request %s FAILED: %s", r.ID, r.LastError)
	case drawbridge.StateApproved, drawbridge.StateProvisioning, drawbridge.StateRevoking:
		if r.LastError != "" {
			return fmt.Errorf("request %s is %s: %s (retried automatically; see drawbridge status %s)", r.ID, r.State, r.LastError, r.ID)
		}
	}
	return nil
}

func deniedReason(r *drawbridge.Request) string {
	if r.EndReason != "" {
		return drawbridge.Printable(r.EndReason)
	}
	return drawbridge.Printable(r.Decision.Reason)
}

func (g *globals) printRequest(r *drawbridge.Request) error {
	if g.output == "json" {
		return writeJSON(g.stdout, r)
	}
	return writeStatus(g.stdout, r)
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// writeStatus prints one request as aligned "field: value" lines. Every
// value is rendered with drawbridge.Printable: the fields come from the
// people being reviewed (and from a store or server that may hold text
// from before input was checked), so a newline or an escape sequence is
// shown, never obeyed, and cannot forge a line on the approver's terminal.
func writeStatus(w io.Writer, r *drawbridge.Request) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", k, drawbridge.Printable(v))
	}
	row("id", r.ID)
	row("state", string(r.State))
	row("requester", r.Requester)
	// An AWS resource is an account (the line scripts know); the status
	// may come from a server, so the shape of the id decides, not config.
	kind := "resource"
	if accountID.MatchString(r.Resource) {
		kind = "account"
	}
	row("entitlement", fmt.Sprintf("%s %s %s, %s", r.Provider, kind, r.Resource, r.Role))
	row("duration", r.Duration.Round(time.Second).String()) // an extension's window is measured, not asked: no nanoseconds
	row("reason", r.Reason)
	row("ticket", r.Ticket)
	rule := r.Decision.Rule
	if rule != "" && len(r.Decision.PolicySHA) >= 12 {
		rule += " (policy " + r.Decision.PolicySHA[:12] + ")"
	}
	row("rule", rule)
	row("decision", r.Decision.Reason)
	if r.Extends != "" {
		row("extends", r.Extends)
	}
	var aps []string
	for _, a := range r.Approvals {
		verb := "approved"
		if !a.Approved {
			verb = "denied"
		}
		s := fmt.Sprintf("%s %s at %s", a.Approver, verb, fmtTime(a.At))
		if a.By != "" {
			s += " (recorded by " + a.By + ")"
		}
		aps = append(aps, s)
	}
	if r.State == drawbridge.StatePendingApproval {
		aps = append(aps, fmt.Sprintf("%d of %d needed, until %s", r.DistinctApprovers(), max(r.Decision.ApprovalsRequired, 1), fmtTime(r.ApprovalDeadline)))
	}
	row("approvals", strings.Join(aps, "; "))
	row("created", fmtTime(r.CreatedAt))
	row("activated", fmtTime(r.ActivatedAt))
	row("expires", fmtTime(r.ExpiresAt))
	row("ended", fmtTime(r.EndedAt))
	if r.EndReason != "" {
		row("end reason", r.EndReason)
	}
	if r.ProvisionAttempts > 0 {
		row("provision attempts", strconv.Itoa(r.ProvisionAttempts)+" failed")
	}
	if r.RevokeAttempts > 0 {
		row("revoke attempts", strconv.Itoa(r.RevokeAttempts)+" failed")
	}
	row("last error", r.LastError)
	return tw.Flush()
}

func statusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status <request-id>",
		Short: "Show one request",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if g.remote() {
				return g.remoteStatus(c.Context(), args[0])
			}
			a, err := g.open(c.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			r, err := a.broker.Get(c.Context(), args[0])
			if err != nil {
				return err
			}
			return g.printRequest(r)
		},
	}
}

func listCmd(g *globals) *cobra.Command {
	var state, requester, provider, resource, account, role, permSet string
	var limit int
	c := &cobra.Command{
		Use:   "list [--state S] [--requester P] [--provider N] [--resource R] [--role R]",
		Short: "List requests, newest first",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			for _, p := range []struct{ name, v, alias, av string }{{"resource", resource, "account", account}, {"role", role, "permission-set", permSet}} {
				if p.v != "" && p.av != "" && p.v != p.av {
					return usageError("--%s and --%s disagree: give one (--%s is the AWS name for --%s)", p.alias, p.name, p.alias, p.name)
				}
			}
			f := drawbridge.RequestFilter{Requester: requester, Provider: provider, Resource: cmp.Or(resource, account), Role: cmp.Or(role, permSet), Limit: limit}
			if state != "" {
				for _, s := range strings.Split(state, ",") {
					st, err := drawbridge.ParseState(strings.ToUpper(strings.TrimSpace(s)))
					if err != nil {
						return usageError("--state: %s", drawbridge.ErrorMessage(err))
					}
					f.States = append(f.States, st)
				}
			}
			if limit < 1 || limit > 1000 {
				return usageError("--limit must be between 1 and 1000")
			}
			if g.remote() {
				return g.remoteList(c.Context(), f, requester)
			}
			a, err := g.open(c.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			if requester != "" {
				p, err := a.broker.Directory.Resolve(c.Context(), requester)
				if err != nil {
					return err
				}
				f.Requester = p.ID
			}
			rs, err := a.broker.List(c.Context(), f)
			if err != nil {
				return err
			}
			return g.printList(rs)
		},
	}
	c.Flags().StringVar(&state, "state", "", "only these states (comma-separated), e.g. ACTIVE,REVOKING")
	c.Flags().StringVar(&requester, "requester", "", "only this requester (email or Slack id)")
	c.Flags().StringVar(&provider, "provider", "", "only this configured provider")
	c.Flags().StringVar(&resource, "resource", "", "only this resource (its name in the provider's catalog: an account id, not an alias)")
	c.Flags().StringVar(&account, "account", "", "only this account id (--resource by its AWS name)")
	c.Flags().StringVar(&role, "role", "", "only this role")
	c.Flags().StringVar(&permSet, "permission-set", "", "only this permission set (--role by its AWS name)")
	c.Flags().IntVar(&limit, "limit", 100, "at most this many")
	return c
}

func (g *globals) printList(rs []*drawbridge.Request) error {
	if g.output == "json" {
		if rs == nil {
			rs = []*drawbridge.Request{}
		}
		return writeJSON(g.stdout, rs)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tREQUESTER\tACCOUNT\tPERMISSION SET\tCREATED\tEXPIRES")
	for _, r := range rs {
		cells := []string{r.ID, string(r.State), r.Requester, r.Resource, r.Role, fmtTime(r.CreatedAt), fmtTime(r.ExpiresAt)}
		for i, c := range cells {
			cells[i] = drawbridge.Printable(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func approveCmd(g *globals, approve bool) *cobra.Command {
	var reason string
	name, short := "approve", "Approve a pending request as <approver>"
	if !approve {
		name, short = "deny", "Deny a pending request as <approver>"
	}
	c := &cobra.Command{
		Use:   name + " <request-id> <approver>",
		Short: short,
		Args:  exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if g.remote() {
				return g.remoteAction(c.Context(), args[0], name, dbhttp.ReviewRequest{Approver: args[1], Comment: reason})
			}
			return g.withBroker(c.Context(), true, func(b *broker.Broker) (*drawbridge.Request, error) {
				if approve {
					return b.Approve(c.Context(), args[0], args[1], reason, operator())
				}
				return b.Deny(c.Context(), args[0], args[1], reason, operator())
			})
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "comment recorded with the review")
	return c
}

// withBroker opens the app (with the policy when the call decides), runs
// one lifecycle call and prints its result.
func (g *globals) withBroker(ctx context.Context, decides bool, fn func(*broker.Broker) (*drawbridge.Request, error)) error {
	a, err := g.openApp(ctx, decides)
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := fn(a.broker)
	if err != nil {
		return err
	}
	return g.printResult(r)
}

// operatorAs is the operator acting under its own name (cancel and revoke
// name no person on the command line).
func operatorAs() drawbridge.Caller {
	a := operator()
	a.Principal = "operator:" + a.OSUser
	return a
}

func cancelCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel <request-id>",
		Short: "Withdraw a pending request",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if g.remote() {
				return g.remoteAction(c.Context(), args[0], "cancel", nil)
			}
			return g.withBroker(c.Context(), false, func(b *broker.Broker) (*drawbridge.Request, error) {
				return b.Cancel(c.Context(), args[0], operatorAs())
			})
		},
	}
}

func revokeCmd(g *globals) *cobra.Command {
	var reason string
	var scope struct{ principal, provider, resource, account, role string }
	var all bool
	c := &cobra.Command{
		Use:   "revoke <request-id> [--reason R] | revoke --all [--principal P] [--provider N] [--resource R] [--role R]",
		Short: "End an active grant now (the provider confirms the removal); --all for an emergency",
		Args: func(c *cobra.Command, args []string) error {
			scoped := scope != struct{ principal, provider, resource, account, role string }{}
			if all {
				if len(args) != 0 {
					return usageError("revoke --all takes no request id: scope it with --principal, --provider, --resource and/or --role")
				}
				if !scoped {
					return usageError("revoke --all needs a scope: --principal P, --provider N, --resource R (or --account A) and/or --role R (revoking every grant everywhere is not offered)")
				}
				return nil
			}
			if scoped {
				return usageError("--principal, --provider, --resource, --account and --role only go with --all")
			}
			return exactArgs(1)(c, args)
		},
		RunE: func(c *cobra.Command, args []string) error {
			if all {
				if g.remote() {
					return usageError("revoke --all is an operator command: run it without --addr, on the store")
				}
				if scope.resource != "" && scope.account != "" && scope.resource != scope.account {
					return usageError("--account and --resource disagree: give one (--account is the AWS name for --resource)")
				}
				rs := broker.RevokeScope{Requester: scope.principal, Provider: scope.provider, Role: scope.role}
				if res := cmp.Or(scope.resource, scope.account); res != "" {
					p, r, err := grammar.ParseResource(res)
					if err != nil {
						return usageError("--resource: %v", err)
					}
					if p != "" && rs.Provider != "" && p != rs.Provider {
						return usageError("--provider %s and --resource %s name different providers: give one", rs.Provider, res)
					}
					rs.Provider, rs.Resource = cmp.Or(p, rs.Provider), r
				}
				return g.revokeAll(c, rs, reason)
			}
			if g.remote() {
				return g.remoteAction(c.Context(), args[0], "revoke", dbhttp.RevokeRequest{Reason: reason})
			}
			return g.withBroker(c.Context(), false, func(b *broker.Broker) (*drawbridge.Request, error) {
				return b.Revoke(c.Context(), args[0], reason, operatorAs())
			})
		},
	}
	f := c.Flags()
	f.StringVar(&reason, "reason", "", "why (recorded in the audit trail)")
	f.BoolVar(&all, "all", false, "revoke every ACTIVE grant in scope (emergency)")
	f.StringVar(&scope.principal, "principal", "", "with --all: only this person's grants")
	f.StringVar(&scope.provider, "provider", "", "with --all: only grants of this configured provider")
	f.StringVar(&scope.resource, "resource", "", "with --all: only grants on this resource (account id, <provider>:<resource> or alias)")
	f.StringVar(&scope.account, "account", "", "with --all: only grants on this AWS account (--resource by its AWS name)")
	f.StringVar(&scope.role, "role", "", "with --all: only grants of this role (permission set)")
	return c
}

func extendCmd(g *globals) *cobra.Command {
	var reason, ticket string
	c := &cobra.Command{
		Use:   "extend <request-id> <hours>",
		Short: "Ask for more time on an active grant (a linked request, decided by policy)",
		Args:  exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			d, err := parseHours(args[1])
			if err != nil {
				return err
			}
			if g.remote() {
				return g.remoteAction(c.Context(), args[0], "extend", dbhttp.ExtendRequest{Duration: duration.Format(d), Reason: reason, Ticket: ticket})
			}
			return g.withBroker(c.Context(), true, func(b *broker.Broker) (*drawbridge.Request, error) {
				return b.Extend(c.Context(), args[0], d, reason, ticket, operator())
			})
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why (defaults to the original reason)")
	c.Flags().StringVar(&ticket, "ticket", "", "ticket id (defaults to the original ticket)")
	return c
}
