-- +goose Up
-- A token's scope names providers (configured instance names) beside
-- resources (accounts) and roles (permission sets): a JSON array, empty
-- meaning unrestricted, like the other two.
ALTER TABLE tokens ADD COLUMN providers TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE tokens DROP COLUMN providers;
