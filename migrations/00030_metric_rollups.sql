-- The metric_rollups read table: event counts per 10-second bucket of event
-- time, event type and source, built from EventsIngested records by the
-- metric rollups projector. It can be dropped and rebuilt from the log.

-- +goose Up
CREATE TABLE metric_rollups (
    -- bucket_start is a multiple of 10 seconds since the Unix epoch; the
    -- bucket holds the events with bucket_start <= timestamp < bucket_start + 10 s.
    bucket_start TIMESTAMPTZ NOT NULL,
    event_type TEXT NOT NULL,
    source TEXT NOT NULL,
    count BIGINT NOT NULL CHECK (count > 0),
    PRIMARY KEY (bucket_start, event_type, source)
);

-- The log records already counted into metric_rollups. Counting is additive,
-- so the projector claims each record here first and skips a record it has
-- claimed before: applying the log again never counts an event twice.
CREATE TABLE metric_rollups_records (
    record_id UUID PRIMARY KEY
);

-- +goose Down
DROP TABLE metric_rollups_records;
DROP TABLE metric_rollups;
