package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// dueChannel is the LISTEN/NOTIFY channel on which every request write
// announces the request's due time (unix nanoseconds), at commit.
const dueChannel = "drawbridge_due"

// notifyDue queues, inside tx, the announcement of a request written due
// at due (nothing when it is never due). PostgreSQL delivers it to every
// listener when tx commits, and never when it rolls back.
func notifyDue(ctx context.Context, tx pgx.Tx, due time.Time) error {
	if due.IsZero() {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, dueChannel, strconv.FormatInt(due.UnixNano(), 10))
	return err
}

// watchRetry is how long WatchDue waits before connecting again after its
// connection failed (a restart, a failover).
const watchRetry = time.Second

// WatchDue calls fn with the due time of every request any process writes
// to this database (drawbridge.DueWatcher), through LISTEN on a connection
// of its own, until ctx ends. Each time it starts listening — first and
// after a reconnect — it calls fn with the zero time: announcements made
// while it was not listening are lost, so the caller re-reads the store.
// Notifications are a shortcut, not the record: a process that misses one
// still finds the request on its next periodic read. A failed connection
// is reported to failed (when not nil) and tried again after watchRetry.
func (db *DB) WatchDue(ctx context.Context, fn func(due time.Time), failed func(error)) {
	for ctx.Err() == nil {
		err := db.listen(ctx, fn)
		if ctx.Err() != nil {
			break
		}
		if failed != nil {
			failed(fmt.Errorf("listen for due requests (connecting again in %s): %w", watchRetry, err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(watchRetry):
		}
	}
}

// listen serves one LISTEN connection until it fails or ctx ends.
func (db *DB) listen(ctx context.Context, fn func(time.Time)) error {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+dueChannel); err != nil {
		return err
	}
	fn(time.Time{})
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		ns, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			continue // not ours: the channel is public to the database's users
		}
		fn(time.Unix(0, ns).UTC())
	}
}
