package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/examples"
	"github.com/spf13/cobra"
)

func demoCmd(g *globals) *cobra.Command {
	var keep bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run a narrated end-to-end lifecycle on a temporary store and the Identity Center emulator",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "drawbridge-demo-")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			return runDemo(c.Context(), g.stdout, dir)
		},
	}
	c.Flags().BoolVar(&keep, "keep", false, "keep the temporary directory (store, config, policy) for inspection")
	return c
}

// writeExampleFiles copies the embedded example config and policy to dir,
// pointing the AWS provider at endpoint.
func writeExampleFiles(dir, endpoint string) (string, error) {
	for _, name := range []string{"drawbridge.yaml", "access_rules.yaml", "policy_tests.yaml"} {
		data, err := examples.FS.ReadFile(name)
		if err != nil {
			return "", err
		}
		if name == "drawbridge.yaml" {
			data = []byte(strings.ReplaceAll(string(data), "http://127.0.0.1:4566", endpoint))
			// The demo's grant lasts 3 seconds, so watching it expire
			// takes seconds, not the production minimum.
			data = []byte(strings.Replace(string(data), "min_duration: 10s", "min_duration: 1s", 1))
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "drawbridge.yaml"), nil
}

// startSandbox starts the Identity Center emulator on a free loopback port
// with the sandbox defaults and the given delay, writes the example files to
// dir pointed at it, and returns both; the caller closes the emulator.
func startSandbox(dir string, delay time.Duration) (*emulator.Server, string, error) {
	opts := emulator.SandboxOptions()
	opts.Delay = delay
	emu, err := emulator.Start("127.0.0.1:0", opts)
	if err != nil {
		return nil, "", err
	}
	cfgPath, err := writeExampleFiles(dir, emu.URL())
	if err != nil {
		emu.Close()
		return nil, "", err
	}
	return emu, cfgPath, nil
}

// demo narrates a scripted lifecycle; every step checks its outcome so the
// demo fails loudly when the product does not behave as told.
type demo struct {
	ctx context.Context
	w   io.Writer
	a   *app
	emu *emulator.Server
	n   int
}

func (d *demo) step(format string, args ...any) {
	d.n++
	fmt.Fprintf(d.w, "\n%d. %s\n", d.n, fmt.Sprintf(format, args...))
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.w, "   %s\n", fmt.Sprintf(format, args...))
}

func (d *demo) expect(call func() (*drawbridge.Request, error), want drawbridge.State) (*drawbridge.Request, error) {
	r, err := call()
	if err != nil {
		return nil, fmt.Errorf("demo step %d: %w", d.n, err)
	}
	line := fmt.Sprintf("%s is %s", r.ID, r.State)
	if r.Decision.Rule != "" {
		line += " (rule " + r.Decision.Rule + ")"
	}
	if r.State == drawbridge.StateDenied {
		line += ": " + deniedReason(r)
	}
	d.say("%s", line)
	if r.State != want {
		return nil, fmt.Errorf("demo step %d: expected %s, got %s", d.n, want, r.State)
	}
	return r, nil
}

func (d *demo) assignment(r *drawbridge.Request, want bool) error {
	has := d.emu.HasAssignment(r.Resource, r.Role, r.PrincipalRef)
	verb := "present"
	if !has {
		verb = "absent"
	}
	d.say("Identity Center (emulator): assignment %s/%s for %s is %s", r.Resource, r.Role, r.PrincipalRef, verb)
	if has != want {
		return fmt.Errorf("demo step %d: assignment present=%v, expected %v", d.n, has, want)
	}
	return nil
}

func runDemo(ctx context.Context, w io.Writer, dir string) error {
	emu, cfgPath, err := startSandbox(dir, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer emu.Close()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, wireOptions{decides: true})
	if err != nil {
		return err
	}
	defer a.Close()
	engineCtx, stopEngine := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = a.engine.Run(engineCtx) }()
	defer func() { stopEngine(); <-done }()

	d := &demo{ctx: ctx, w: w, a: a, emu: emu}
	b := a.broker
	op := operator()
	fmt.Fprintf(w, "Drawbridge demo: store %s, IAM Identity Center emulator at %s,\npolicy %s (sha256 %.12s…)\n",
		cfg.Store.Redacted(), emu.URL(), cfg.Policy.File, b.Policy().SHA256())

	d.step("alice (engineers) asks for ReadOnlyAccess on staging 123456789012 for 3 seconds: policy allows it at once")
	r, err := d.expect(func() (*drawbridge.Request, error) {
		return b.Submit(ctx, broker.SubmitInput{Requester: "U12345678",
			Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess"},
			Duration:    3 * time.Second, Reason: "read logs"}, op)
	}, drawbridge.StateActive)
	if err != nil {
		return err
	}
	if err := d.assignment(r, true); err != nil {
		return err
	}

	d.step("the expiry engine wakes at expires_at and revokes; EXPIRED is written only after Identity Center confirms")
	r, err = waitFor(ctx, b, r.ID, drawbridge.StateExpired, 15*time.Second)
	if err != nil {
		return err
	}
	d.say("%s is EXPIRED %s after its expiry", r.ID, r.EndedAt.Sub(r.ExpiresAt).Round(time.Millisecond))
	if err := d.assignment(r, false); err != nil {
		return err
	}

	admin := drawbridge.Entitlement{Provider: "aws", Resource: "111122223333", Role: "AdministratorAccess"}
	d.step("alice asks for AdministratorAccess on prod 111122223333 without a ticket: refused (and recorded)")
	if _, err := d.expect(func() (*drawbridge.Request, error) {
		return b.Submit(ctx, broker.SubmitInput{Requester: "alice@example.com", Entitlement: admin,
			Duration: time.Hour, Reason: "incident"}, op)
	}, drawbridge.StateDenied); err != nil {
		return err
	}

	d.step("alice asks again with ticket INC-12345: the rule requires approval by an SRE lead")
	pending, err := d.expect(func() (*drawbridge.Request, error) {
		return b.Submit(ctx, broker.SubmitInput{Requester: "alice@example.com", Entitlement: admin,
			Duration: time.Hour, Reason: "incident", Ticket: "INC-12345"}, op)
	}, drawbridge.StatePendingApproval)
	if err != nil {
		return err
	}

	d.step("alice tries to approve her own request")
	if _, err := b.Approve(ctx, pending.ID, "alice@example.com", "", op); err == nil {
		return fmt.Errorf("demo step %d: self-approval was accepted", d.n)
	} else {
		d.say("refused: %s", drawbridge.ErrorMessage(err))
	}

	d.step("carol (sre-leads) approves: Drawbridge provisions the assignment")
	r, err = d.expect(func() (*drawbridge.Request, error) {
		return b.Approve(ctx, pending.ID, "carol@example.com", "go ahead", op)
	}, drawbridge.StateActive)
	if err != nil {
		return err
	}
	if err := d.assignment(r, true); err != nil {
		return err
	}

	d.step("the incident is over: the operator revokes the grant early")
	r, err = d.expect(func() (*drawbridge.Request, error) { return b.Revoke(ctx, r.ID, "incident resolved", operatorAs()) }, drawbridge.StateRevoked)
	if err != nil {
		return err
	}
	if err := d.assignment(r, false); err != nil {
		return err
	}

	d.step("bob asks for PowerUserAccess on prod with CHG-42; carol denies it")
	bobReq, err := d.expect(func() (*drawbridge.Request, error) {
		return b.Submit(ctx, broker.SubmitInput{Requester: "bob@example.com",
			Entitlement: drawbridge.Entitlement{Provider: "aws", Resource: "111122223333", Role: "PowerUserAccess"},
			Duration:    30 * time.Minute, Reason: "deploy", Ticket: "CHG-42"}, op)
	}, drawbridge.StatePendingApproval)
	if err != nil {
		return err
	}
	if _, err := d.expect(func() (*drawbridge.Request, error) {
		return b.Deny(ctx, bobReq.ID, "carol@example.com", "use the pipeline", op)
	}, drawbridge.StateDenied); err != nil {
		return err
	}

	d.step("dave (contractors) asks for AdministratorAccess: policy denies it outright")
	if _, err := d.expect(func() (*drawbridge.Request, error) {
		return b.Submit(ctx, broker.SubmitInput{Requester: "dave@example.com", Entitlement: admin,
			Duration: time.Hour, Reason: "curious", Ticket: "INC-1"}, op)
	}, drawbridge.StateDenied); err != nil {
		return err
	}

	d.step("audit verify: every step above is in the hash-chained audit trail")
	res, err := audit.Verify(ctx, a.store.ScanAudit)
	if err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("audit chain broken at event %d: %s", res.FirstBadSeq, res.Reason)
	}
	d.say("audit chain OK: %d events, last hash %.16s…", res.Events, res.LastHash)
	fmt.Fprintln(w, "\nDemo complete.")
	return nil
}

// waitFor polls a request until it reaches state (bounded by timeout).
func waitFor(ctx context.Context, b *broker.Broker, id string, state drawbridge.State, timeout time.Duration) (*drawbridge.Request, error) {
	deadline := time.Now().Add(timeout)
	for {
		r, err := b.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if r.State == state {
			return r, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s is still %s after %s (expected %s; last error: %s)", id, r.State, timeout, state, r.LastError)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
