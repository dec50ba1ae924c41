-- +goose Up
-- The audit chain's view of each request: the digest of the state its
-- last state-recording event holds (drawbridge.RequestState), and when
-- that state says the request is due (the recorded end of an ACTIVE
-- grant). Written in the transaction that appends the event. The engine
-- looks at chain_due as well as the row's due_at, so a row whose end was
-- moved later by SQL is still revoked at the recorded end; audit verify
-- checks this table against the events too.
CREATE TABLE request_bindings (
    request_id TEXT PRIMARY KEY,
    digest     TEXT NOT NULL,
    chain_due  INTEGER
) WITHOUT ROWID;
CREATE INDEX request_bindings_due ON request_bindings (chain_due) WHERE chain_due IS NOT NULL;

-- +goose Down
DROP TABLE request_bindings;
