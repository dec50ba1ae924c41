-- +goose Up
-- Named leases shared by every process on the store: the periodic job
-- (drift reconciliation) runs on the one holder until lease_until.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    lease_until INTEGER NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE leases;
