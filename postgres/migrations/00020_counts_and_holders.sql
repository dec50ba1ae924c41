-- +goose Up
-- Reconciliation reads a provider resource's live grants and recorded
-- standing access in keyset pages (Store.AssignmentHolders) through an
-- index of exactly those rows, so a pass costs the grants it checks, not
-- the history; and an assignment's last ended grant is one step back along
-- requests_assignment, which now ends in ended_at (Store.LastEndedGrant),
-- instead of every ended grant of the assignment read and compared.
DROP INDEX requests_assignment;
CREATE INDEX requests_assignment ON requests (provider, resource, role, principal_ref, ended_at);
CREATE INDEX requests_holders ON requests (provider, resource, role, principal_ref, id)
    WHERE state IN ('PROVISIONING', 'ACTIVE', 'REVOKING') OR preexisting_access;

-- How many requests are in each state through each channel, and how many of
-- them have failed revocation attempts: the gauges of /metrics and
-- /api/metrics (see the SQLite twin). Kept by a trigger in the same
-- transaction as every write of a request, whichever code writes it. Each
-- (state, channel) pair is spread over 16 shards chosen by the request id,
-- so concurrent transactions writing different requests rarely wait on the
-- same counter row; CountRequests sums the shards. Both changes of an update
-- go through one statement in (state, channel) order, so two transactions
-- never take two counter rows in opposite orders.
CREATE TABLE request_counts (
    state   TEXT     NOT NULL,
    channel TEXT     NOT NULL,
    shard   SMALLINT NOT NULL DEFAULT 0,
    n       BIGINT   NOT NULL DEFAULT 0,
    failing BIGINT   NOT NULL DEFAULT 0,
    PRIMARY KEY (state, channel, shard)
);

INSERT INTO request_counts (state, channel, n, failing)
    SELECT state, channel, COUNT(*), COUNT(*) FILTER (WHERE revoke_attempts > 0) FROM requests GROUP BY state, channel;

-- +goose StatementBegin
CREATE FUNCTION request_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    slot SMALLINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        slot := hashtext(NEW.id) & 15;
        INSERT INTO request_counts AS c (state, channel, shard, n, failing)
            VALUES (NEW.state, NEW.channel, slot, 1, (NEW.revoke_attempts > 0)::int)
            ON CONFLICT (state, channel, shard) DO UPDATE SET n = c.n + 1, failing = c.failing + EXCLUDED.failing;
        RETURN NULL;
    END IF;
    slot := hashtext(OLD.id) & 15;
    IF TG_OP = 'DELETE' THEN
        UPDATE request_counts SET n = n - 1, failing = failing - (OLD.revoke_attempts > 0)::int
            WHERE state = OLD.state AND channel = OLD.channel AND shard = slot;
        RETURN NULL;
    END IF;
    IF OLD.state = NEW.state AND OLD.channel = NEW.channel AND (OLD.revoke_attempts > 0) = (NEW.revoke_attempts > 0) THEN
        RETURN NULL;
    END IF;
    INSERT INTO request_counts AS c (state, channel, shard, n, failing)
        SELECT d.state, d.channel, slot, SUM(d.n), SUM(d.failing)
        FROM (VALUES (OLD.state, OLD.channel, -1, -(OLD.revoke_attempts > 0)::int),
                     (NEW.state, NEW.channel, 1, (NEW.revoke_attempts > 0)::int)) AS d (state, channel, n, failing)
        GROUP BY d.state, d.channel
        ORDER BY d.state, d.channel
        ON CONFLICT (state, channel, shard) DO UPDATE SET n = c.n + EXCLUDED.n, failing = c.failing + EXCLUDED.failing;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER request_counts_insert AFTER INSERT ON requests
    FOR EACH ROW EXECUTE FUNCTION request_counts_apply();
CREATE TRIGGER request_counts_update AFTER UPDATE OF state, channel, revoke_attempts ON requests
    FOR EACH ROW EXECUTE FUNCTION request_counts_apply();
CREATE TRIGGER request_counts_delete AFTER DELETE ON requests
    FOR EACH ROW EXECUTE FUNCTION request_counts_apply();

-- +goose Down
DROP INDEX requests_holders;
DROP INDEX requests_assignment;
CREATE INDEX requests_assignment ON requests (provider, resource, role, principal_ref);
DROP TRIGGER request_counts_delete ON requests;
DROP TRIGGER request_counts_update ON requests;
DROP TRIGGER request_counts_insert ON requests;
DROP FUNCTION request_counts_apply();
DROP TABLE request_counts;
