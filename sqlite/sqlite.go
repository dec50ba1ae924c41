// Package sqlite is Drawbridge's embedded store: drawbridge.Store on a
// single SQLite file (pure Go, modernc.org/sqlite), the default for one
// server and for local CLI use. Requests and their audit events are written
// in one transaction; the audit chain is sealed with package audit.
//
// Writes go through a pool of one connection whose transactions begin
// IMMEDIATE, so writers in this process queue in Go and writers in other
// processes (a CLI next to the server) wait on SQLite's busy timeout instead
// of failing with SQLITE_BUSY. Reads use a separate pool of read-only
// connections, which WAL lets run alongside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/drawbridge-jit/drawbridge"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// busyTimeout is how long a writer waits for another process's write
// transaction before giving up with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// DB is a Drawbridge store on one SQLite file. It implements
// drawbridge.Backend and is safe for concurrent use.
type DB struct {
	path  string
	write *sql.DB // one connection, IMMEDIATE transactions
	read  *sql.DB // read-only connections
	now   func() time.Time
	warn  func(string)
	stmts statements
	// idSkew is the largest request_id_skew this process has committed
	// or -1: raiseIDSkew skips the write below it.
	idSkew atomic.Int64
	// readStmts are the read pool's statements prepared on first use,
	// by their text (see readStmt).
	readStmts stmtCache

	// writes feeds the group-commit writer (see inWriteTx); closed stops
	// it and writerDone says it has stopped.
	writes     chan *writeOp
	closed     chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
}

// statements are the hot queries, prepared once. The write pool has one
// connection that lives as long as the DB, so tx.StmtContext always finds
// the statement already prepared on it; preparing a 33-column INSERT costs
// about as much as running it.
type statements struct {
	insertRequest, updateRequest, requestVersion *sql.Stmt // write pool
	chainHead, insertAudit                       *sql.Stmt // write pool
	insertHash, readHash                         *sql.Stmt // write pool
	getRequest                                   *sql.Stmt // read pool
}

func (db *DB) prepare(ctx context.Context) error {
	for _, s := range []struct {
		stmt  **sql.Stmt
		pool  *sql.DB
		query string
	}{
		{&db.stmts.insertRequest, db.write, insertRequestSQL},
		{&db.stmts.updateRequest, db.write, updateRequestSQL},
		{&db.stmts.requestVersion, db.write, `SELECT version FROM requests WHERE id = ?`},
		{&db.stmts.chainHead, db.write, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`},
		{&db.stmts.insertAudit, db.write, insertAuditSQL},
		{&db.stmts.insertHash, db.write, `INSERT INTO audit_hashes (idx, hash) VALUES (?, ?)`},
		{&db.stmts.readHash, db.write, `SELECT hash FROM audit_hashes WHERE idx = ?`},
		{&db.stmts.getRequest, db.read, `SELECT ` + requestColumns + ` FROM requests WHERE id = ?`},
	} {
		stmt, err := s.pool.PrepareContext(ctx, s.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", s.query, err)
		}
		*s.stmt = stmt
	}
	return nil
}

// stmtCache holds prepared statements by their SQL text.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// maxCachedStmts bounds the cache: the queries are built from a few shapes
// (filters, IN lists of a few lengths), so this is never reached in
// practice, and past it a query is parsed each time as before.
const maxCachedStmts = 512

// readStmt returns query prepared on the read pool, preparing it when
// prepare is set and it is not yet; nil when it is not prepared (the cache
// is full, preparing failed or was not asked for: the caller then runs the
// text, which reports any error). Parsing and planning a list or history
// query costs about as much as running it, and the broker runs the same
// few shapes on every submit.
func (db *DB) readStmt(ctx context.Context, query string, prepare bool) *sql.Stmt {
	c := &db.readStmts
	c.mu.Lock()
	st, full := c.m[query], len(c.m) >= maxCachedStmts
	c.mu.Unlock()
	if st != nil || !prepare || full {
		return st
	}
	st, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.m[query]; prev != nil {
		st.Close()
		return prev
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st
}

// readRow runs a one-row query on the read pool through its prepared
// statement.
func (db *DB) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.readStmt(ctx, query, true); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.read.QueryRowContext(ctx, query, args...)
}

var _ drawbridge.Backend = (*DB)(nil)

// Option configures Open.
type Option func(*DB)

// WithNow sets the clock used to stamp audit events that arrive without a
// time (default time.Now); pass a fake clock's Now in tests.
func WithNow(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// WithWarnings sets where Open reports what it changed that the operator
// should know about (a store file it made private); by default nowhere.
func WithWarnings(warn func(string)) Option {
	return func(db *DB) { db.warn = warn }
}

// Open opens (creating if needed) the SQLite database at path and brings
// its schema up to date. Two DBs may be open on one file, in one process or
// several: migrations and writes serialise on SQLite's write lock.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// Two pools on ":memory:" would be two different databases.
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "sqlite: need a file path, got %q", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	db := &DB{path: abs, now: time.Now, warn: func(string) {}}
	db.idSkew.Store(-1)
	for _, o := range opts {
		o(db)
	}
	if err := privateFiles(abs, db.warn); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", abs, err)
	}

	// synchronous=FULL: a commit is on disk before it is acknowledged. With
	// NORMAL, a power cut could lose the record of a grant the provider
	// already made; the broker writes before it calls a provider, so it
	// needs the write to stick.
	db.write, err = sql.Open("sqlite", dsn(abs,
		"_pragma=busy_timeout("+fmt.Sprint(busyTimeout.Milliseconds())+")",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)",
		"_pragma=foreign_keys(1)",
		"_txlock=immediate",
	))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxIdleTime(0)
	db.write.SetConnMaxLifetime(0)
	if err := db.migrate(ctx); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", abs, err)
	}

	// Readers are opened after the writer switched the file to WAL (a
	// persistent setting), and query_only makes a write through them an
	// error rather than a second, unserialised writer.
	db.read, err = sql.Open("sqlite", dsn(abs,
		"_pragma=busy_timeout("+fmt.Sprint(busyTimeout.Milliseconds())+")",
		"_pragma=foreign_keys(1)",
		"_pragma=query_only(1)",
	))
	if err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	if err := db.prepare(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	if err := db.hashOlderEvents(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	db.writes = make(chan *writeOp)
	db.closed = make(chan struct{})
	db.writerDone = make(chan struct{})
	go db.writer()
	return db, nil
}

// dsn builds a file: URI, so that a path containing '?', '#' or '%' is
// escaped instead of being read as parameters.
func dsn(abs string, params ...string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: strings.Join(params, "&")}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path // Windows: file:///C:/...
	}
	return u.String()
}

// migrate applies the embedded migrations with a goose Provider of its own
// (no package globals, so several stores can open in one process).
func (db *DB) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.write, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	// Provider.Close would close db.write; there is nothing else to release.
	//
	// goose has no SQLite locker, so another process may apply a migration
	// between our version check and our IMMEDIATE transaction; ours then
	// fails ("table already exists") and rolls back. Running Up again sees
	// that version applied and carries on from there, so a few attempts
	// settle any race while a real error still fails every attempt.
	for attempt := 1; ; attempt++ {
		_, err = p.Up(ctx)
		if err == nil || attempt == 5 || ctx.Err() != nil {
			return err
		}
	}
}

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// Close stops the writer and closes both connection pools.
func (db *DB) Close() error {
	if db.writes != nil {
		db.closeOnce.Do(func() { close(db.closed) })
		<-db.writerDone
	}
	var errs []error
	for _, st := range []*sql.Stmt{db.stmts.insertRequest, db.stmts.updateRequest, db.stmts.requestVersion,
		db.stmts.chainHead, db.stmts.insertAudit, db.stmts.insertHash, db.stmts.readHash, db.stmts.getRequest} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	db.readStmts.mu.Lock()
	for _, st := range db.readStmts.m {
		errs = append(errs, st.Close())
	}
	db.readStmts.m = nil
	db.readStmts.mu.Unlock()
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// writeOp is one write transaction waiting for the writer.
type writeOp struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error // answered exactly once
}

// maxBatch bounds how many write transactions share one commit.
const maxBatch = 128

var errClosed = errors.New("sqlite: store is closed")

// inWriteTx runs fn in a write transaction and commits if fn returns nil;
// fn must use the context it is given, not its caller's.
//
// Writes are group-committed: one goroutine owns the write connection and
// runs every fn that is waiting when it gets to them in one SQLite
// transaction; one fn's failure rolls back only its own changes (see
// commitBatch, which may run fn twice: fn must derive everything from tx
// and its inputs). With synchronous=FULL each commit is an
// fsync; sharing it is what lets many concurrent grants and revocations
// through without giving up durability. fn sees exactly the database its
// own transaction would (earlier fns of the batch included, as if they had
// committed first), and inWriteTx returns only after the commit that holds
// fn's changes is on disk.
func (db *DB) inWriteTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	op := &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.writes <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.closed:
		return errClosed
	}
	return <-op.done
}

// writer runs batches until Close.
func (db *DB) writer() {
	defer close(db.writerDone)
	for {
		var first *writeOp
		select {
		case first = <-db.writes:
		case <-db.closed:
			return
		}
		batch := []*writeOp{first}
	gather:
		for len(batch) < maxBatch {
			select {
			case op := <-db.writes:
				batch = append(batch, op)
			default:
				break gather
			}
		}
		db.commitBatch(batch)
	}
}

// commitBatch runs a batch in one transaction and answers every op.
//
// The batch first runs without savepoints: a savepoint per op costs three
// more statements each, and almost every op succeeds. When one fails, its
// statements before the failure may already be in the transaction, so the
// whole transaction is rolled back and the batch runs again with a
// savepoint around each op, where a failure undoes only its own
// statements. An fn may therefore run twice; it must compute everything
// from tx and its inputs (every fn here does: it sets what it reports on
// each run), and nothing of the first run is ever committed.
func (db *DB) commitBatch(batch []*writeOp) {
	if len(batch) > 1 {
		if results, ok := db.runBatch(batch, false); ok {
			db.finishBatch(batch, results)
			return
		}
	}
	results, _ := db.runBatch(batch, len(batch) > 1)
	db.finishBatch(batch, results)
}

// runBatch runs batch in one transaction, each op in a savepoint of its own
// when savepoints is set, and commits if any op succeeded. Without
// savepoints it stops at the first op that fails, rolls back and reports
// !ok: nothing was committed and no op is answered.
func (db *DB) runBatch(batch []*writeOp, savepoints bool) (results []error, ok bool) {
	results = make([]error, len(batch))
	fail := func(err error) []error {
		for i := range results {
			if results[i] == nil {
				results[i] = err
			}
		}
		return results
	}
	// The transaction is not bound to any one caller's context: a caller
	// giving up must not roll back the others' work. Each fn runs with its
	// caller's values but without its cancellation, because interrupting
	// a statement can make SQLite roll back the whole transaction; a
	// caller already gone is skipped before its fn starts instead.
	tx, err := db.write.BeginTx(context.Background(), nil)
	if err != nil {
		return fail(fmt.Errorf("sqlite: begin: %w", err)), true
	}
	succeeded := 0
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if savepoints {
			results[i] = db.inSavepoint(tx, op)
		} else {
			results[i] = op.fn(context.WithoutCancel(op.ctx), tx)
		}
		if results[i] == nil {
			succeeded++
		} else if !savepoints && len(batch) > 1 {
			tx.Rollback() //nolint:errcheck // the batch runs again with savepoints
			return nil, false
		}
	}
	if succeeded == 0 {
		tx.Rollback() //nolint:errcheck // nothing to keep
		return results, true
	}
	if err := tx.Commit(); err != nil {
		return fail(fmt.Errorf("sqlite: commit: %w", err)), true
	}
	return results, true
}

// finishBatch answers every op of a batch.
func (db *DB) finishBatch(batch []*writeOp, results []error) {
	for i, op := range batch {
		op.done <- results[i]
	}
}

// inSavepoint runs one op of a batch so that its failure undoes only its
// own statements.
func (db *DB) inSavepoint(tx *sql.Tx, op *writeOp) error {
	ctx := context.Background()
	if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
		return fmt.Errorf("sqlite: savepoint: %w", err)
	}
	if err := op.fn(context.WithoutCancel(op.ctx), tx); err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO op"); rerr != nil {
			return errors.Join(err, fmt.Errorf("sqlite: rollback to savepoint: %w", rerr))
		}
		tx.ExecContext(ctx, "RELEASE op") //nolint:errcheck // after ROLLBACK TO, RELEASE cannot fail but for a closed conn, which the commit reports
		return err
	}
	if _, err := tx.ExecContext(ctx, "RELEASE op"); err != nil {
		return fmt.Errorf("sqlite: release savepoint: %w", err)
	}
	return nil
}

// Times are stored as unix nanoseconds, which cover 1678 to 2262.
var (
	minTime = time.Unix(0, -1<<63).UTC()
	maxTime = time.Unix(0, 1<<63-1).UTC()
)

// nanos is the column value of t: NULL when zero.
func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// checkTime rejects a time that unix nanoseconds cannot hold, which would
// otherwise wrap around silently.
func checkTime(name string, t time.Time) error {
	if !t.IsZero() && (t.Before(minTime) || t.After(maxTime)) {
		return drawbridge.Errorf(drawbridge.EINVALID, "%s %s is out of range (years 1678 to 2262)", name, t.Format(time.RFC3339))
	}
	return nil
}

// fromNanos is the time of a column value: zero when NULL, else UTC.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
