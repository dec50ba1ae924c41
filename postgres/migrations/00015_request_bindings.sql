-- +goose Up
-- When the state the audit chain recorded last for a request says it is
-- due whatever its row says: the recorded end of an ACTIVE grant
-- (drawbridge.RequestState.Due); no row otherwise. Written in the
-- transaction that records the state. The engine looks at it as well as
-- the row's due_at, so a grant whose row end was moved later by SQL is
-- still revoked at the recorded end. It is an index of the chain, not
-- evidence: revocation reads the recorded state from the events.
CREATE TABLE request_bindings (
    request_id TEXT   PRIMARY KEY,
    chain_due  BIGINT NOT NULL
);
CREATE INDEX request_bindings_due ON request_bindings (chain_due);

-- +goose Down
DROP TABLE request_bindings;
