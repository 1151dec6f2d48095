-- The payload and metadata of the events read table are stored as json,
-- the text of the record they come from, instead of jsonb. The table is
-- read only as text (the events endpoints print both columns into their
-- responses), and no query looks inside them, so building jsonb on each
-- insert and printing it on each read bought nothing.
--
-- The change rewrites events under an exclusive lock, so the events
-- projector and the events endpoints wait for it; on a large table, run it
-- in a quiet period, or truncate the table first and replay the events
-- projection. Rows keep their content, as the text jsonb printed for them.

-- +goose Up
ALTER TABLE events
    ALTER COLUMN payload TYPE json USING payload::json,
    ALTER COLUMN metadata TYPE json USING metadata::json;

-- +goose Down
ALTER TABLE events
    ALTER COLUMN payload TYPE jsonb USING payload::jsonb,
    ALTER COLUMN metadata TYPE jsonb USING metadata::jsonb;
