-- +goose Up
-- One person's grants of one entitlement in one state: what the
-- continuous-access check reads on every submission. Without it the
-- planner walks an index of every grant of the entitlement (or every
-- ACTIVE grant), so each submission cost grew with the number of grants.
CREATE INDEX requests_person_entitlement ON requests (requester, resource, role, state, id);

-- +goose Down
DROP INDEX requests_person_entitlement;
