package main

import (
	"fmt"
	"github.com/drawbridge-jit/drawbridge"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/drawbridge-jit/drawbridge/audit"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/spf13/cobra"
)

func janitorCmd(g *globals) *cobra.Command {
	var dryRun, follow bool
	c := &cobra.Command{
		Use:   "janitor [--dry-run] [--follow]",
		Short: "Run the expiry engine: one pass (cron) or --follow until interrupted",
		Long: `janitor performs every time-based step that is due: expired grants are revoked
(and confirmed by the provider), failed revocations retried, pending requests past
their approval window cancelled, interrupted provisioning resumed. With --follow it
keeps running, waking at the next expiry rather than on a fixed period.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if dryRun && follow {
				return usageError("--dry-run and --follow cannot be combined")
			}
			a, err := g.open(c.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			if follow {
				printSessionWarnings(c.Context(), a, g.stderr)
				a.engine.OnStep = func(s broker.Step) { g.printStep(s, false) }
				fmt.Fprintf(g.stderr, "janitor: following %s; Ctrl-C to stop\n", a.cfg.Store.Redacted())
				return a.engine.Run(c.Context())
			}
			steps, err := a.engine.RunOnce(c.Context(), dryRun)
			if err != nil {
				return err
			}
			if len(steps) == 0 {
				fmt.Fprintln(g.stdout, "janitor: nothing due")
			}
			// Non-zero when any step did not complete, so that cron
			// alerts: a revocation left REVOKING is access still in place.
			failed := 0
			for _, s := range steps {
				g.printStep(s, dryRun)
				if !dryRun && (s.Err != nil || unfinished(s.Request) != nil) {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("janitor: %d of %d steps failed; failed revocations stay REVOKING and are retried (drawbridge list --state REVOKING)", failed, len(steps))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "only print what is due")
	c.Flags().BoolVar(&follow, "follow", false, "keep running until interrupted")
	return c
}

func (g *globals) printStep(s broker.Step, dryRun bool) {
	r := s.Request
	prefix := ""
	if dryRun {
		prefix = "would "
	}
	line := fmt.Sprintf("%s%s %s %s %s/%s", prefix, s.Action, r.ID, r.Requester, r.Resource, r.Role)
	if !dryRun {
		line += " -> " + string(r.State)
		if r.State == "REVOKING" && r.LastError != "" {
			line += " (retrying: " + r.LastError + ")"
		}
	}
	if s.Err != nil {
		line += " error: " + s.Err.Error()
	}
	fmt.Fprintln(g.stdout, drawbridge.Printable(line))
}

// verifyJSON is audit verify's JSON output: the chain's result, and the
// rows'.
type verifyJSON struct {
	audit.Result
	Rows audit.RowsResult `json:"rows"`
}

func auditCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "audit", Short: "Verify or export the tamper-evident audit trail"}
	var deep bool
	verify := &cobra.Command{
		Use:   "verify [--deep]",
		Short: "Check the audit hash chain and every request row against it; names the first edited, deleted or reordered event and the first edited row",
		Long: `verify walks the audit hash chain, then compares every request row with the
state its audit events recorded last (a digest of the fields that decide access:
state, requester, entitlement, approvals, expires_at, preexisting_access, ...).
A row edited in the database, a row deleted, or a row no event records is named
with the fields that differ. --deep also rebuilds each request from all its
recorded states (what never changes after submission, approvals only added, no
way out of a terminal state) and compares the last with the row field by field.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			a, err := g.open(c.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			res, err := audit.Verify(c.Context(), a.store.ScanAudit)
			if err != nil {
				return err
			}
			rows, err := audit.VerifyRows(c.Context(), a.store, deep)
			if err != nil {
				return err
			}
			if g.output == "json" {
				if err := writeJSON(g.stdout, verifyJSON{Result: res, Rows: rows}); err != nil {
					return err
				}
			}
			if !res.OK {
				return fmt.Errorf("audit chain broken at event %d: %s", res.FirstBadSeq, res.Reason)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if g.output != "json" {
				fmt.Fprintf(g.stdout, "audit chain OK: %d events, last seq %d, last hash %s\n", res.Events, res.LastSeq, res.LastHash)
				fmt.Fprintf(g.stdout, "request rows OK: %d requests agree with the state their events recorded", rows.Requests)
				if rows.Unbound > 0 {
					fmt.Fprintf(g.stdout, " (%d written before rows were bound to the chain, not checked until their next change)", rows.Unbound)
				}
				fmt.Fprintln(g.stdout)
			}
			return nil
		},
	}
	verify.Flags().BoolVar(&deep, "deep", false, "also rebuild each request from all its recorded states and compare field by field")
	var format, out string
	remoteFilter := map[string]*string{}
	export := &cobra.Command{
		Use:   "export [--format csv|jsonl] [--out FILE]",
		Short: "Stream every audit event (CSV cells are neutralised against formula injection)",
		Long: `export streams the audit chain from the local store. In remote mode (--addr) it
exports the requests CSV of GET /api/exports.csv instead (an auditor token, one of
--status, --account-id, --permission-set-name, --requester or
--requester-slack-user-id, optionally --from/--to), scoped to what the token may see.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if g.remote() {
				if format != "csv" {
					return usageError("remote mode exports CSV only (GET /api/exports.csv)")
				}
				return g.remoteExport(c.Context(), exportQuery(remoteFilter), out)
			}
			var w audit.Writer
			dst := g.stdout
			if out != "" && out != "-" {
				f, err := createPrivate(out)
				if err != nil {
					return err
				}
				defer f.Close()
				dst = f
			}
			switch format {
			case "csv":
				w = audit.NewCSVWriter(dst)
			case "jsonl":
				w = audit.NewJSONLWriter(dst)
			default:
				return usageError("--format must be csv or jsonl, not %q", format)
			}
			a, err := g.open(c.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			return audit.Export(c.Context(), w, a.store.ScanAudit)
		},
	}
	export.Flags().StringVar(&format, "format", "csv", "csv or jsonl")
	export.Flags().StringVar(&out, "out", "", "write to FILE instead of standard output")
	for _, k := range exportFilters {
		remoteFilter[k] = export.Flags().String(strings.ReplaceAll(k, "_", "-"), "", "remote mode: /api/exports.csv filter "+k)
	}
	c.AddCommand(verify, export)
	return c
}

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  exactArgs(0),
		RunE: func(*cobra.Command, []string) error {
			v := version
			if v == "" {
				v = "dev"
				if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
					v = bi.Main.Version
				}
			}
			_, err := fmt.Fprintf(g.stdout, "drawbridge %s %s\n", v, runtime.Version())
			return err
		},
	}
}
