package main

// End-to-end scenarios of issue 7 items 1 and 3 on the built binary: a
// `serve` process and CLI processes on one SQLite file, and the IAM
// Identity Center emulator in this test process (a third process from
// theirs), behind a gate that can hold a DeleteAccountAssignment call.

import (
	"context"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/config"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
)

const (
	prodAcct   = "111122223333"
	readOnlyPS = "ReadOnlyAccess"
)

// awsUserOf returns the Identity Store user id the config gives email.
func awsUserOf(t *testing.T, cfg, email string) string {
	t.Helper()
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range c.Directory.Users {
		if u.Email == email {
			return u.LinkedIdentities()["aws"]
		}
	}
	t.Fatalf("%s is not in %s", email, cfg)
	return ""
}

// deleteGate holds DeleteAccountAssignment calls while armed: entered
// receives one value per held call, and release lets them through.
type deleteGate struct {
	next nethttp.Handler

	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func (g *deleteGate) ServeHTTP(w nethttp.ResponseWriter, r *nethttp.Request) {
	g.mu.Lock()
	hold := g.armed && strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+emulator.OpDeleteAccountAssignment)
	g.mu.Unlock()
	if hold {
		g.entered <- struct{}{}
		select {
		case <-g.release:
		case <-time.After(time.Minute): // never hang the suite
		}
	}
	g.next.ServeHTTP(w, r)
}

func (g *deleteGate) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = true
}

// grantsSandbox is serve's config pointed at a gated emulator.
type grantsSandbox struct {
	emu    *emulator.Server
	gate   *deleteGate
	cfg    string
	addr   string
	bobAWS string // bob@example.com's Identity Store user id
}

func newGrantsSandbox(t *testing.T) *grantsSandbox {
	t.Helper()
	opts := emulator.SandboxOptions()
	opts.Delay = 5 * time.Millisecond
	emu := emulator.New(opts)
	gate := &deleteGate{next: emu, entered: make(chan struct{}, 1), release: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &nethttp.Server{Handler: gate, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ErrServerClosed on Close
	t.Cleanup(func() {
		gate.mu.Lock()
		if gate.armed {
			select {
			case <-gate.release:
			default:
				close(gate.release)
			}
		}
		gate.mu.Unlock()
		srv.Close()
	})
	dir := t.TempDir()
	cfg, err := writeExampleFiles(dir, "http://"+ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "listen: 127.0.0.1:8080", "listen: "+addr, 1)
	text = strings.Replace(text, "poll_interval: 100ms", "poll_interval: 5ms", 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return &grantsSandbox{emu: emu, gate: gate, cfg: cfg, addr: addr, bobAWS: awsUserOf(t, cfg, "bob@example.com")}
}

func (s *grantsSandbox) submitBob(t *testing.T, c *dbhttp.Client) *drawbridge.Request {
	t.Helper()
	r, err := c.Submit(context.Background(), dbhttp.CreateRequest{Requester: "bob@example.com",
		AccountID: prodAcct, PermissionSet: readOnlyPS, Duration: "1h", Reason: "e2e"})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return r
}

func revokeHTTP(t *testing.T, c *dbhttp.Client, id string) *drawbridge.Request {
	t.Helper()
	r, err := c.Action(context.Background(), id, "revoke", dbhttp.RevokeRequest{Reason: "e2e"})
	if err != nil {
		t.Fatalf("revoke %s: %v", id, err)
	}
	return r
}

// Item 1: bob holds standing ReadOnly on prod; his JIT grant A records it;
// an administrator removes the standing assignment; bob asks again (B).
// B's own create makes the assignment, so once A and B are revoked it is
// gone — it is not kept forever as "standing access".
func TestE2EStandingAccessIsNotResurrected(t *testing.T) {
	t.Parallel()
	s := newGrantsSandbox(t)
	if err := s.emu.AddAssignment(prodAcct, readOnlyPS, s.bobAWS); err != nil {
		t.Fatal(err)
	}
	admin := createToken(t, s.cfg, "--principal", "admin@example.com", "--role", "admin")
	srv := startServer(t, s.addr, "--config", s.cfg, "serve")
	c := dbhttp.NewClient("http://"+s.addr, admin)

	a := s.submitBob(t, c)
	if a.State != drawbridge.StateActive || !a.PreexistingAccess {
		t.Fatalf("A is %s, preexisting %v; want ACTIVE on standing access", a.State, a.PreexistingAccess)
	}
	s.emu.RemoveAssignment(prodAcct, readOnlyPS, s.bobAWS) // the move to just-in-time access

	b := s.submitBob(t, c)
	if b.State != drawbridge.StateActive {
		t.Fatalf("B is %s (%s)", b.State, b.LastError)
	}
	if b.PreexistingAccess {
		t.Errorf("B inherited standing access from A; its own create made the assignment")
	}
	if !s.emu.HasAssignment(prodAcct, readOnlyPS, s.bobAWS) {
		t.Fatal("B is ACTIVE without its assignment")
	}
	if r := revokeHTTP(t, c, a.ID); r.State != drawbridge.StateRevoked {
		t.Fatalf("A is %s after revoke", r.State)
	}
	if !s.emu.HasAssignment(prodAcct, readOnlyPS, s.bobAWS) {
		t.Fatal("revoking A removed the assignment B still needs")
	}
	if r := revokeHTTP(t, c, b.ID); r.State != drawbridge.StateRevoked {
		t.Fatalf("B is %s after revoke", r.State)
	}
	if s.emu.HasAssignment(prodAcct, readOnlyPS, s.bobAWS) {
		t.Error("the assignment Drawbridge re-created for B lives on after both grants were revoked")
	}
	srv.stop(t, os.Interrupt)
}

// Item 3: a CLI `revoke` of A, a process beside `serve`, has decided that
// nobody else needs the assignment and its delete is on the wire (held at
// the gate) when B is granted through serve. B must not end ACTIVE without
// access: it waits for the deletion to be confirmed, then serve's expiry
// engine creates the assignment afresh.
func TestE2EGrantDuringRevokeInAnotherProcess(t *testing.T) {
	t.Parallel()
	s := newGrantsSandbox(t)
	admin := createToken(t, s.cfg, "--principal", "admin@example.com", "--role", "admin")
	srv := startServer(t, s.addr, "--config", s.cfg, "serve")
	c := dbhttp.NewClient("http://"+s.addr, admin)

	a := s.submitBob(t, c)
	if a.State != drawbridge.StateActive {
		t.Fatalf("A is %s (%s)", a.State, a.LastError)
	}
	s.gate.arm()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	revoke := exec.CommandContext(ctx, binary, "--config", s.cfg, "revoke", a.ID, "--reason", "e2e")
	revoke.Dir = filepath.Dir(s.cfg)
	var out lockedWriter
	revoke.Stdout, revoke.Stderr = &out, &out
	if err := revoke.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.gate.entered: // the CLI's delete is held at the gate
	case <-time.After(60 * time.Second):
		t.Fatalf("the CLI revoke never sent its delete\n%s", out.String())
	}

	b := s.submitBob(t, c)
	if b.State == drawbridge.StateActive {
		t.Errorf("B became ACTIVE while A's deletion of the assignment was under way")
	}
	close(s.gate.release)
	if err := revoke.Wait(); err != nil {
		t.Fatalf("CLI revoke: %v\n%s", err, out.String())
	}

	var got *drawbridge.Request
	eventually(t, func() bool {
		var err error
		got, err = c.Get(context.Background(), b.ID)
		return err == nil && got.State == drawbridge.StateActive
	})
	if st, err := c.Get(context.Background(), a.ID); err != nil || st.State != drawbridge.StateRevoked {
		t.Errorf("A: %v %v", st, err)
	}
	if !s.emu.HasAssignment(prodAcct, readOnlyPS, s.bobAWS) {
		t.Fatal("B is ACTIVE but its assignment was deleted by A's revocation")
	}
	if got.PreexistingAccess {
		t.Error("B took the assignment A was deleting for standing access")
	}
	srv.stop(t, os.Interrupt)
}
