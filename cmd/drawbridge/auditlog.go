package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/config"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
)

// The audit log's keys, checkpoints and proofs (docs/audit.md).

// loadSigner reads the checkpoint signing key audit.signing_key names (a
// file, or the key itself) and checks it is this log's.
func loadSigner(cfg *config.Config) (audit.Signer, error) {
	text, where := cfg.Audit.SigningKey, "audit.signing_key"
	if !cfg.Audit.SigningKeyIsInline() {
		where = cfg.Audit.SigningKey
		fi, err := os.Stat(where)
		if errors.Is(err, fs.ErrNotExist) {
			return audit.Signer{}, fmt.Errorf("audit signing key %s does not exist: make it with drawbridge audit keygen (or set audit.signing_key)", where)
		}
		if err != nil {
			return audit.Signer{}, fmt.Errorf("audit signing key: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return audit.Signer{}, fmt.Errorf("audit signing key %s can be read by others (mode %04o): chmod 600 it, and make a new key if others may have read it", where, fi.Mode().Perm())
		}
		b, err := os.ReadFile(where)
		if err != nil {
			return audit.Signer{}, fmt.Errorf("audit signing key: %w", err)
		}
		text = string(b)
	}
	s, err := audit.ParseSigningKey(text)
	if err != nil {
		return audit.Signer{}, fmt.Errorf("audit signing key %s: %w", where, err)
	}
	if cfg.Audit.Origin != "" && s.Name() != cfg.Audit.Origin {
		return audit.Signer{}, fmt.Errorf("audit signing key %s is for the log %q, but audit.origin is %q: make a key for this log with drawbridge audit keygen", where, s.Name(), cfg.Audit.Origin)
	}
	return s, nil
}

// publicKey reads the log's public key: --key (the key itself, or a file
// holding it), else the .pub file beside the configured signing key, else
// the one derived from the signing key.
func (g *globals) publicKey(flag string) (note.Verifier, error) {
	if flag != "" {
		text := flag
		if b, err := os.ReadFile(flag); err == nil {
			text = string(b)
		} else if !strings.Contains(flag, "+") {
			return nil, fmt.Errorf("--key %s: %w", flag, err)
		}
		return audit.ParseVerifierKey(text)
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, fmt.Errorf("no --key given and %w", err)
	}
	if !cfg.Audit.SigningKeyIsInline() {
		if b, err := os.ReadFile(cfg.Audit.SigningKey + ".pub"); err == nil {
			return audit.ParseVerifierKey(string(b))
		}
	}
	s, err := loadSigner(cfg)
	if err != nil {
		return nil, fmt.Errorf("no --key given, and %w", err)
	}
	return audit.ParseVerifierKey(s.Verifier)
}

// checkpointSinks are the configured places checkpoints are published.
func checkpointSinks(cfg *config.Config) []audit.Sink {
	if cfg.Audit.CheckpointFile == "" && cfg.Audit.CheckpointDir == "" {
		return nil
	}
	return []audit.Sink{audit.FileSink{Latest: cfg.Audit.CheckpointFile, Dir: cfg.Audit.CheckpointDir}}
}

// newPublisher makes the checkpoint publisher of the configured log,
// resumed from the latest published checkpoint (so it never signs a
// history that contradicts it). ok is false when no audit section is
// configured.
func newPublisher(cfg *config.Config, store drawbridge.Store, clk clock.Clock) (p *audit.Publisher, ok bool, err error) {
	if !cfg.Audit.Enabled() {
		return nil, false, nil
	}
	s, err := loadSigner(cfg)
	if err != nil {
		return nil, false, err
	}
	p = &audit.Publisher{Store: store, Signer: s, Sinks: checkpointSinks(cfg), Interval: cfg.Audit.CheckpointInterval.Std(), Clock: clk}
	if cfg.Audit.CheckpointFile != "" {
		b, err := os.ReadFile(cfg.Audit.CheckpointFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, false, fmt.Errorf("audit.checkpoint_file: %w", err)
		default:
			v, err := audit.ParseVerifierKey(s.Verifier)
			if err != nil {
				return nil, false, err
			}
			c, err := audit.OpenCheckpoint(b, v)
			if err != nil {
				return nil, false, fmt.Errorf("audit.checkpoint_file %s: %w", cfg.Audit.CheckpointFile, err)
			}
			p.Resume(c)
		}
	}
	return p, true, nil
}

func auditKeygenCmd(g *globals) *cobra.Command {
	var origin, out string
	c := &cobra.Command{
		Use:   "keygen [--origin NAME] [--out FILE]",
		Short: "Make the Ed25519 key pair that signs audit checkpoints",
		Long: `keygen writes the checkpoint signing key to audit.signing_key (default:
audit-signing.key next to the SQLite store), readable by its owner only, and the
public key beside it (FILE.pub) for auditors. The key is named after the log
(audit.origin or --origin). An existing key is never overwritten.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if origin == "" || out == "" {
				cfg, err := g.loadConfig()
				if err != nil {
					return err
				}
				if origin == "" {
					origin = cfg.Audit.Origin
				}
				if out == "" {
					if cfg.Audit.SigningKeyIsInline() {
						return usageError("audit.signing_key holds a key, not a file name: pass --out FILE")
					}
					out = cfg.Audit.SigningKey
				}
			}
			if origin == "" {
				return usageError("name the log: set audit.origin or pass --origin, e.g. drawbridge.example.com/audit")
			}
			skey, vkey, err := audit.GenerateKey(origin)
			if err != nil {
				return usageError("%v", err)
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s already exists: keygen never replaces a key (checkpoints signed with it would no longer verify); move it away first to rotate", out)
			}
			if err != nil {
				return err
			}
			if _, err := f.WriteString(skey + "\n"); err != nil {
				f.Close()
				return err
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			if err := os.WriteFile(out+".pub", []byte(vkey+"\n"), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "signing key: %s (keep it secret; back it up)\npublic key:  %s.pub\n%s\n", out, out, vkey)
			return nil
		},
	}
	c.Flags().StringVar(&origin, "origin", "", "the log's name (default audit.origin)")
	c.Flags().StringVar(&out, "out", "", "where to write the signing key (default audit.signing_key)")
	return c
}

func auditCheckpointCmd(g *globals) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "checkpoint [--out FILE]",
		Short: "Sign a checkpoint of the audit log now and publish it",
		Long: `checkpoint signs a checkpoint of the committed log with the audit signing key,
publishes it to audit.checkpoint_file / audit.checkpoint_dir, and prints it (or writes
it to FILE, atomically). It refuses when the log does not extend the latest published
checkpoint: then the history was rewritten.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			a, err := g.open(c.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			p, ok, err := newPublisher(a.cfg, a.store, clock.Real{})
			if err != nil {
				return err
			}
			if !ok {
				return usageError("no audit log configured: set audit.origin and run drawbridge audit keygen (docs/audit.md)")
			}
			if out != "" && out != "-" {
				p.Sinks = append(p.Sinks, audit.FileSink{Latest: out})
			}
			cp, err := p.Publish(c.Context())
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = g.stdout.Write(cp.Signed)
				return err
			}
			fmt.Fprintf(g.stderr, "checkpoint of %d events written to %s\n", cp.Size, out)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "also write the checkpoint to FILE")
	return c
}

// readCheckpoints opens each checkpoint file with the log's public key.
func readCheckpoints(files []string, v note.Verifier) ([]audit.Checkpoint, error) {
	var out []audit.Checkpoint
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--checkpoint: %w", err)
		}
		c, err := audit.OpenCheckpoint(b, v)
		if err != nil {
			return nil, fmt.Errorf("--checkpoint %s: %w", f, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// remoteVerify checks with consistency proofs from the API that the
// server's log extends each checkpoint.
func (g *globals) remoteVerify(ctx context.Context, files []string, key string) error {
	v, err := g.publicKey(key)
	if err != nil {
		return err
	}
	cps, err := readCheckpoints(files, v)
	if err != nil {
		return err
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	var cr dbhttp.CheckpointResponse
	if err := cl.Do(ctx, "GET", "/api/audit/checkpoint", nil, &cr); err != nil {
		return err
	}
	now, err := audit.OpenCheckpoint([]byte(cr.Checkpoint), v)
	if err != nil {
		return fmt.Errorf("the server's checkpoint: %w", err)
	}
	for i, c := range cps {
		if c.Size > now.Size {
			return fmt.Errorf("audit log NOT consistent with %s: the server's log has %d events, the checkpoint saw %d (events were deleted)", files[i], now.Size, c.Size)
		}
		var p tlog.TreeProof
		if c.Size > 0 {
			var resp dbhttp.ConsistencyResponse
			if err := cl.Do(ctx, "GET", fmt.Sprintf("/api/audit/consistency?from=%d&to=%d", c.Size, now.Size), nil, &resp); err != nil {
				return err
			}
			for _, h := range resp.Proof {
				raw, err := base64.StdEncoding.DecodeString(h)
				if err != nil || len(raw) != tlog.HashSize {
					return fmt.Errorf("the server sent a malformed consistency proof")
				}
				p = append(p, tlog.Hash(raw))
			}
		}
		if err := tlog.CheckTree(p, now.Size, now.Root, c.Size, c.Root); err != nil {
			return fmt.Errorf("audit log NOT consistent with %s: the server's log of %d events does not extend the checkpoint of %d events (history was rewritten)", files[i], now.Size, c.Size)
		}
	}
	fmt.Fprintf(g.stdout, "audit log OK: the server's log of %d events (root %s) extends %d checkpoint(s)\n", now.Size, base64.StdEncoding.EncodeToString(now.Root[:]), len(cps))
	return nil
}

// verifyLocal verifies the store's log against checkpoint files, and the
// request rows against the log.
func (g *globals) verifyLocal(ctx context.Context, files []string, key string, deep bool) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	var cps []audit.Checkpoint
	if len(files) > 0 {
		v, err := g.publicKey(key)
		if err != nil {
			return err
		}
		if cps, err = readCheckpoints(files, v); err != nil {
			return err
		}
	}
	res, err := audit.Verify(ctx, a.store.ScanAudit, cps...)
	if err != nil {
		return err
	}
	rows, err := audit.VerifyRows(ctx, a.store, deep)
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
	if err := audit.CheckStoredTree(ctx, a.store, res); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if g.output != "json" {
		fmt.Fprintf(g.stdout, "audit chain OK: %d events, last seq %d, last hash %s, root %s", res.Events, res.LastSeq, res.LastHash, res.Root)
		if len(files) > 0 {
			fmt.Fprintf(g.stdout, "; extends %d checkpoint(s)", res.Checkpoints)
		}
		fmt.Fprintln(g.stdout)
		fmt.Fprintf(g.stdout, "request rows OK: %d requests agree with the state their events recorded", rows.Requests)
		if rows.Unbound > 0 {
			fmt.Fprintf(g.stdout, " (%d written before rows were bound to the chain, not checked until their next change)", rows.Unbound)
		}
		fmt.Fprintln(g.stdout)
	}
	return nil
}

func auditProveCmd(g *globals) *cobra.Command {
	var size int64
	var out string
	c := &cobra.Command{
		Use:   "prove <seq> [--size N] [--out FILE]",
		Short: "Print an event, its inclusion proof and a signed checkpoint, as one text",
		Long: `prove writes the proof that audit event <seq> is in the log: the event exactly as
hashed, its Merkle inclusion proof and a checkpoint signed now (of the whole log, or of
its first N events with --size). Anyone with the public key checks it offline with
drawbridge audit verify-proof. Remote mode (--addr) fetches it from the API.`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			seq, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || seq < 1 {
				return usageError("<seq> %q must be an audit event's sequence number (1 or more)", args[0])
			}
			var text []byte
			if g.remote() {
				cl, err := g.client()
				if err != nil {
					return err
				}
				path := fmt.Sprintf("/api/audit/proof/%d", seq)
				if size > 0 {
					path += fmt.Sprintf("?size=%d", size)
				}
				var pr dbhttp.ProofResponse
				if err := cl.Do(c.Context(), "GET", path, nil, &pr); err != nil {
					return err
				}
				text = []byte(pr.Proof)
			} else {
				if text, err = proveLocal(c.Context(), g, seq, size); err != nil {
					return err
				}
			}
			if out == "" || out == "-" {
				_, err = g.stdout.Write(text)
				return err
			}
			return os.WriteFile(out, text, 0o644)
		},
	}
	c.Flags().Int64Var(&size, "size", 0, "prove against a checkpoint of the first N events (default: the whole log)")
	c.Flags().StringVar(&out, "out", "", "write the proof to FILE")
	return c
}

func proveLocal(ctx context.Context, g *globals, seq, size int64) ([]byte, error) {
	a, err := g.open(ctx)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	s, err := loadSigner(a.cfg)
	if err != nil {
		return nil, err
	}
	n, err := a.store.AuditTreeSize(ctx)
	if err != nil {
		return nil, err
	}
	if size == 0 {
		size = n
	}
	if size > n || seq > size {
		return nil, usageError("event %d in a checkpoint of %d events: the log has %d events", seq, size, n)
	}
	evs, err := a.store.AuditAfter(ctx, seq-1, 1)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 || evs[0].Seq != seq {
		return nil, drawbridge.Errorf(drawbridge.ENOTFOUND, "audit event %d not found (run drawbridge audit verify)", seq)
	}
	root, err := tlog.TreeHash(size, audit.Reader(ctx, a.store))
	if err != nil {
		return nil, err
	}
	cp, err := audit.SignCheckpoint(s, size, root)
	if err != nil {
		return nil, err
	}
	p, err := audit.Prove(ctx, a.store, evs[0], cp)
	if err != nil {
		return nil, err
	}
	return p.Marshal(), nil
}

func auditVerifyProofCmd(g *globals) *cobra.Command {
	var key string
	c := &cobra.Command{
		Use:   "verify-proof FILE [--key PUBLIC_KEY]",
		Short: "Check a proof from drawbridge audit prove offline, with the log's public key only",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			text, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			v, err := g.publicKey(key)
			if err != nil {
				return err
			}
			p, err := audit.VerifyProof(text, v)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g.stdout, p.Event)
			}
			ev := p.Event
			fmt.Fprintf(g.stdout, "proof OK: event %d is in the log %s of %d events (root %s)\n%s %s %s",
				ev.Seq, p.Checkpoint.Origin, p.Checkpoint.Size, base64.StdEncoding.EncodeToString(p.Checkpoint.Root[:]),
				ev.Time.Format("2006-01-02T15:04:05.000Z07:00"), drawbridge.Printable(ev.Actor), drawbridge.Printable(ev.Action))
			if ev.RequestID != "" {
				fmt.Fprintf(g.stdout, " %s", drawbridge.Printable(ev.RequestID))
			}
			fmt.Fprintf(g.stdout, "\n%s\n", drawbridge.Printable(string(p.Leaf)))
			return nil
		},
	}
	c.Flags().StringVar(&key, "key", "", "the log's public key, or a file holding it (default: the configured key's)")
	return c
}
