package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/grammar"
	"github.com/drawbridge-jit/drawbridge/policy"
	"github.com/spf13/cobra"
)

func policyCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "policy", Short: "Check, test and explain access rules"}
	check := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a policy file (default: the configured one); errors give file:line:col",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			} else {
				cfg, err := g.loadConfig()
				if err != nil {
					return err
				}
				path = cfg.Policy.File
			}
			p, err := policy.Load(path)
			if err != nil {
				return policyError(err)
			}
			fmt.Fprintf(g.stdout, "%s: OK, %d rules, sha256 %s\n", path, len(p.Rules()), p.SHA256())
			return nil
		},
	}
	test := &cobra.Command{
		Use:   "test CASES.yaml",
		Short: "Run a table of requests against the configured policy and compare decisions",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			p, err := policy.Load(cfg.Policy.File)
			if err != nil {
				return policyError(err)
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			cases, err := policy.ParseCases(args[0], data)
			if err != nil {
				return policyError(err)
			}
			dir, cat := directoryFrom(cfg), catalogFrom(cfg)
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			failed := 0
			for _, tc := range cases {
				requester, err := dir.Resolve(c.Context(), tc.Requester)
				if err != nil {
					return fmt.Errorf("%s:%d: case %q: %s", args[0], tc.Line, tc.Name, drawbridge.ErrorMessage(err))
				}
				ent := drawbridge.Entitlement{Provider: tc.Provider, Resource: tc.Resource, Role: tc.Role}
				ous, tags := cat.ResourceAttrs(ent)
				d := p.Evaluate(&policy.Input{Requester: requester, Entitlement: ent, Duration: tc.Duration,
					Reason: tc.Reason, Ticket: tc.Ticket, Now: time.Now(), OUs: ous, Tags: tags})
				ok := d.Effect == tc.ExpectDecision && (tc.ExpectRule == "" || tc.ExpectRule == d.Rule)
				mark := "PASS"
				if !ok {
					mark = "FAIL"
					failed++
				}
				got := string(d.Effect)
				if d.Rule != "" {
					got += " by " + d.Rule
				}
				want := string(tc.ExpectDecision)
				if tc.ExpectRule != "" {
					want += " by " + tc.ExpectRule
				}
				fmt.Fprintf(tw, "%s\t%s\tgot %s\twant %s\t%s\n", mark, tc.Name, got, want, d.Reason)
			}
			tw.Flush()
			fmt.Fprintf(g.stdout, "%d passed, %d failed\n", len(cases)-failed, failed)
			if failed > 0 {
				return errors.New("policy test: some cases failed")
			}
			return nil
		},
	}
	var reason, ticket string
	explain := &cobra.Command{
		Use:   "explain <requester> <resource> <role> <hours> [[ticket] <ticket-id>]",
		Short: "Show which rule decides a request and why the others did not match (the arguments of request)",
		Args:  cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			req, err := grammar.ParseWithRequester(args)
			if err != nil {
				return usageError("policy explain arguments: %v", err)
			}
			if req.Ticket != "" {
				ticket = req.Ticket
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			p, err := policy.Load(cfg.Policy.File)
			if err != nil {
				return policyError(err)
			}
			requester, err := directoryFrom(cfg).Resolve(c.Context(), req.Requester)
			if err != nil {
				return err
			}
			cat := catalogFrom(cfg)
			ent, err := cat.Resolve(req.Entitlement())
			if err != nil {
				return err
			}
			ous, tags := cat.ResourceAttrs(ent)
			ex := p.Explain(&policy.Input{Requester: requester, Entitlement: ent, Duration: req.Duration,
				Reason: reason, Ticket: ticket, Now: time.Now(), OUs: ous, Tags: tags})
			if g.output == "json" {
				return writeJSON(g.stdout, ex)
			}
			out := ex.String()
			if !strings.HasSuffix(out, "\n") {
				out += "\n"
			}
			_, err = fmt.Fprint(g.stdout, out)
			return err
		},
	}
	explain.Flags().StringVar(&reason, "reason", "", "reason given with the request")
	explain.Flags().StringVar(&ticket, "ticket", "", "ticket id given with the request")
	c.AddCommand(check, test, explain)
	return c
}

// policyError makes an invalid policy exit 1 with every problem listed.
func policyError(err error) error {
	return &exitError{code: exitRuntime, err: err}
}
