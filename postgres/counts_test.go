package postgres_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/drawbridge-jit/drawbridge/internal/pgtest"
	"github.com/drawbridge-jit/drawbridge/postgres"
)

// A /metrics scrape reads the counts the store keeps as it writes, not the
// requests table: counting a million requests per scrape cost seconds of
// CPU (issue 14).
func TestCountRequestsReadsNoRequestRow(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	if _, _, err := postgres.Migrate(ctx, dsn, 0); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `EXPLAIN `+postgres.CountRequestsSQL)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`\bon requests\b|\brequests_\w+ on requests\b`).MatchString(line) {
			t.Errorf("the count query reads the requests table: %s", line)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
