-- Requests and the audit chain.
--
-- PostgreSQL's dialect of sqlite/migrations/00001_init.sql (same version,
-- same columns). Times are BIGINT unix nanoseconds in UTC (NULL = unset), as
-- in SQLite, so both stores order and compare them the same way. Ids are
-- COLLATE "C" (byte order, as in SQLite): pages are ordered and cut by id,
-- and must not depend on the database's locale.

-- +goose Up
CREATE TABLE requests (
    id                  TEXT    COLLATE "C" NOT NULL PRIMARY KEY,
    requester           TEXT    NOT NULL,
    provider            TEXT    NOT NULL,
    resource            TEXT    NOT NULL,
    role                TEXT    NOT NULL,
    duration_ns         BIGINT  NOT NULL,
    reason              TEXT    NOT NULL DEFAULT '',
    ticket              TEXT    NOT NULL DEFAULT '',
    channel             TEXT    NOT NULL DEFAULT '',
    state               TEXT    NOT NULL,
    -- the policy decision
    effect              TEXT    NOT NULL DEFAULT '',
    rule                TEXT    NOT NULL DEFAULT '',
    policy_sha256       TEXT    NOT NULL DEFAULT '',
    decision_reason     TEXT    NOT NULL DEFAULT '',
    approvals_required  INTEGER NOT NULL DEFAULT 0,
    approval_timeout_ns BIGINT  NOT NULL DEFAULT 0,
    -- JSON array of drawbridge.Approval
    approvals           TEXT    NOT NULL DEFAULT '[]',
    extends             TEXT    COLLATE "C" REFERENCES requests (id),
    created_at          BIGINT  NOT NULL,
    decided_at          BIGINT,
    approval_deadline   BIGINT,
    activated_at        BIGINT,
    expires_at          BIGINT,
    ended_at            BIGINT,
    next_attempt_at     BIGINT,
    -- Request.DueAt(), kept by the store so the expiry engine finds the next
    -- due request through an index.
    due_at              BIGINT,
    provider_ref        TEXT    NOT NULL DEFAULT '',
    preexisting_access  BOOLEAN NOT NULL DEFAULT FALSE,
    revoke_attempts     INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT    NOT NULL DEFAULT '',
    end_reason          TEXT    NOT NULL DEFAULT '',
    revoked_by          TEXT    NOT NULL DEFAULT '',
    version             BIGINT  NOT NULL
);

CREATE INDEX requests_state_expires ON requests (state, expires_at);
CREATE INDEX requests_state_id ON requests (state, id);
CREATE INDEX requests_due ON requests (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX requests_requester ON requests (requester, id);
CREATE INDEX requests_resource_role ON requests (resource, role, id);
CREATE INDEX requests_created ON requests (created_at);
CREATE INDEX requests_assignment ON requests (provider, resource, role, provider_ref);
CREATE INDEX requests_extends ON requests (extends) WHERE extends IS NOT NULL;

-- The hash chain: seq is assigned by the store as last + 1 inside the write
-- transaction that records the change, never by a sequence (a sequence
-- leaves gaps on rollback, and leaf numbers are gap-free).
CREATE TABLE audit_events (
    seq        BIGINT  NOT NULL PRIMARY KEY,
    time       BIGINT  NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    request_id TEXT    NOT NULL DEFAULT '',
    -- JSON object of string values
    details    TEXT    NOT NULL DEFAULT '{}',
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
);

CREATE INDEX audit_events_request ON audit_events (request_id, seq);

-- The head of the chain, one row: every append locks it (SELECT … FOR
-- UPDATE) before reading the last seq and hash, and moves it in the same
-- transaction. SQLite serialises writers by itself; here this row is the
-- serialisation point that keeps one chain when several processes append.
CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_events;
DROP TABLE requests;
