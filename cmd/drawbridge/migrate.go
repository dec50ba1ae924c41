package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/drawbridge-jit/drawbridge/postgres"
)

func migrateCmd(g *globals) *cobra.Command {
	var status bool
	var to int64
	c := &cobra.Command{
		Use:   "migrate [--to N] [--status]",
		Short: "Bring the store's schema up to date (PostgreSQL: run once before starting a new release)",
		Long: `migrate applies the schema migrations this release knows to the configured store,
up to the newest or to --to N, and only forward. --status lists every migration and
whether the store has it. A PostgreSQL store is never migrated by serve: replicas
refuse a schema older than theirs (and name this command) or newer than theirs. A
SQLite store migrates itself whenever it is opened.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			ctx := c.Context()
			if cfg.Store.Driver != "postgres" {
				if status || to != 0 {
					return usageError("--status and --to apply to a postgres store; the SQLite store %s migrates to the newest schema whenever it is opened", cfg.Store.Redacted())
				}
				s, err := openStore(ctx, cfg, g.warn)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "store %s: schema up to date\n", cfg.Store.Redacted())
				return s.Close()
			}
			if status {
				vs, err := postgres.Status(ctx, cfg.Store.DSN)
				if err != nil {
					return err
				}
				if g.output == "json" {
					return writeJSON(g.stdout, vs)
				}
				for _, v := range vs {
					state := "pending"
					if v.Applied {
						state = "applied " + v.AppliedAt.Format(time.RFC3339)
					}
					fmt.Fprintf(g.stdout, "%05d  %-40s %s\n", v.Version, v.Name, state)
				}
				return nil
			}
			if to < 0 {
				return usageError("--to %d: a schema version is a positive number (see migrate --status)", to)
			}
			from, now, err := postgres.Migrate(ctx, cfg.Store.DSN, to)
			if err != nil {
				return err
			}
			if from == now {
				fmt.Fprintf(g.stdout, "store %s: schema already at version %d\n", cfg.Store.Redacted(), now)
			} else {
				fmt.Fprintf(g.stdout, "store %s: schema migrated from version %d to %d\n", cfg.Store.Redacted(), from, now)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&status, "status", false, "list the migrations and whether the store has each")
	c.Flags().Int64Var(&to, "to", 0, "migrate up to this version only (default: the newest)")
	return c
}
