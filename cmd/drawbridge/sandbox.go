package main

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	bemu "github.com/drawbridge-jit/drawbridge/boundary/emulator"
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
	// sandboxEntraGroupID is the group's object id, the one the
	// reference workflow's managed-group filter shows: the sandbox
	// Boundary's managed group mirrors it.
	sandboxEntraGroupID = "c89c2175-f8e7-4cb2-9bd8-f9bf924c2c8a"
)

// The sandbox Boundary controller's fixed ids and Drawbridge's account.
const (
	sandboxBoundaryPassword = "sandbox-boundary-password-not-for-production"
	sandboxBoundaryOrg      = "o_5a4db0c0rg"
	sandboxBoundaryProject  = "p_5a4db0pr0j"
	sandboxBoundaryTarget   = "ttcp_5a4db0ssh1"
	sandboxBoundaryGroup    = "mgoidc_5a4db0mg01"
	sandboxBoundaryProdRole = "r_5a4db0pr0d"
	sandboxBoundaryOnCall   = "r_5a4db0c411"
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
	emu.AddGroup(entraemu.Group{ID: sandboxEntraGroupID, DisplayName: sandboxEntraGroup})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, ln.Addr(), nil
}

// startSandboxBoundary serves a Boundary controller on addr laid out as
// the reference workflow's: an org and project, a target, the managed group
// mirroring the sandbox Entra group, the role giving it the target, an
// on-call role for direct grants, the example directory's people as users
// and Drawbridge's password account.
func startSandboxBoundary(addr string) (*http.Server, net.Addr, error) {
	data, err := examples.FS.ReadFile("drawbridge.yaml")
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Parse("drawbridge.yaml", data, func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, nil, fmt.Errorf("the example config: %w", err)
	}
	emu := bemu.New(nil)
	emu.AddAdmin("drawbridge", sandboxBoundaryPassword)
	for _, u := range cfg.Directory.Users {
		emu.AddUser(bemu.User{Name: u.Name, Email: u.Email})
	}
	emu.AddScope(bemu.Scope{ID: sandboxBoundaryOrg, Name: "Azure"})
	emu.AddScope(bemu.Scope{ID: sandboxBoundaryProject, ParentID: sandboxBoundaryOrg, Name: "East US"})
	emu.AddTarget(bemu.Target{ID: sandboxBoundaryTarget, ScopeID: sandboxBoundaryProject, Name: "prod-ssh"})
	if _, err := emu.AddManagedGroup(bemu.ManagedGroup{ID: sandboxBoundaryGroup, Name: "Production - Boundary on Azure",
		Filter: `"` + sandboxEntraGroupID + `" in "/token/groups"`}); err != nil {
		return nil, nil, err
	}
	grant := []string{"ids=" + sandboxBoundaryTarget + ";actions=authorize-session,read"}
	emu.AddRole(bemu.Role{ID: sandboxBoundaryProdRole, ScopeID: sandboxBoundaryProject, Name: "Azure Production Access",
		PrincipalIDs: []string{sandboxBoundaryGroup}, Grants: grant})
	emu.AddRole(bemu.Role{ID: sandboxBoundaryOnCall, ScopeID: sandboxBoundaryProject, Name: "On-call", Grants: grant})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, ln.Addr(), nil
}

func sandboxCmd(g *globals) *cobra.Command {
	var listen, hooksListen, hooksSecret, entraListen, boundaryListen string
	var delay time.Duration
	c := &cobra.Command{
		Use:   "sandbox [--listen 127.0.0.1:4566] [--hooks-listen 127.0.0.1:4567] [--entra-listen 127.0.0.1:4568] [--boundary-listen 127.0.0.1:4569]",
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
			if boundaryListen != "" && !isLoopback(boundaryListen) {
				return usageError("--boundary-listen %s: the sandbox listens on loopback only (127.0.0.1:PORT or [::1]:PORT)", boundaryListen)
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
			if boundaryListen != "" {
				bs, addr, err := startSandboxBoundary(boundaryListen)
				if err != nil {
					return err
				}
				defer bs.Close()
				fmt.Fprintf(g.stdout, "sandbox: Boundary controller emulator listening on http://%s (managed group %s mirrors Entra group %s; role %s reaches target %s)\n"+
					"  providers:\n    boundary:\n      addr: http://%s\n      auth_method_id: %s\n      login_name: drawbridge\n      password: %s\n      scopes: [%s]\n"+
					"      resources: [{name: %s, display_name: On-call production access, aliases: [oncall-prod], roles: [member]}]\n"+
					"    # and under providers.entra: end_sessions: [boundary]\n",
					addr, sandboxBoundaryGroup, sandboxEntraGroupID, sandboxBoundaryProdRole, sandboxBoundaryTarget,
					addr, bemu.PasswordAuthMethod, sandboxBoundaryPassword, sandboxBoundaryProject, sandboxBoundaryOnCall)
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
	c.Flags().StringVar(&boundaryListen, "boundary-listen", "", "loopback address of a HashiCorp Boundary controller emulator for a provider of kind boundary (empty: none; e.g. 127.0.0.1:4569)")
	c.Flags().DurationVar(&delay, "delay", 200*time.Millisecond, "how long assignment operations stay IN_PROGRESS")
	return c
}
