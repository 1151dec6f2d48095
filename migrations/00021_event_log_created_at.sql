-- The detector rebuilds its windows after a restart by reading back the
-- records written in the last window, lateness and cooldown of its rules;
-- this index finds them without scanning the whole log.

-- +goose Up
CREATE INDEX event_log_created_at_idx ON event_log (created_at);

-- +goose Down
DROP INDEX event_log_created_at_idx;
