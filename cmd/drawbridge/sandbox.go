package main

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/config"
	entraemu "github.com/drawbridge-jit/drawbridge/entra/emulator"
	"github.com/drawbridge-jit/drawbridge/examples"
	"github.com/spf13/cobra"
)

// sandboxHooksSecret is the signing secret of the example config's hooks
// provider: the sandbox's receiver verifies with it by default.
const sandboxHooksSecret = "sandbox-hooks-secret-not-for-production"

// The sandbox Entra tenant's app registration: fixed, so a config written
// once keeps working, and useless anywhere but this loopback emulator.
const (
	sandboxEntraTenant = "00000000-0000-4000-8000-0000000e17a0"
	sandboxEntraClient = "00000000-0000-4000-8000-0000000c11e0"
	sandboxEntraSecret = "sandbox-entra-secret-not-for-production"
	sandboxEntraGroup  = "Boundary-Production"
)

// startSandboxEntra serves an Entra tenant on addr holding the example
// directory's people (user principal name = their e-mail) and the
// Boundary-Production group of the reference workflow.
func startSandboxEntra(addr string) (*http.Server, net.Addr, error) {
	data, err := examples.FS.ReadFile("drawbridge.yaml")
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Parse("drawbridge.yaml", data, func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, nil, fmt.Errorf("the example config: %w", err)
	}
	emu := entraemu.New(sandboxEntraTenant, sandboxEntraClient, sandboxEntraSecret, nil)
	for _, u := range cfg.Directory.Users {
		emu.AddUser(entraemu.User{UserPrincipalName: u.Email, Mail: u.Email, DisplayName: u.Name})
	}
	emu.AddGroup(entraemu.Group{DisplayName: sandboxEntraGroup})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, ln.Addr(), nil
}

func sandboxCmd(g *globals) *cobra.Command {
	var listen, hooksListen, hooksSecret, entraListen string
	var delay time.Duration
	c := &cobra.Command{
		Use:   "sandbox [--listen 127.0.0.1:4566] [--hooks-listen 127.0.0.1:4567] [--entra-listen 127.0.0.1:4568]",
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
			if entraListen != "" && !isLoopback(entraListen) {
				return usageError("--entra-listen %s: the sandbox listens on loopback only (127.0.0.1:PORT or [::1]:PORT)", entraListen)
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
			if entraListen != "" {
				es, addr, err := startSandboxEntra(entraListen)
				if err != nil {
					return err
				}
				defer es.Close()
				// One write, so a reader never sees the address without the config.
				fmt.Fprintf(g.stdout, "sandbox: Entra ID emulator listening on http://%s (group %s; the example directory's people)\n"+"  providers:\n    entra:\n      tenant_id: %s\n      client_id: %s\n      client_secret: %s\n      login_endpoint: http://%s\n      graph_endpoint: http://%s/v1.0\n      resources: [{name: %s, roles: [member, owner]}]\n",
					addr, sandboxEntraGroup, sandboxEntraTenant, sandboxEntraClient, sandboxEntraSecret, addr, addr, sandboxEntraGroup)
			}
			fmt.Fprintln(g.stdout, "Ctrl-C to stop.")
			<-c.Context().Done()
			return nil
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:4566", "loopback address to listen on")
	c.Flags().StringVar(&hooksListen, "hooks-listen", "127.0.0.1:4567", "loopback address of the webhook receiver (empty: none)")
	c.Flags().StringVar(&hooksSecret, "hooks-secret", sandboxHooksSecret, "the secret the receiver verifies events with (the example config's)")
	c.Flags().StringVar(&entraListen, "entra-listen", "", "loopback address of an Entra ID tenant emulator for a provider of kind entra (empty: none; e.g. 127.0.0.1:4568)")
	c.Flags().DurationVar(&delay, "delay", 200*time.Millisecond, "how long assignment operations stay IN_PROGRESS")
	return c
}
