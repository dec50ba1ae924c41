-- +goose Up
-- What each grant learned about its provider assignment, and the claim a
-- revocation takes on it (see drawbridge.Request and Store).
--
-- provision_started_at: when access could first have begun (expiry counts
-- from it). Rows from before this migration take their activation time, or
-- the decision time for a grant still being provisioned (earlier, so a
-- grant is never lengthened by the upgrade).
-- assignment_found: what the provider said at the grant's provisioning;
-- before this migration only the conclusion was kept, so it is copied.
-- deletes_assignment: the revocation's decision to delete; while REVOKING,
-- a claim that provisioning of the same assignment honours. Revocations in
-- flight at the upgrade decide again when they resume.
ALTER TABLE requests ADD COLUMN provision_started_at BIGINT;
ALTER TABLE requests ADD COLUMN assignment_found BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE requests ADD COLUMN deletes_assignment BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE requests SET provision_started_at = COALESCE(activated_at, decided_at), assignment_found = preexisting_access
    WHERE provider_ref != '';

-- +goose Down
ALTER TABLE requests DROP COLUMN deletes_assignment;
ALTER TABLE requests DROP COLUMN assignment_found;
ALTER TABLE requests DROP COLUMN provision_started_at;
