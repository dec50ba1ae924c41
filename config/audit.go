package config

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge/audit"
)

// Audit configures the audit log's signed checkpoints (docs/audit.md).
type Audit struct {
	// Origin names the log in its checkpoints, e.g.
	// drawbridge.example.com/audit; the signing key carries the same name
	// (drawbridge audit keygen makes it from this).
	Origin string `yaml:"origin"`
	// SigningKey is the file holding the checkpoint signing key (default:
	// audit-signing.key next to the SQLite store, or next to this config
	// for PostgreSQL), or the key itself — "PRIVATE+KEY+…", e.g. from
	// ${DRAWBRIDGE_AUDIT_SIGNING_KEY}. The public key is derived from it.
	SigningKey string `yaml:"signing_key"`
	// CheckpointInterval is how often serve signs and publishes a
	// checkpoint (default 5m): history rewritten by someone with the key
	// and the database is only caught before the next checkpoint.
	CheckpointInterval Duration `yaml:"checkpoint_interval"`
	// CheckpointFile, when set, always holds the latest checkpoint
	// (replaced atomically).
	CheckpointFile string `yaml:"checkpoint_file"`
	// CheckpointDir, when set, gets one file per checkpoint, <size>.checkpoint,
	// never rewritten: point it at write-once storage or a directory a
	// backup job copies elsewhere.
	CheckpointDir string `yaml:"checkpoint_dir"`
}

// SigningKeyIsInline reports whether SigningKey holds the key itself
// rather than a file name.
func (a Audit) SigningKeyIsInline() bool {
	return strings.HasPrefix(strings.TrimSpace(a.SigningKey), "PRIVATE+KEY+")
}

// Enabled reports whether the audit section is configured: serve then
// refuses to start without a usable signing key.
func (a Audit) Enabled() bool { return a.Origin != "" }

func (c *Config) auditDefaults() {
	if c.Audit.CheckpointInterval == 0 {
		c.Audit.CheckpointInterval = Duration(5 * time.Minute)
	}
	switch {
	case c.Audit.SigningKey == "" && c.Store.Driver == "sqlite":
		c.Audit.SigningKey = filepath.Join(filepath.Dir(c.Store.DSN), "audit-signing.key")
	case c.Audit.SigningKey == "":
		c.Audit.SigningKey = c.Resolve("audit-signing.key")
	case !c.Audit.SigningKeyIsInline():
		c.Audit.SigningKey = c.Resolve(c.Audit.SigningKey)
	}
	c.Audit.CheckpointFile = c.Resolve(c.Audit.CheckpointFile)
	c.Audit.CheckpointDir = c.Resolve(c.Audit.CheckpointDir)
}

func (c *Config) validateAudit(add func(format string, args ...any)) {
	if d := c.Audit.CheckpointInterval.Std(); d < time.Second || d > 24*time.Hour {
		add("audit.checkpoint_interval %s is out of range: give 1s to 24h (default 5m; publish often, see docs/audit.md)", d)
	}
	if c.Audit.Enabled() {
		if err := audit.CheckOrigin(c.Audit.Origin); err != nil {
			add("%v", err)
		}
	} else if c.Audit.CheckpointFile != "" || c.Audit.CheckpointDir != "" {
		add("audit.checkpoint_file and audit.checkpoint_dir need audit.origin, the name of this log, e.g. drawbridge.example.com/audit")
	}
}
