package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
	"github.com/spf13/cobra"
)

func tokenCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens (operator commands on the local store)",
	}
	var principal, description, expires string
	var roles, providers, resources, entRoles, accounts, sets []string
	create := &cobra.Command{
		Use:   "create --principal EMAIL --role ROLE [--providers …] [--resources …] [--entitlement-roles …] [--expires 90d]",
		Short: "Create a token; its secret is printed once and only its hash is stored",
		Long: `Roles: requester (own requests), approver (requester + review pending requests),
auditor (read-only: GET /v1 and /api), admin (everything, also on behalf of others).
The scope limits which requests the token sees and acts on, inside every query:
--providers (configured provider names, e.g. aws, hooks), --resources and
--entitlement-roles; for AWS, --accounts and --permission-sets are the same as
--resources and --entitlement-roles. A request is in scope when every list given
contains its value. Auditor and approver tokens need --providers, or --resources
and --entitlement-roles. "*" means all and is refused unless
api.allow_wildcard_scopes is true. Admin tokens take no scope.`,
		Example: `  drawbridge token create --principal alice@example.com --role requester
  drawbridge token create --principal audit@example.com --role auditor --accounts 111122223333 --permission-sets AdministratorAccess,PowerUserAccess --expires 30d
  drawbridge token create --principal payroll-audit@example.com --role auditor --providers hooks --expires 30d`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if principal == "" || len(roles) == 0 {
				return usageError("token create needs --principal and --role")
			}
			if err := drawbridge.CheckEmail(strings.TrimSpace(principal)); err != nil {
				return usageError("--principal: %v", err)
			}
			if len(resources) > 0 && len(accounts) > 0 {
				return usageError("give --resources or its AWS name --accounts, not both")
			}
			if len(entRoles) > 0 && len(sets) > 0 {
				return usageError("give --entitlement-roles or its AWS name --permission-sets, not both")
			}
			t := &drawbridge.Token{ID: drawbridge.NewTokenID(), Principal: drawbridge.CanonicalPrincipalID(principal),
				Scope:       drawbridge.Scope{Providers: providers, Resources: append(resources, accounts...), Roles: append(entRoles, sets...)},
				Description: description, CreatedAt: time.Now().UTC()}
			for _, r := range roles {
				role, err := drawbridge.ParseRole(r)
				if err != nil {
					return usageError("--role: %s", drawbridge.ErrorMessage(err))
				}
				t.Roles = append(t.Roles, role)
			}
			if expires != "" && expires != "never" {
				d, err := duration.Parse(expires)
				if err != nil || d <= 0 {
					return usageError("--expires %q: give a positive duration such as 90d or 12h, or never", expires)
				}
				t.ExpiresAt = t.CreatedAt.Add(d)
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if err := t.Validate(cfg.API.AllowWildcardScopes); err != nil {
				return usageError("%s", drawbridge.ErrorMessage(err))
			}
			for _, p := range providers {
				if _, ok := cfg.Providers[p]; !ok && p != drawbridge.Wildcard {
					return usageError("--providers: %q is not a configured provider (configured: %s)", p, strings.Join(slices.Sorted(maps.Keys(cfg.Providers)), ", "))
				}
			}
			db, err := openStore(c.Context(), cfg, g.warn)
			if err != nil {
				return err
			}
			defer db.Close()
			secret := drawbridge.NewTokenSecret()
			t.Hash = drawbridge.HashTokenSecret(secret)
			if err := db.CreateToken(c.Context(), t); err != nil {
				return err
			}
			if g.output == "json" {
				// The token's own JSON (with the AWS aliases of its
				// scope) plus the secret, shown this once.
				b, err := json.Marshal(t)
				if err != nil {
					return err
				}
				var out map[string]any
				if err := json.Unmarshal(b, &out); err != nil {
					return err
				}
				out["secret"] = secret
				return writeJSON(g.stdout, out)
			}
			fmt.Fprintf(g.stdout, "token %s for %s (%s), expires %s\n", t.ID, t.Principal, joinRoleNames(t.Roles), fmtTime(t.ExpiresAt))
			fmt.Fprintf(g.stdout, "secret (shown once, only its hash is stored):\n%s\n", secret)
			return nil
		},
	}
	create.Flags().StringVar(&principal, "principal", "", "the person the token acts as (email)")
	create.Flags().StringSliceVar(&roles, "role", nil, "requester, approver, auditor or admin (repeat or comma-separate)")
	create.Flags().StringSliceVar(&providers, "providers", nil, "configured providers the token may see, e.g. aws,hooks (comma-separated, or *)")
	create.Flags().StringSliceVar(&resources, "resources", nil, "resources the token may see (comma-separated, or *); for AWS, account ids")
	create.Flags().StringSliceVar(&entRoles, "entitlement-roles", nil, "roles of entitlements the token may see (comma-separated, or *); for AWS, permission sets")
	create.Flags().StringSliceVar(&accounts, "accounts", nil, "AWS name of --resources: account ids the token may see (comma-separated, or *)")
	create.Flags().StringSliceVar(&sets, "permission-sets", nil, "AWS name of --entitlement-roles: permission sets the token may see (comma-separated, or *)")
	create.Flags().StringVar(&expires, "expires", "90d", "lifetime, e.g. 90d, 12h, or never")
	create.Flags().StringVar(&description, "description", "", "what the token is for")

	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			db, err := openStore(c.Context(), cfg, g.warn)
			if err != nil {
				return err
			}
			defer db.Close()
			ts, err := db.ListTokens(c.Context())
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g.stdout, ts)
			}
			now := time.Now()
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPRINCIPAL\tROLES\tACCOUNTS\tPERMISSION SETS\tEXPIRES\tSTATUS\tPROVIDERS")
			for _, t := range ts {
				status := "active"
				switch {
				case !t.RevokedAt.IsZero():
					status = "revoked " + fmtTime(t.RevokedAt)
				case !t.Active(now):
					status = "expired"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Principal, joinRoleNames(t.Roles),
					orAll(t.Scope.Resources), orAll(t.Scope.Roles), fmtTime(t.ExpiresAt), status, orAll(t.Scope.Providers))
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke <token-id>",
		Short: "Revoke a token: it is refused (401) from now on",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if !strings.HasPrefix(args[0], drawbridge.TokenIDPrefix) {
				return usageError("%q is not a token id (they look like tok_0193…; see drawbridge token list)", args[0])
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			db, err := openStore(c.Context(), cfg, g.warn)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.RevokeToken(c.Context(), args[0], time.Now().UTC()); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "token %s revoked\n", args[0])
			return nil
		},
	}
	c.AddCommand(create, list, revoke)
	return c
}

func joinRoleNames(rs []drawbridge.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func orAll(xs []string) string {
	if len(xs) == 0 {
		return "(unscoped)"
	}
	return strings.Join(xs, ",")
}
