-- Aggregate streams in the event log. A record that belongs to an
-- aggregate (a rule) carries stream_id and stream_version in its metadata.
-- The unique index is the optimistic concurrency check: two writers that
-- both loaded version N cannot both append version N+1, because the second
-- insert fails with a unique violation. The same index, with the version
-- as an integer, returns a stream's records in version order for the
-- history endpoint and for command handlers that load a rule.

-- +goose Up
CREATE UNIQUE INDEX event_log_stream_version_idx
    ON event_log ((metadata ->> 'stream_id'), ((metadata ->> 'stream_version')::int))
    WHERE metadata ->> 'stream_id' IS NOT NULL;

-- +goose Down
DROP INDEX event_log_stream_version_idx;
