package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/drawbridge-jit/drawbridge/clock"
)

// Sink receives every checkpoint the publisher issues. Publish must leave
// either the whole checkpoint or nothing where readers look (a kill in the
// middle must never publish a partial or inconsistent one), and must
// accept the same checkpoint twice.
type Sink interface {
	PublishCheckpoint(ctx context.Context, c Checkpoint) error
}

// Publisher issues checkpoints of a store's log and publishes them to its
// sinks. Latest and LeafHash are the API a streaming sink (SIEM) calls.
type Publisher struct {
	Store  HashStore
	Signer Signer
	Sinks  []Sink
	// Interval between checkpoints in Run.
	Interval time.Duration
	Clock    clock.Clock

	mu     sync.Mutex
	latest Checkpoint
	have   bool
}

// Latest returns the last checkpoint this publisher issued and published
// to every sink; ok is false before the first.
func (p *Publisher) Latest() (c Checkpoint, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latest, p.have
}

// Resume makes c the previous checkpoint, as read back from where an
// earlier run published it: the next one must extend it.
func (p *Publisher) Resume(c Checkpoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latest, p.have = c, true
}

// Publish signs a checkpoint of the committed log, checks that it extends
// the previous one (a publisher never signs a history that contradicts
// what it signed before), and hands it to every sink. Publishing is
// serialised, so checkpoints reach each sink in order of size.
func (p *Publisher) Publish(ctx context.Context) (Checkpoint, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := NewCheckpoint(ctx, p.Store, p.Signer)
	if err != nil {
		return Checkpoint{}, err
	}
	if p.have {
		if err := CheckConsistent(ctx, p.Store, p.latest, c); err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint not published: %w", err)
		}
	}
	var errs []error
	for _, s := range p.Sinks {
		if err := s.PublishCheckpoint(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("publish checkpoint of %d events: %w", c.Size, err)
	}
	p.latest, p.have = c, true
	return c, nil
}

// Run publishes a checkpoint now and then every Interval until ctx ends.
// A failed publication is reported to onErr and retried at the next tick:
// the log keeps growing either way, and the next checkpoint covers it.
func (p *Publisher) Run(ctx context.Context, onErr func(error)) error {
	for {
		if _, err := p.Publish(ctx); err != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.Clock.After(p.Interval):
		}
	}
}

// FileSink writes checkpoints to files. Latest, when set, always holds the
// newest checkpoint; Dir, when set, gets one file per checkpoint named by
// its tree size, never rewritten (write-once storage friendly). Both are
// written to a temporary file, synced, and then renamed (Latest) or linked
// (Dir) into place, and the directory synced: a reader sees a whole signed
// checkpoint or the previous one, never part of one, whenever the process
// dies.
type FileSink struct {
	Latest string
	Dir    string
}

// PublishCheckpoint implements Sink.
func (f FileSink) PublishCheckpoint(_ context.Context, c Checkpoint) error {
	if f.Dir != "" {
		if err := writeOnce(filepath.Join(f.Dir, strconv.FormatInt(c.Size, 10)+".checkpoint"), c.Signed); err != nil {
			return err
		}
	}
	if f.Latest != "" {
		return replaceFile(f.Latest, c.Signed)
	}
	return nil
}

// step is called between the steps of a file publication; a test makes it
// fail to stop a publication at each point a kill could.
var step = func(string) error { return nil }

// tempFile writes data to a new synced temporary file beside path.
func tempFile(path string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", fmt.Errorf("checkpoint file: %w", err)
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("checkpoint file %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	half := len(data) / 2
	if _, err := f.Write(data[:half]); err != nil {
		return fail(err)
	}
	if err := step("write"); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data[half:]); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("checkpoint file %s: %w", path, err)
	}
	return name, nil
}

func replaceFile(path string, data []byte) error {
	tmp, err := tempFile(path, data)
	if err != nil {
		return err
	}
	if err := step("rename"); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("checkpoint file: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// writeOnce creates path with data unless it exists; an existing file must
// hold the same checkpoint (signing is deterministic, so an unchanged log
// signs the same bytes) — a different one at the same size is refused.
func writeOnce(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil {
		if bytes.Equal(old, data) {
			return nil
		}
		return fmt.Errorf("checkpoint file %s already holds a different checkpoint of the same size: the log was rewritten; keep that file, it is the evidence", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checkpoint file: %w", err)
	}
	tmp, err := tempFile(path, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := step("link"); err != nil {
		return err
	}
	// A hard link never replaces an existing file, unlike rename.
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("checkpoint file: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("checkpoint directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("checkpoint directory %s: %w", dir, err)
	}
	return nil
}
