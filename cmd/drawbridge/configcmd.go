package main

import (
	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/spf13/cobra"
)

func configCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Check the configuration, or print its JSON Schema"}
	c.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the config (unknown keys, ${ENV} references, values) and exit non-zero with file:line on error",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			_, err = c.OutOrStdout().Write([]byte(cfg.Path + ": OK\n"))
			return err
		},
	}, &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of drawbridge.yaml, for editors",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := config.Schema()
			if err != nil {
				return err
			}
			_, err = c.OutOrStdout().Write(append(s, '\n'))
			return err
		},
	})
	return c
}
