-- Notifications (package notify): the pre-expiry notice's own due time, and
-- one delivery cursor per notifier over the audit chain, which is the outbox.
--
-- notice_at: when an ACTIVE grant's grant.expiring notice is due (NULL once
-- recorded, or when there is none). Grants already ACTIVE at the upgrade get
-- no notice; due_at, which the engine sleeps on, already holds their expiry.
--
-- notify_cursors: seq is the last audit event the notifier has finished
-- with (delivered, or nothing to deliver); holder and lease_until are the
-- lease of the one worker, among the processes sharing the store, that
-- delivers for this notifier until lease_until (unix ns).

-- +goose Up
ALTER TABLE requests ADD COLUMN notice_at BIGINT;

CREATE TABLE notify_cursors (
    name        TEXT   NOT NULL PRIMARY KEY,
    seq         BIGINT NOT NULL,
    holder      TEXT   NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE notify_cursors;
ALTER TABLE requests DROP COLUMN notice_at;
