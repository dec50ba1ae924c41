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
	var checkpoints []string
	var key string
	verify := &cobra.Command{
		Use:   "verify [--deep] [--checkpoint FILE]... [--key PUBLIC_KEY]",
		Short: "Check the audit log and every request row against it; names the first edited, deleted or reordered event and the first edited row",
		Long: `verify reads every audit event, checks the hash chain, the canonical form of each
event and the Merkle tree, and with --checkpoint that the log still extends each saved
checkpoint: truncation, deletion and rewrites are then caught even when every hash was
recomputed. Checkpoints are checked with the log's public key (--key, or the configured
one). Remote mode (--addr) asks the server for a checkpoint and consistency proofs.

It then compares every request row with the state its audit events recorded last (a
digest of the fields that decide access: state, requester, entitlement, approvals,
expires_at, preexisting_access, ...). A row edited in the database, a row deleted, or a
row no event records is named with the fields that differ. --deep also rebuilds each
request from all its recorded states (what never changes after submission, approvals
only added, no way out of a terminal state) and compares the last with the row field by
field.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if g.remote() {
				if len(checkpoints) == 0 {
					return usageError("remote mode proves consistency with saved checkpoints: pass --checkpoint FILE")
				}
				return g.remoteVerify(c.Context(), checkpoints, key)
			}
			return g.verifyLocal(c.Context(), checkpoints, key, deep)
		},
	}
	verify.Flags().BoolVar(&deep, "deep", false, "also rebuild each request from all its recorded states and compare field by field")
	verify.Flags().StringArrayVar(&checkpoints, "checkpoint", nil, "a saved checkpoint the log must extend (repeatable)")
	verify.Flags().StringVar(&key, "key", "", "the log's public key, or a file holding it (default: the configured key's)")
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
	c.AddCommand(verify, export, auditKeygenCmd(g), auditCheckpointCmd(g), auditProveCmd(g), auditVerifyProofCmd(g))
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
