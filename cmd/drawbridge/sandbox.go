package main

import (
	"fmt"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/spf13/cobra"
)

// sandboxHooksSecret is the signing secret of the example config's hooks
// provider: the sandbox's receiver verifies with it by default.
const sandboxHooksSecret = "sandbox-hooks-secret-not-for-production"

func sandboxCmd(g *globals) *cobra.Command {
	var listen, hooksListen, hooksSecret string
	var delay time.Duration
	c := &cobra.Command{
		Use:   "sandbox [--listen 127.0.0.1:4566] [--hooks-listen 127.0.0.1:4567]",
		Short: "Run the IAM Identity Center emulator and a webhook receiver on loopback, for trying Drawbridge without AWS",
		Long: `sandbox serves the AWS IAM Identity Center API (the operations Drawbridge uses)
on a loopback address, in memory, and a receiver for the webhook provider that prints
every event whose signature it verifies. examples/drawbridge.yaml points at their
default addresses (and its hooks secret is the receiver's default), so the README's
CLI examples work with no AWS account.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if hooksListen != "" && !isLoopback(hooksListen) {
				return usageError("--hooks-listen %s: the sandbox listens on loopback only (127.0.0.1:PORT or [::1]:PORT)", hooksListen)
			}
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
			if hooksListen != "" {
				ln, err := net.Listen("tcp", hooksListen)
				if err != nil {
					return err
				}
				var mu sync.Mutex
				hooks := serveHooksReceiver(ln, "hooks", [][]byte{[]byte(hooksSecret)}, g.stdout, &mu)
				defer hooks.Close()
				fmt.Fprintf(g.stdout, "sandbox: webhook receiver listening on http://%s/drawbridge (prints what it receives)\n", ln.Addr())
			}
			fmt.Fprintln(g.stdout, "Ctrl-C to stop.")
			<-c.Context().Done()
			return nil
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:4566", "loopback address to listen on")
	c.Flags().StringVar(&hooksListen, "hooks-listen", "127.0.0.1:4567", "loopback address of the webhook receiver (empty: none)")
	c.Flags().StringVar(&hooksSecret, "hooks-secret", sandboxHooksSecret, "the secret the receiver verifies events with (the example config's)")
	c.Flags().DurationVar(&delay, "delay", 200*time.Millisecond, "how long assignment operations stay IN_PROGRESS")
	return c
}
