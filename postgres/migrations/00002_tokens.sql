-- API bearer tokens. Only the SHA-256 of the secret is stored; roles and
-- scopes are JSON arrays of strings.

-- +goose Up
CREATE TABLE tokens (
    id              TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    principal       TEXT   NOT NULL,
    roles           TEXT   NOT NULL DEFAULT '[]',
    accounts        TEXT   NOT NULL DEFAULT '[]',
    permission_sets TEXT   NOT NULL DEFAULT '[]',
    description     TEXT   NOT NULL DEFAULT '',
    secret_sha256   TEXT   NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    revoked_at      BIGINT
);

-- +goose Down
DROP TABLE tokens;
