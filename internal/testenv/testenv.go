// Package testenv wires a real Drawbridge for tests: a store (SQLite in a
// temporary directory, seen only through drawbridge.Backend), the production AWS provider talking to the IAM
// Identity Center emulator on loopback, the example directory, catalog and
// policy, and a fake clock. Nothing is mocked: tests exercise the same code
// path as `drawbridge demo`, only faster and with time under their control.
package testenv

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/catalog"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/directory"
	"github.com/drawbridge-jit/drawbridge/examples"
	"github.com/drawbridge-jit/drawbridge/policy"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

// Start is the fake clock's initial time in every Env.
var Start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Example users and accounts of examples/drawbridge.yaml.
const (
	Alice = "alice@example.com" // engineers, Slack U12345678
	Bob   = "bob@example.com"   // engineers, sre-leads
	Carol = "carol@example.com" // sre-leads
	Dave  = "dave@example.com"  // contractors

	Staging = "123456789012"
	Prod    = "111122223333"
)

// Options shape an Env; the zero value gives the example policy, a fresh
// store and an emulator that completes operations at once.
type Options struct {
	// Policy replaces examples/access_rules.yaml when non-empty.
	Policy string
	// SameStoreAs opens another handle on that Env's store instead of a
	// new store, as a second process would: two engines, two processes.
	SameStoreAs *Env
	// Emulator is used instead of starting a new one.
	Emulator *emulator.Server
	// EmulatorDelay is how long assignment operations stay IN_PROGRESS.
	EmulatorDelay time.Duration
	// Clock is used instead of a new fake clock at Start.
	Clock *clock.Fake
	// SkipAuditCheck turns off the audit chain check New registers to run
	// when the test ends (for tests that tamper with the chain).
	SkipAuditCheck bool
}

// Env is one wired Drawbridge.
type Env struct {
	Ctx       context.Context
	Emu       *emulator.Server
	Store     drawbridge.Backend
	Provider  *aws.Provider
	Broker    *broker.Broker
	Clock     *clock.Fake
	Config    *config.Config
	Directory *directory.Static
	Catalog   *catalog.Set
	// StorePath is the SQLite file of Store, for tests that edit it with
	// SQL as an attacker with write access would.
	StorePath string

	// reopen opens another handle on Store (see Options.SameStoreAs).
	reopen func(t testing.TB) drawbridge.Backend
}

// ExampleConfig parses examples/drawbridge.yaml with the provider pointed
// at endpoint, as if the file lived in dir.
func ExampleConfig(t testing.TB, dir, endpoint string) *config.Config {
	t.Helper()
	data, err := examples.FS.ReadFile("drawbridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.ReplaceAll(string(data), "http://127.0.0.1:4566", endpoint))
	cfg, err := config.Parse(filepath.Join(dir, "drawbridge.yaml"), data, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	return cfg
}

// New returns a wired Env; everything it starts is stopped by t.Cleanup.
func New(t testing.TB, opt Options) *Env {
	t.Helper()
	// Not t.Context(): that is cancelled before cleanups run, and the
	// audit check below runs as a cleanup. Bounded, so nothing hangs.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	emu := opt.Emulator
	if emu == nil {
		eo := emulator.SandboxOptions()
		eo.Delay = opt.EmulatorDelay
		var err error
		emu, err = emulator.Start("127.0.0.1:0", eo)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { emu.Close() })
	}
	dir := t.TempDir()
	cfg := ExampleConfig(t, dir, emu.URL())

	polSrc := opt.Policy
	if polSrc == "" {
		data, err := examples.FS.ReadFile("access_rules.yaml")
		if err != nil {
			t.Fatal(err)
		}
		polSrc = string(data)
	}
	pol, err := policy.Parse("access_rules.yaml", []byte(polSrc))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}

	prov, err := aws.New(ctx, aws.Config{
		Region: "us-east-1", InstanceARN: emu.InstanceARN(), IdentityStoreID: emu.IdentityStoreID(),
		PermissionSets: emu.PermissionSetARNs(), Endpoint: emu.URL(), PollInterval: 2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}

	clk := opt.Clock
	if clk == nil {
		clk = clock.NewFake(Start)
	}
	storePath := filepath.Join(dir, "drawbridge.db")
	reopen := openSQLite(ctx, storePath, clk.Now)
	if opt.SameStoreAs != nil {
		reopen, storePath = opt.SameStoreAs.reopen, opt.SameStoreAs.StorePath
	}
	store := reopen(t)

	var users []directory.User
	for _, u := range cfg.Directory.Users {
		users = append(users, directory.User{Email: u.Email, Name: u.Name, Identities: u.LinkedIdentities(), Groups: u.Groups})
	}
	dirx := directory.NewStatic(users)
	var accounts []catalog.Account
	for _, a := range cfg.Accounts {
		accounts = append(accounts, catalog.Account{ID: a.ID, Name: a.Name, Aliases: a.Aliases, OUs: a.OUs, Tags: a.Tags})
	}
	cat := catalog.New(map[string]drawbridge.ProviderCatalog{"aws": catalog.NewAccounts(accounts, prov.PermissionSetNames())}, "aws")

	b := broker.New(store, dirx, cat, map[string]drawbridge.Provider{"aws": prov}, pol, clk, nil)
	// Small, deterministic-enough backoff: tests advance the fake clock
	// past it instead of waiting.
	b.RetryBase, b.RetryCap = time.Second, 4*time.Second
	e := &Env{Ctx: ctx, Emu: emu, Store: store, Provider: prov, Broker: b, Clock: clk,
		Config: cfg, Directory: dirx, Catalog: cat, StorePath: storePath, reopen: reopen}
	if !opt.SkipAuditCheck {
		// Registered after the store's Close, so it runs before it.
		t.Cleanup(func() {
			if !t.Failed() {
				e.VerifyAudit(t)
			}
		})
	}
	return e
}

// NewStore opens a new, empty store for t alone, closed when t ends, for
// tests that wire their own parts around a store (the HTTP tests); now
// stamps audit events that come without a time.
func NewStore(t testing.TB, now func() time.Time) drawbridge.Backend {
	t.Helper()
	return openSQLite(context.Background(), filepath.Join(t.TempDir(), "drawbridge.db"), now)(t)
}

// openSQLite returns a function that opens a handle on the SQLite store at
// path, closed when its test ends; the first call creates the store. It is
// the one place the tests' wiring names a concrete store.
func openSQLite(ctx context.Context, path string, now func() time.Time) func(testing.TB) drawbridge.Backend {
	return func(t testing.TB) drawbridge.Backend {
		t.Helper()
		db, err := sqlite.Open(ctx, path, sqlite.WithNow(now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

// AWSUserID returns the Identity Store user id of a directory user.
func (e *Env) AWSUserID(t testing.TB, who string) string {
	t.Helper()
	p, err := e.Directory.Resolve(e.Ctx, who)
	if err != nil {
		t.Fatal(err)
	}
	return p.Identity(drawbridge.IdentityAWS)
}

// HasAssignment reports whether the emulator holds who's assignment.
func (e *Env) HasAssignment(t testing.TB, who, account, permSet string) bool {
	t.Helper()
	return e.Emu.HasAssignment(account, permSet, e.AWSUserID(t, who))
}

// Operator is the local-mode actor: an admin naming who acts.
var Operator = drawbridge.Operator("tester")

// Submit submits a request as the operator and fails the test on error.
func (e *Env) Submit(t testing.TB, who, account, permSet string, d time.Duration, ticket string) *drawbridge.Request {
	t.Helper()
	r, err := e.Broker.Submit(e.Ctx, broker.SubmitInput{
		Requester: who, Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: account, Role: permSet},
		Duration: d, Reason: "test", Ticket: ticket,
	}, Operator)
	if err != nil {
		t.Fatalf("submit %s %s %s: %v", who, account, permSet, err)
	}
	return r
}

// Get reloads a request from the store.
func (e *Env) Get(t testing.TB, id string) *drawbridge.Request {
	t.Helper()
	r, err := e.Store.GetRequest(e.Ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Actions returns the audit actions recorded for a request, in order.
func (e *Env) Actions(t testing.TB, id string) []string {
	t.Helper()
	evs, err := e.Store.RequestEvents(e.Ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Action
	}
	return out
}

// VerifyAudit fails the test unless the store's audit chain verifies.
func (e *Env) VerifyAudit(t testing.TB) {
	t.Helper()
	res, err := audit.Verify(e.Ctx, e.Store.ScanAudit)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("audit chain broken at event %d: %s", res.FirstBadSeq, res.Reason)
	}
	if res.Events == 0 {
		t.Fatal("audit chain is empty")
	}
}

// Count returns how many times s occurs in list.
func Count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// HandleDue runs one pass of the broker's time-based steps at the fake
// clock's now, as one expiry-engine pass would, and fails the test on an
// error.
func (e *Env) HandleDue(t testing.TB) {
	t.Helper()
	due, err := e.Store.DueRequests(e.Ctx, e.Clock.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range due {
		if _, err := e.Broker.HandleDue(e.Ctx, r); err != nil {
			t.Fatalf("HandleDue %s (%s): %v", r.ID, r.State, err)
		}
	}
}
