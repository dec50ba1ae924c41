package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/policy"
	"github.com/spf13/cobra"
)

func configCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Check the configuration, or print its JSON Schema"}
	c.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the config and what it points at (policy, listen address, TLS files, store directory); every problem with file:line",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if problems := configProblems(cfg); len(problems) > 0 {
				return &exitError{code: exitUsage, err: errors.New(strings.Join(problems, "\n"))}
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

// configProblems is what a config that loads can still get wrong for the
// commands that use it: the policy serve and request decide with, the
// address serve listens on, the TLS files, the store's directory. Each
// problem is one entry naming the key (the policy's own errors carry
// file:line:col).
func configProblems(cfg *config.Config) []string {
	var out []string
	if _, err := policy.Load(cfg.Policy.File); err != nil {
		out = append(out, fmt.Sprintf("policy.file: %v", err))
	}
	if err := listenProblem(cfg); err != nil {
		out = append(out, err.Error())
	}
	for _, f := range []struct{ key, file string }{{"server.tls_cert_file", cfg.Server.TLSCertFile}, {"server.tls_key_file", cfg.Server.TLSKeyFile}} {
		if f.file == "" {
			continue
		}
		if _, err := os.Stat(f.file); err != nil {
			out = append(out, fmt.Sprintf("%s: %v", f.key, err))
		}
	}
	if cfg.Store.Driver == "sqlite" {
		if fi, err := os.Stat(filepath.Dir(cfg.Store.DSN)); err != nil || !fi.IsDir() {
			out = append(out, fmt.Sprintf("store.dsn %s: its directory %s does not exist: create it (the database file is created on first use)", cfg.Store.DSN, filepath.Dir(cfg.Store.DSN)))
		}
	}
	return out
}
