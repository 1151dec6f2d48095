-- Replays and projector status. projection_replays keeps one row per
-- projection: the latest replay, its position after each committed batch
-- (so an interrupted replay resumes there) and its outcome.
-- projection_status keeps, per consumer group, when the projector last
-- applied a record, written in the projector's transaction.
-- projection_errors keeps the last error it raised, written outside that
-- transaction, which rolls back. They are two tables because the projector's
-- transaction is REPEATABLE READ: a row it updates must not be updated by
-- another transaction meanwhile, or its update fails to serialize.

-- +goose Up
CREATE TABLE projection_replays (
    projection TEXT PRIMARY KEY,
    job_id UUID NOT NULL,
    -- running, interrupted, failed or completed.
    status TEXT NOT NULL,
    -- Only records with an offset above from_offset are replayed; 0 replays
    -- the whole log.
    from_offset BIGINT NOT NULL DEFAULT 0,
    -- The last record read, in log order (transaction_id, offset).
    position_offset BIGINT NOT NULL DEFAULT 0,
    position_transaction_id xid8 NOT NULL DEFAULT '0',
    records_read BIGINT NOT NULL DEFAULT 0,
    records_applied BIGINT NOT NULL DEFAULT 0,
    -- Records to read, counted when the replay (re)started.
    records_total BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ
);

CREATE TABLE projection_status (
    consumer_group TEXT PRIMARY KEY,
    last_advanced_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE projection_errors (
    consumer_group TEXT PRIMARY KEY,
    last_error TEXT NOT NULL,
    last_error_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE projection_errors;
DROP TABLE projection_status;
DROP TABLE projection_replays;
