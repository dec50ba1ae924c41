-- +goose Up
-- The Merkle tree of the audit log (golang.org/x/mod/sumdb/tlog): the
-- stored hashes of the tree at their storage index (tlog.StoredHashIndex),
-- written in the transaction that appends their event and never changed.
-- Events that predate this table are hashed in by the store when it opens.
CREATE TABLE audit_hashes (
    idx  INTEGER NOT NULL PRIMARY KEY,
    hash BLOB    NOT NULL
);

-- +goose Down
DROP TABLE audit_hashes;
