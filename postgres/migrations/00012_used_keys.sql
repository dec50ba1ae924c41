-- +goose Up
-- Single-use keys (the signatures of Slack requests) remembered until they
-- expire, so that a replay is refused by every process sharing the store.
CREATE TABLE used_keys (
    key        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL -- unix nanoseconds
);
CREATE INDEX used_keys_expires ON used_keys (expires_at);

-- +goose Down
DROP TABLE used_keys;
