package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/spf13/cobra"
)

func sandboxCmd(g *globals) *cobra.Command {
	var listen string
	var delay time.Duration
	c := &cobra.Command{
		Use:   "sandbox [--listen 127.0.0.1:4566]",
		Short: "Run the IAM Identity Center emulator on loopback, for trying Drawbridge without AWS",
		Long: `sandbox serves the AWS IAM Identity Center API (the operations Drawbridge uses)
on a loopback address, in memory. examples/drawbridge.yaml points at its default
address, so the README's CLI examples work with no AWS account.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			opts := emulator.SandboxOptions()
			opts.Delay = delay
			srv, err := emulator.Start(listen, opts)
			if err != nil {
				return err
			}
			defer srv.Close()
			fmt.Fprintf(g.stdout, "sandbox: IAM Identity Center emulator listening on %s\n", srv.URL())
			fmt.Fprintf(g.stdout, "  instance_arn: %s\n  identity_store_id: %s\n  permission_sets:\n", srv.InstanceARN(), srv.IdentityStoreID())
			arns := srv.PermissionSetARNs()
			names := make([]string, 0, len(arns))
			for n := range arns {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(g.stdout, "    %s: %s\n", n, arns[n])
			}
			fmt.Fprintln(g.stdout, "Ctrl-C to stop.")
			<-c.Context().Done()
			return nil
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:4566", "loopback address to listen on")
	c.Flags().DurationVar(&delay, "delay", 200*time.Millisecond, "how long assignment operations stay IN_PROGRESS")
	return c
}
