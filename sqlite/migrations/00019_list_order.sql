-- +goose Up
-- Lists that read in id order and stop after the page (ListRequests).
-- A scoped auditor's list is one arm per scoped account, or per scoped
-- provider, each read newest first from these indexes and merged: without
-- them SQLite read every request of the 30 accounts of a scope and sorted
-- them for each page (3.2 s at a million requests).
CREATE INDEX requests_resource_id ON requests (resource, id);
CREATE INDEX requests_provider_id ON requests (provider, id);

-- Request ids sort like creation times (drawbridge.RequestIDRange): the
-- largest difference, in milliseconds, between the time an id carries and
-- its request's created_at, over every request stored. A window of
-- creation times is read as a range of ids widened by it, so a one-month
-- window no longer walks every newer row. Writers raise it in the
-- transaction that stores a request; 9223372036854775807 (no bound) once a
-- stored id carries no time.
CREATE TABLE request_id_skew (
    one INTEGER NOT NULL PRIMARY KEY CHECK (one = 1),
    ms  BIGINT  NOT NULL CHECK (ms >= 0)
);
INSERT INTO request_id_skew (one, ms)
SELECT 1, COALESCE(MAX(CASE
        WHEN id GLOB 'req_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
        THEN abs(created_at / 1000000 - (((instr('0123456789abcdef', substr(id, 5, 1)) - 1) << 44) + ((instr('0123456789abcdef', substr(id, 6, 1)) - 1) << 40) + ((instr('0123456789abcdef', substr(id, 7, 1)) - 1) << 36) + ((instr('0123456789abcdef', substr(id, 8, 1)) - 1) << 32) + ((instr('0123456789abcdef', substr(id, 9, 1)) - 1) << 28) + ((instr('0123456789abcdef', substr(id, 10, 1)) - 1) << 24) + ((instr('0123456789abcdef', substr(id, 11, 1)) - 1) << 20) + ((instr('0123456789abcdef', substr(id, 12, 1)) - 1) << 16) + ((instr('0123456789abcdef', substr(id, 13, 1)) - 1) << 12) + ((instr('0123456789abcdef', substr(id, 14, 1)) - 1) << 8) + ((instr('0123456789abcdef', substr(id, 15, 1)) - 1) << 4) + ((instr('0123456789abcdef', substr(id, 16, 1)) - 1) << 0)))
        ELSE 9223372036854775807 END), 0)
FROM requests;

-- +goose Down
DROP TABLE request_id_skew;
DROP INDEX requests_provider_id;
DROP INDEX requests_resource_id;
