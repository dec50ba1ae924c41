-- +goose Up
-- The provider contract names things once: principal_ref is the provider's
-- id for the person (it was provider_ref), grant_ref the provider's id for
-- the grant (an AWS creation request id, a PIM schedule id, a webhook
-- receipt). Renaming keeps the indexes that use the column.
ALTER TABLE requests RENAME COLUMN provider_ref TO principal_ref;
ALTER TABLE requests ADD COLUMN grant_ref TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE requests DROP COLUMN grant_ref;
ALTER TABLE requests RENAME COLUMN principal_ref TO provider_ref;
