-- +goose Up
-- Named leases shared by every replica: the periodic job (drift
-- reconciliation) runs on the one holder until lease_until.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    lease_until BIGINT NOT NULL
);

-- +goose Down
DROP TABLE leases;
