// Package postgres is Drawbridge's store for several replicas:
// drawbridge.Backend on a PostgreSQL database through a pgx connection
// pool, with the same schema versions and behaviour as package sqlite (the
// conformance suite internal/storetest holds both to it).
//
// What SQLite gets from having one writer at a time is explicit here,
// because READ COMMITTED transactions run side by side:
//   - the audit chain's head is one row (audit_head) that every append
//     locks, so appends from any number of processes form one chain with
//     gap-free sequence numbers (the number comes from the locked head in
//     the same transaction, never from a sequence);
//   - the assignment claim rule and the one-live-extension rule take a
//     transaction-scoped advisory lock on the assignment's (or the extended
//     request's) key before they check, so two transactions cannot both
//     pass the check;
//   - optimistic versions are an UPDATE … WHERE version = $n, which
//     PostgreSQL re-evaluates against the row a concurrent writer committed.
//
// A transaction that PostgreSQL aborts as a serialisation failure or a
// deadlock (SQLSTATE 40001, 40P01) is run again, a few times.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/drawbridge-jit/drawbridge"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is a Drawbridge store on one PostgreSQL database. It implements
// drawbridge.Backend and is safe for concurrent use.
type DB struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	migrate bool
	// idSkew is the largest request_id_skew this process has committed
	// or -1: raiseIDSkew skips the write below it.
	idSkew atomic.Int64
}

var _ drawbridge.Backend = (*DB)(nil)

// Option configures Open.
type Option func(*DB)

// WithNow sets the clock used to stamp audit events that arrive without a
// time (default time.Now); pass a fake clock's Now in tests.
func WithNow(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// WithMigrate makes Open bring the schema up to date first (tests, and
// one-process setups); without it Open only checks the schema (see Open).
func WithMigrate() Option {
	return func(db *DB) { db.migrate = true }
}

// Open connects to the database dsn names (a postgres:// URL or a
// key=value string; pool_max_conns and the other pgxpool settings are
// honoured) and checks its schema: a schema older than this build's is
// refused with the command that migrates it (replicas never change a
// shared schema on their own, and an older replica keeps running while a
// newer one waits), a newer one is refused because this build does not
// know its rules. Errors never contain the password.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	db := &DB{now: time.Now}
	db.idSkew.Store(-1)
	for _, o := range opts {
		o(db)
	}
	pool, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	db.pool = pool
	if db.migrate {
		if _, _, err := migrateTo(ctx, pool, 0); err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres: migrate %s: %s", Redact(dsn), redactErr(err, dsn))
		}
	}
	if err := checkSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if err := db.hashOlderEvents(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %s: %s", Redact(dsn), redactErr(err, dsn))
	}
	return db, nil
}

func connect(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "postgres: the dsn %s does not parse: %s", Redact(dsn), redactErr(err, dsn))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to %s: %s", Redact(dsn), redactErr(err, dsn))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %s", Redact(dsn), redactErr(err, dsn))
	}
	return pool, nil
}

// provider is goose over pool (through database/sql, which goose needs).
// goose's session lock, a PostgreSQL advisory lock, makes replicas
// migrating together apply each migration once. Close the *sql.DB after.
func provider(pool *pgxpool.Pool) (*goose.Provider, *sql.DB, error) {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, nil, err
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		sqlDB.Close()
		return nil, nil, err
	}
	return p, sqlDB, nil
}

// latest is the newest schema version this build knows.
func latest(p *goose.Provider) int64 {
	src := p.ListSources()
	return src[len(src)-1].Version
}

// checkSchema refuses a schema older or newer than this build's.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	p, sqlDB, err := provider(pool)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("postgres: read the schema version: %w", err)
	}
	switch want := latest(p); {
	case cur > want:
		return fmt.Errorf("postgres: the database schema is at version %d, newer than this drawbridge knows (%d): a newer release migrated it; run that release (migrations only move forward)", cur, want)
	case cur < want:
		return fmt.Errorf("postgres: the database schema is at version %d, this drawbridge needs %d: run `drawbridge migrate` with the same --config (once, from one place), then start again", cur, want)
	}
	return nil
}

// Migrate applies the migrations up to version to (0: all) to the
// database dsn names and returns the schema version before and after. It
// only moves forward: the down migrations drop tables (the audit chain
// among them), so a lower to is refused.
func Migrate(ctx context.Context, dsn string, to int64) (from, now int64, err error) {
	pool, err := connect(ctx, dsn)
	if err != nil {
		return 0, 0, err
	}
	defer pool.Close()
	from, now, err = migrateTo(ctx, pool, to)
	if err != nil {
		return from, now, fmt.Errorf("postgres: migrate %s: %s", Redact(dsn), redactErr(err, dsn))
	}
	return from, now, nil
}

func migrateTo(ctx context.Context, pool *pgxpool.Pool, to int64) (from, now int64, err error) {
	p, sqlDB, err := provider(pool)
	if err != nil {
		return 0, 0, err
	}
	defer sqlDB.Close()
	if from, err = p.GetDBVersion(ctx); err != nil {
		return 0, 0, err
	}
	want := latest(p)
	switch {
	case to == 0:
		to = want
	case to < 0 || to > want:
		return from, from, drawbridge.Errorf(drawbridge.EINVALID, "there is no schema version %d: this drawbridge knows versions up to %d", to, want)
	case to < from:
		return from, from, drawbridge.Errorf(drawbridge.EINVALID, "the schema is at version %d; migrations only move forward (going back to %d would drop data): restore a backup instead", from, to)
	}
	if _, err := p.UpTo(ctx, to); err != nil {
		return from, from, err
	}
	now, err = p.GetDBVersion(ctx)
	return from, now, err
}

// Version is one schema migration and whether the database has it.
type Version struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Status returns every migration this build knows, oldest first, and
// whether the database dsn names has applied it.
func Status(ctx context.Context, dsn string) ([]Version, error) {
	pool, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	p, sqlDB, err := provider(pool)
	if err != nil {
		return nil, err
	}
	defer sqlDB.Close()
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: migration status of %s: %s", Redact(dsn), redactErr(err, dsn))
	}
	out := make([]Version, len(st))
	for i, s := range st {
		out[i] = Version{Version: s.Source.Version, Name: filepath.Base(s.Source.Path), Applied: s.State == goose.StateApplied, AppliedAt: s.AppliedAt.UTC()}
	}
	return out, nil
}

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping reports whether the database answers (readiness).
func (db *DB) Ping(ctx context.Context) error {
	return db.pool.Ping(ctx)
}

// maxAttempts bounds how often inTx runs a transaction PostgreSQL aborted
// as a serialisation failure or deadlock.
const maxAttempts = 5

// inTx runs fn in a READ COMMITTED transaction and commits if fn returns
// nil, running it again when PostgreSQL aborts it for a reason a retry
// cures.
func (db *DB) inTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return fn(ctx, tx) })
		if err == nil || !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return err
		}
	}
}

// SQLSTATEs the store classifies errors by.
const (
	uniqueViolation      = "23505"
	foreignKeyViolation  = "23503"
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
)

func sqlState(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func retryable(err error) bool {
	s := sqlState(err)
	return s == serializationFailure || s == deadlockDetected
}

// lockKey takes a transaction-scoped advisory lock on key, released at
// commit or rollback: the per-assignment (or per-extended-request)
// serialisation point of the store's cross-process rules.
func lockKey(ctx context.Context, tx pgx.Tx, key string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key)
	return err
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

// checkTime rejects a time that unix nanoseconds cannot hold.
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

// Redact returns dsn with its password replaced by "***", for messages
// and logs: a URL's user password or password parameter, a key=value
// string's password=…, and any other spelling of them.
func Redact(dsn string) string {
	out := kvPassword.ReplaceAllString(dsn, "${1}***")
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "***")
			u.RawQuery = q.Encode()
		}
		out = u.String()
	}
	return redactString(out, dsn)
}

// redactErr is err's message with any password of dsn removed: pgx's
// errors can quote the string they failed on.
func redactErr(err error, dsn string) string {
	return redactString(err.Error(), dsn)
}

func redactString(s, dsn string) string {
	for _, p := range passwords(dsn) {
		if p != "***" {
			s = replaceAll(s, p, "***")
		}
	}
	return s
}
