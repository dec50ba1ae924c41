-- +goose Up
-- Provisioning retries get their own counter; revoke_attempts counts only
-- revocation attempts.
ALTER TABLE requests ADD COLUMN provision_attempts INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE requests DROP COLUMN provision_attempts;
