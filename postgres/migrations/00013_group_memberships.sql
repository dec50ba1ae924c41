-- +goose Up
-- Group memberships computed outside the config (managed groups from ID
-- token claims), with where they came from and when: a membership counts
-- only while computed_at plus the source's validity is in the future.
CREATE TABLE group_memberships (
    principal   TEXT   NOT NULL,
    source      TEXT   NOT NULL,
    group_name  TEXT   NOT NULL,
    computed_at BIGINT NOT NULL,
    PRIMARY KEY (principal, source, group_name)
);

-- +goose Down
DROP TABLE group_memberships;
