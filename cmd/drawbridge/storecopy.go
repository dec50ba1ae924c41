package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
	"github.com/drawbridge-jit/drawbridge/postgres"
	"github.com/drawbridge-jit/drawbridge/sqlite"
)

func storeCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "store", Short: "Operations on a whole store (copy)"}
	c.AddCommand(storeCopyCmd(g))
	return c
}

func storeCopyCmd(g *globals) *cobra.Command {
	var from, to string
	c := &cobra.Command{
		Use:   "copy --from sqlite:PATH --to postgres:DSN",
		Short: "Copy a SQLite store into a new PostgreSQL database, audit chain intact and verified",
		Long: `store copy moves a team's SQLite store to PostgreSQL: every request (with its version),
every audit event (same sequence numbers and hashes, so saved checkpoints and proofs stay
valid) and every token. The target database must be empty; it is migrated first. The
source's chain is verified before the copy and the target's after it, and the copy fails
unless both end at the same event and hash. Stop the server (and cron janitors) on the
source first: what they write during the copy is not copied. Notifier cursors and
computed group memberships are not copied: notifiers start from the end of the chain and
memberships are computed again at the next sign-in.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			src, ok := strings.CutPrefix(from, "sqlite:")
			if !ok || src == "" {
				return usageError("--from must be sqlite:PATH (the SQLite store file), got %q", from)
			}
			dst, ok := strings.CutPrefix(to, "postgres:")
			if !ok || dst == "" {
				return usageError("--to must be postgres:DSN (e.g. postgres:postgres://drawbridge@db.internal/drawbridge), got %q", postgres.Redact(to))
			}
			if _, err := os.Stat(src); err != nil {
				return usageError("--from %s: %v (give the path of the SQLite store file)", src, err)
			}
			redacted := postgres.Redact(dst)
			res, err := copyStore(c.Context(), src, dst)
			if err != nil {
				return fmt.Errorf("store copy to %s: %w", redacted, err)
			}
			fmt.Fprintf(g.stdout, "copied %s to %s: %d requests, %d tokens; audit chain verified on both: %d events, last seq %d, last hash %s\n",
				src, redacted, res.requests, res.tokens, res.chain.Events, res.chain.LastSeq, res.chain.LastHash)
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "the source store: sqlite:PATH")
	c.Flags().StringVar(&to, "to", "", "the target store: postgres:DSN (an empty database)")
	return c
}

type copied struct {
	requests, tokens int
	chain            audit.Result
}

func copyStore(ctx context.Context, src, dst string) (copied, error) {
	var out copied
	from, err := sqlite.Open(ctx, src)
	if err != nil {
		return out, err
	}
	defer from.Close()
	before, err := audit.Verify(ctx, from.ScanAudit)
	if err != nil {
		return out, err
	}
	if !before.OK {
		return out, fmt.Errorf("the source's audit chain is broken at event %d (%s): nothing copied; see drawbridge audit verify", before.FirstBadSeq, before.Reason)
	}
	var requests []*drawbridge.Request
	for f := (drawbridge.RequestFilter{Limit: drawbridge.MaxListLimit}); ; {
		page, err := from.ListRequests(ctx, f)
		if err != nil {
			return out, err
		}
		requests = append(requests, page...)
		if len(page) < f.Limit {
			break
		}
		f.Cursor = page[len(page)-1].ID
	}
	var events []drawbridge.AuditEvent
	if err := from.ScanAudit(ctx, func(ev drawbridge.AuditEvent) error {
		events = append(events, ev)
		return nil
	}); err != nil {
		return out, err
	}
	tokens, err := from.ListTokens(ctx)
	if err != nil {
		return out, err
	}
	to, err := postgres.Open(ctx, dst, postgres.WithMigrate())
	if err != nil {
		return out, err
	}
	defer to.Close()
	if err := to.Import(ctx, requests, events, tokens); err != nil {
		return out, err
	}
	after, err := audit.Verify(ctx, to.ScanAudit)
	if err != nil {
		return out, err
	}
	if !after.OK || after.Events != before.Events || after.LastSeq != before.LastSeq || after.LastHash != before.LastHash {
		return out, fmt.Errorf("the copy's audit chain does not match the source's (copy: %d events to seq %d, hash %s, %s; source: %d events to seq %d, hash %s)",
			after.Events, after.LastSeq, after.LastHash, after.Reason, before.Events, before.LastSeq, before.LastHash)
	}
	return copied{requests: len(requests), tokens: len(tokens), chain: after}, nil
}
