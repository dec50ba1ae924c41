// Command drawbridge is the Drawbridge just-in-time access broker: the
// server, the operator tools and the lifecycle CLI in one binary. This
// package is the only place that knows every concrete type: it turns flags
// and drawbridge.yaml into a wired broker.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/spf13/cobra"
)

// Exit codes of the CLI contract.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
	exitDenied  = 3
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// globals are the flags every command shares.
type globals struct {
	configPath string
	output     string
	// addr and token select remote mode (see remote.go).
	addr, token string
	stdout      io.Writer
	stderr      io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI and returns its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if g.output == "json" {
		writeJSONError(stderr, err)
	} else {
		fmt.Fprintln(stderr, "error:", printableLines(drawbridgeMessage(err)))
	}
	return exitCode(err)
}

// writeJSONError prints err as the API does, {"error":{"code","message"}},
// for scripts that asked for --output json. It goes to stderr: stdout may
// already hold the request object the error is about (a DENIED or FAILED
// request), and stays one JSON document.
func writeJSONError(w io.Writer, err error) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Message = drawbridgeMessage(err)
	switch exitCode(err) {
	case exitUsage:
		body.Error.Code = drawbridge.EINVALID
	case exitDenied:
		body.Error.Code = drawbridge.EFORBIDDEN
	default:
		body.Error.Code = drawbridge.ErrorCode(err)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}

// printableLines renders a message for the terminal: it keeps the line
// breaks of a multi-line error (config check lists one problem a line)
// and shows any other control character, which can only have come from
// input or from a server's answer, as an escape.
func printableLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = drawbridge.Printable(l)
	}
	return strings.Join(lines, "\n")
}

func drawbridgeMessage(err error) string {
	var e *drawbridge.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

func exitCode(err error) int {
	var x *exitError
	if errors.As(err, &x) {
		return x.code
	}
	switch drawbridge.ErrorCode(err) {
	case drawbridge.EINVALID:
		return exitUsage
	}
	var flagErr *flagError
	if errors.As(err, &flagErr) {
		return exitUsage
	}
	return exitRuntime
}

// flagError wraps cobra's flag parsing errors so they exit 2.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "drawbridge",
		Short:         "Just-in-time privileged access: request, approve, provision, revoke on time, audit",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &flagError{fmt.Errorf("%v (see '%s --help')", err, c.CommandPath())}
	})
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "config file (env DRAWBRIDGE_CONFIG; default ./drawbridge.yaml when present)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.PersistentFlags().StringVar(&g.addr, "addr", os.Getenv("DRAWBRIDGE_ADDR"), "server URL for remote mode, e.g. http://127.0.0.1:8080 (env DRAWBRIDGE_ADDR); lifecycle commands then use the API")
	root.PersistentFlags().StringVar(&g.token, "token", "", "API token for remote mode (env DRAWBRIDGE_TOKEN)")
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if g.output != "table" && g.output != "json" {
			return usageError("--output must be table or json, not %q", g.output)
		}
		if g.token == "" {
			// Read here, not as the flag default, so --help never prints it.
			g.token = os.Getenv("DRAWBRIDGE_TOKEN")
		}
		return nil
	}
	defer rejectUnknownCommands(root)
	root.AddCommand(
		requestCmd(g), statusCmd(g), listCmd(g), approveCmd(g, true), approveCmd(g, false),
		cancelCmd(g), revokeCmd(g), extendCmd(g), janitorCmd(g), policyCmd(g), auditCmd(g),
		versionCmd(g), demoCmd(g), sandboxCmd(g), serveCmd(g), devCmd(g), tokenCmd(g), loadtestCmd(g), reconcileCmd(g), configCmd(g), migrateCmd(g), storeCmd(g),
	)
	return root
}

// rejectUnknownCommands makes every command that only groups others (the
// root, policy, audit, token, config) refuse a word it does not know with
// exit 2 and a suggestion, instead of cobra's default of printing help and
// exiting 0: a mistyped `drawbridge janitr` in cron must fail. Given no
// word at all, they print their help (asking what is there is not a
// mistake).
func rejectUnknownCommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		rejectUnknownCommands(sub)
	}
	if !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.SuggestionsMinimumDistance = 2 // cobra's own default, which SuggestionsFor does not apply
	c.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", s[0])
		} else {
			msg += fmt.Sprintf(": see '%s --help'", c.CommandPath())
		}
		return usageError("%s", msg)
	}
}

// argsError makes cobra's positional-argument checks exit 2.
func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s takes %d argument(s), got %d: usage: %s", c.Name(), n, len(args), c.UseLine())
		}
		return nil
	}
}
