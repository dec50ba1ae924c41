package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/entra"
)

// `drawbridge sandbox --entra-listen` serves an Entra tenant holding the
// example directory's people and a Boundary-Production group, with the
// credentials it prints: a provider configured with them grants there.
func TestSandboxEntraTenant(t *testing.T) {
	t.Parallel()
	emuAddr, entraAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(binary, "sandbox", "--listen", emuAddr, "--hooks-listen", "", "--entra-listen", entraAddr)
	out := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	eventually(t, func() bool { return strings.Contains(out.String(), "Entra ID emulator listening on http://"+entraAddr) })
	for _, want := range []string{"tenant_id: " + sandboxEntraTenant, "client_id: " + sandboxEntraClient, "login_endpoint: http://" + entraAddr, "graph_endpoint: http://" + entraAddr + "/v1.0"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("sandbox output lacks %q:\n%s", want, out)
		}
	}
	p, err := entra.New(entra.Config{Name: "entra", TenantID: sandboxEntraTenant, ClientID: sandboxEntraClient, ClientSecret: sandboxEntraSecret,
		LoginEndpoint: "http://" + entraAddr, GraphEndpoint: "http://" + entraAddr + "/v1.0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref, err := p.PrincipalRef(ctx, &drawbridge.Principal{ID: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	spec := drawbridge.GrantSpec{RequestID: "req_1", Until: time.Now().Add(time.Hour), Reason: "try it",
		Assignment: drawbridge.Assignment{Entitlement: drawbridge.Entitlement{Provider: "entra", Resource: "Boundary-Production", Role: "member"}, PrincipalRef: ref}}
	if _, err := p.Grant(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Exists(ctx, spec.Assignment); err != nil || !ok {
		t.Fatalf("Exists after grant = %v, %v", ok, err)
	}
}
