-- +goose Up
-- Reconciliation reads a provider resource's live grants and recorded
-- standing access in keyset pages (Store.AssignmentHolders) through an
-- index of exactly those rows, so a pass costs the grants it checks, not
-- the history; and an assignment's last ended grant is one step back along
-- requests_assignment, which now ends in ended_at (Store.LastEndedGrant),
-- instead of every ended grant of the assignment read and compared.
DROP INDEX requests_assignment;
CREATE INDEX requests_assignment ON requests (provider, resource, role, principal_ref, ended_at);
CREATE INDEX requests_holders ON requests (provider, resource, role, principal_ref, id)
    WHERE state IN ('PROVISIONING', 'ACTIVE', 'REVOKING') OR preexisting_access;

-- How many requests are in each state through each channel, and how many of
-- them have failed revocation attempts: the gauges of /metrics and
-- /api/metrics. Counting the requests table on every scrape cost seconds of
-- CPU at a million requests; these rows are kept by the triggers below in
-- the same transaction as every write of a request, whichever code writes
-- it (the store, `drawbridge store copy`, an operator's SQL), so they cannot
-- drift from the rows. A derived count, not a rule: nothing reads it but
-- CountRequests, and a recount in the conformance suite checks it.
-- (PostgreSQL spreads each pair over shards so concurrent writers do not
-- queue on one row; SQLite has one writer, so shard is always 0.)
CREATE TABLE request_counts (
    state   TEXT    NOT NULL,
    channel TEXT    NOT NULL,
    shard   INTEGER NOT NULL DEFAULT 0,
    n       BIGINT  NOT NULL DEFAULT 0,
    failing BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (state, channel, shard)
);

INSERT INTO request_counts (state, channel, n, failing)
    SELECT state, channel, COUNT(*), SUM(revoke_attempts > 0) FROM requests GROUP BY state, channel;

-- +goose StatementBegin
CREATE TRIGGER request_counts_insert AFTER INSERT ON requests
BEGIN
    INSERT INTO request_counts (state, channel, n, failing) VALUES (NEW.state, NEW.channel, 1, NEW.revoke_attempts > 0)
        ON CONFLICT (state, channel, shard) DO UPDATE SET n = n + 1, failing = failing + excluded.failing;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER request_counts_update AFTER UPDATE OF state, channel, revoke_attempts ON requests
    WHEN OLD.state != NEW.state OR OLD.channel != NEW.channel OR (OLD.revoke_attempts > 0) != (NEW.revoke_attempts > 0)
BEGIN
    UPDATE request_counts SET n = n - 1, failing = failing - (OLD.revoke_attempts > 0)
        WHERE state = OLD.state AND channel = OLD.channel AND shard = 0;
    INSERT INTO request_counts (state, channel, n, failing) VALUES (NEW.state, NEW.channel, 1, NEW.revoke_attempts > 0)
        ON CONFLICT (state, channel, shard) DO UPDATE SET n = n + 1, failing = failing + excluded.failing;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER request_counts_delete AFTER DELETE ON requests
BEGIN
    UPDATE request_counts SET n = n - 1, failing = failing - (OLD.revoke_attempts > 0)
        WHERE state = OLD.state AND channel = OLD.channel AND shard = 0;
END;
-- +goose StatementEnd

-- +goose Down
DROP INDEX requests_holders;
DROP INDEX requests_assignment;
CREATE INDEX requests_assignment ON requests (provider, resource, role, principal_ref);
DROP TRIGGER request_counts_delete;
DROP TRIGGER request_counts_update;
DROP TRIGGER request_counts_insert;
DROP TABLE request_counts;
