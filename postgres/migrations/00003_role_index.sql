-- +goose Up
-- The audit API's permission_set_name filter without an account: an index
-- led by role, ordered by id like every list, so such a page never scans
-- the whole table.
CREATE INDEX requests_role ON requests (role, id);

-- +goose Down
DROP INDEX requests_role;
