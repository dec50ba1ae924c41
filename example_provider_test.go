package drawbridge_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// allowList is the smallest complete provider, the one docs/architecture.md
// walks through: access is a line "<resource> <role> <person>" in a file
// that another system reads (a reverse proxy's allow-list, say). It shows
// the four methods every provider has and one optional capability
// (ExistenceChecker); a real adapter adds its client, its error mapping
// (Permanent, Rejected, RetryAfter, Pending) and a wire-level emulator.
type allowList struct {
	name string
	path string
	mu   sync.Mutex // one writer per process; a real system has its own locking
}

func (p *allowList) Name() string { return p.name }

// PrincipalRef is the provider's id for the person: here the canonical id;
// a real provider looks the person up (Principal.Identity("okta"), an
// e-mail search) and returns a Permanent error when they are unknown.
func (p *allowList) PrincipalRef(_ context.Context, who *drawbridge.Principal) (string, error) {
	return who.ID, nil
}

func line(a drawbridge.Assignment) string {
	return a.Resource + " " + a.Role + " " + a.PrincipalRef
}

func (p *allowList) read() ([]string, error) {
	f, err := os.Open(p.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	return lines, s.Err()
}

func (p *allowList) write(lines []string) error {
	tmp := p.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.path) // readers see the old or the new file, never half
}

// Grant is idempotent: a line already present is success (a retry after a
// crash, or an extension telling us a later end, which a file without
// expiry has nothing to do with).
func (p *allowList) Grant(_ context.Context, spec drawbridge.GrantSpec) (drawbridge.GrantResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines, err := p.read()
	if err != nil {
		return drawbridge.GrantResult{}, err // retryable: the outcome is unknown
	}
	if !slices.Contains(lines, line(spec.Assignment)) {
		if err := p.write(append(lines, line(spec.Assignment))); err != nil {
			return drawbridge.GrantResult{}, err
		}
	}
	return drawbridge.GrantResult{GrantRef: spec.RequestID, Details: map[string]string{"file": filepath.Base(p.path)}}, nil
}

// Revoke is idempotent too: a line already gone is success.
func (p *allowList) Revoke(_ context.Context, spec drawbridge.RevokeSpec) (drawbridge.RevokeResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines, err := p.read()
	if err != nil {
		return drawbridge.RevokeResult{}, err
	}
	kept := slices.DeleteFunc(lines, func(l string) bool { return l == line(spec.Assignment) })
	return drawbridge.RevokeResult{}, p.write(kept)
}

// Exists makes standing access recognisable: a line someone wrote by hand
// before Drawbridge granted it is not deleted when the grant ends.
func (p *allowList) Exists(_ context.Context, a drawbridge.Assignment) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines, err := p.read()
	return slices.Contains(lines, line(a)), err
}

// The compiler holds the example to the contract.
var (
	_ drawbridge.Provider         = (*allowList)(nil)
	_ drawbridge.ExistenceChecker = (*allowList)(nil)
)

// Example_provider drives the allow-list provider the way the broker does:
// person → PrincipalRef → Grant (twice: idempotent) → Revoke.
func Example_provider() {
	dir, err := os.MkdirTemp("", "allowlist")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	p := &allowList{name: "proxy", path: filepath.Join(dir, "allow.txt")}
	ctx := context.Background()

	alice := &drawbridge.Principal{ID: "alice@example.com"}
	ref, _ := p.PrincipalRef(ctx, alice)
	a := drawbridge.Assignment{Entitlement: drawbridge.Entitlement{Provider: "proxy", Resource: "grafana", Role: "editor"}, PrincipalRef: ref}
	spec := drawbridge.GrantSpec{RequestID: "req_1", Assignment: a, Principal: alice, Until: time.Now().Add(time.Hour)}
	for range 2 {
		if _, err := p.Grant(ctx, spec); err != nil {
			panic(err)
		}
	}
	found, _ := p.Exists(ctx, a)
	fmt.Println("granted:", found)
	if _, err := p.Revoke(ctx, drawbridge.RevokeSpec{RequestID: "req_1", Assignment: a}); err != nil {
		panic(err)
	}
	found, _ = p.Exists(ctx, a)
	fmt.Println("after revoke:", found)
	// Output:
	// granted: true
	// after revoke: false
}
