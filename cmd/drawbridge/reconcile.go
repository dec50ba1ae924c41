package main

import (
	"context"
	"fmt"
	"github.com/drawbridge-jit/drawbridge"
	"io"

	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/policy"
	"github.com/spf13/cobra"
)

func reconcileCmd(g *globals) *cobra.Command {
	var fix bool
	c := &cobra.Command{
		Use:   "reconcile [--fix]",
		Short: "Compare provider assignments with Drawbridge's grants and report drift",
		Long: `reconcile lists the assignments of every configured permission set in the configured
accounts (first), then reads Drawbridge's grants, and reports drift: assignments no live grant
or recorded standing access explains (access given outside Drawbridge, including an assignment
granted again by hand after Drawbridge deleted it), assignments left behind by ended grants,
and ACTIVE grants whose assignment is missing. Findings are written to the audit trail.

--fix grants the missing assignment of an ACTIVE grant again, and deletes a leftover only when
the provider tells when the assignment was created and that time is the own create of an ended
Drawbridge grant. AWS IAM Identity Center does not report creation times, so with AWS --fix
deletes nothing: leftovers are reported for an operator to remove. Standing access and
assignments made outside Drawbridge are never deleted.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			a, err := g.open(c.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			rep, err := a.broker.Reconcile(c.Context(), fix, operatorAs())
			if err != nil {
				return err
			}
			printSessionWarnings(c.Context(), a, g.stderr)
			if g.output == "json" {
				return writeJSON(g.stdout, rep)
			}
			fmt.Fprintf(g.stdout, "reconcile: %d assignments, %d active grants checked, %d findings\n",
				rep.Assignments, rep.Grants, len(rep.Findings))
			for _, f := range rep.Findings {
				line := fmt.Sprintf("%s %s/%s principal %s", f.Kind, f.Assignment.Resource, f.Assignment.Role, f.Assignment.PrincipalRef)
				if f.RequestID != "" {
					line += " (" + f.RequestID + ")"
				}
				if f.Fixed && f.Kind == broker.DriftMissing {
					line += " -> granted again"
				} else if f.Fixed {
					line += " -> deleted"
				}
				if f.Note != "" {
					line += ": " + f.Note
				}
				if f.Error != "" {
					line += " error: " + f.Error
				}
				fmt.Fprintln(g.stdout, drawbridge.Printable(line))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&fix, "fix", false, "grant missing assignments of ACTIVE grants again; delete leftovers only when the provider proves Drawbridge created them")
	return c
}

// revokeAll is `revoke --all --principal P --account A`.
func (g *globals) revokeAll(c *cobra.Command, scope broker.RevokeScope, reason string) error {
	a, err := g.open(c.Context())
	if err != nil {
		return err
	}
	defer a.Close()
	steps, err := a.broker.RevokeAll(c.Context(), scope, reason, 0, operatorAs())
	if err != nil {
		return err
	}
	failed := 0
	for _, s := range steps {
		g.printStep(s, false)
		if s.Err != nil {
			failed++
		}
	}
	fmt.Fprintf(g.stdout, "revoke --all: %d grants, %d failed\n", len(steps), failed)
	if failed > 0 {
		return fmt.Errorf("revoke --all: %d of %d revocations failed (they stay REVOKING and are retried)", failed, len(steps))
	}
	return nil
}

// printSessionWarnings prints session-duration warnings (see
// app.sessionWarnings) as "warning:" lines. These commands do not decide,
// so a policy that does not load only skips the check.
func printSessionWarnings(ctx context.Context, a *app, w io.Writer) {
	pol, err := policy.Load(a.cfg.Policy.File)
	if err != nil {
		fmt.Fprintf(w, "warning: session durations not checked against the policy: %v\n", err)
		return
	}
	warnings, err := a.sessionWarnings(ctx, pol)
	if err != nil {
		fmt.Fprintf(w, "warning: could not read permission set session durations: %v\n", err)
	}
	for _, s := range warnings {
		fmt.Fprintln(w, "warning:", s)
	}
}
