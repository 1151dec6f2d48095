-- The event log: a watermill-sql topic on PostgreSQL. The layout follows
-- watermill-sql's default PostgreSQL schema, with JSONB for the payload and
-- the metadata. Readers order by (transaction_id, offset) and never move
-- past a transaction that might still commit (pg_snapshot_xmin), which is
-- what makes subscriptions gap-safe.

-- +goose Up
CREATE TABLE event_log (
    "offset" BIGSERIAL,
    uuid VARCHAR(36) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    payload JSONB DEFAULT NULL,
    metadata JSONB DEFAULT NULL,
    transaction_id xid8 NOT NULL,
    PRIMARY KEY (transaction_id, "offset")
);

CREATE INDEX event_log_name_idx ON event_log ((metadata ->> 'name'));
CREATE INDEX event_log_offset_idx ON event_log ("offset");

-- One row per consumer group: the last record a projector applied.
CREATE TABLE event_log_offsets (
    consumer_group VARCHAR(255) NOT NULL PRIMARY KEY,
    offset_acked BIGINT,
    last_processed_transaction_id xid8 NOT NULL
);

-- Every event id ever accepted into the log. The ingest handler claims ids
-- here in the transaction that appends, so a second delivery of the same
-- command, or the same event sent again, appends nothing.
CREATE TABLE event_claims (
    event_id UUID PRIMARY KEY,
    body_hash BYTEA NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE event_claims;
DROP TABLE event_log_offsets;
DROP TABLE event_log;
