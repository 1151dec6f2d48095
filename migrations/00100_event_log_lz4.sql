-- Log payloads are compressed with lz4 instead of PostgreSQL's default
-- pglz. An EventsIngested record of 500 events is about 200 kB of jsonb,
-- every record is compressed once when appended and decompressed by each
-- projector that reads it, and lz4 does both several times faster than
-- pglz at a slightly lower ratio. Records written before this migration
-- keep their pglz values, which PostgreSQL still reads.

-- +goose Up
ALTER TABLE event_log ALTER COLUMN payload SET COMPRESSION lz4;

-- +goose Down
ALTER TABLE event_log ALTER COLUMN payload SET COMPRESSION default;
