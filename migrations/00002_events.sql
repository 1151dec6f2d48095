-- The events read table, built from EventsIngested records by the events
-- projector. It can be dropped and rebuilt from the log.

-- +goose Up
CREATE TABLE events (
    event_id UUID PRIMARY KEY,
    event_type TEXT NOT NULL,
    source TEXT NOT NULL,
    "timestamp" TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    payload JSONB NOT NULL,
    metadata JSONB NOT NULL
);

CREATE INDEX events_timestamp_idx ON events ("timestamp" DESC, event_id DESC);
CREATE INDEX events_source_timestamp_idx ON events (source, "timestamp" DESC);
CREATE INDEX events_type_timestamp_idx ON events (event_type, "timestamp" DESC);

-- +goose Down
DROP TABLE events;
