-- Messages that a handler could not process after its retries: commands
-- from a Redis stream and log records a projector could not apply. Each row
-- keeps the original payload and metadata, so a command can be sent again
-- to its stream once the cause is fixed.

-- +goose Up
CREATE TABLE dead_letters (
    id BIGSERIAL PRIMARY KEY,
    message_uuid TEXT NOT NULL,
    -- topic is the Redis stream of a command, or event_log for a record.
    topic TEXT NOT NULL,
    -- handler is the consumer group that failed: a command handler or a
    -- projector.
    handler TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload BYTEA NOT NULL,
    metadata JSONB NOT NULL DEFAULT '{}',
    -- deliveries is how often Redis delivered the command, when known.
    deliveries INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    requeued_at TIMESTAMPTZ
);

-- A message is recorded once per handler while it waits, even when two
-- workers give up on it at the same time.
CREATE UNIQUE INDEX dead_letters_waiting_idx ON dead_letters (handler, message_uuid)
    WHERE requeued_at IS NULL;
CREATE INDEX dead_letters_created_idx ON dead_letters (created_at DESC, id DESC);

-- +goose Down
DROP TABLE dead_letters;
