package tests

import (
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestEventsJSONMigrationDownUp fills events and metric_rollups before
// migrations 00110 and 00111, then migrates up, down and up again. The
// rows and the text the API reads of payload and metadata must survive
// each step, and the column types and the fillfactor must follow.
func TestEventsJSONMigrationDownUp(t *testing.T) {
	t.Parallel()

	ctx := background()
	pool, migrator := openMigrator(t)
	logger := slog.New(slog.DiscardHandler)

	require.NoError(t, migrator.DownTo(ctx, 109, logger))

	ids := []uuid.UUID{uuid.New(), uuid.New()}
	_, err := pool.Exec(ctx, `
		INSERT INTO events (event_id, event_type, source, "timestamp", received_at, payload, metadata)
		VALUES ($1, 'error', 'web', now(), now(), '{"z": 1, "a": [1.50, "x"], "a": {"b": null}}', '{}'),
			($2, 'info', 'db', now(), now(), '{"message": "caf\u00e9 \"q\""}', '{"host": "h1"}')`,
		ids[0], ids[1])
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO metric_rollups (bucket_start, event_type, source, count)
		VALUES ('2026-01-01T00:00:00Z', 'error', 'web', 3)`)
	require.NoError(t, err)

	texts := func() []string {
		rows, err := pool.Query(ctx, `SELECT payload::text || ' ' || metadata::text FROM events ORDER BY event_id`)
		require.NoError(t, err)

		var out []string
		for rows.Next() {
			var text string
			require.NoError(t, rows.Scan(&text))
			out = append(out, text)
		}
		require.NoError(t, rows.Err())

		return out
	}
	columnType := func(column string) string {
		var name string
		require.NoError(t, pool.QueryRow(ctx, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
			WHERE attrelid = 'events'::regclass AND attname = $1`, column).Scan(&name))
		return name
	}
	rollupOptions := func() []string {
		var options []string
		require.NoError(t, pool.QueryRow(ctx,
			`SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = 'metric_rollups'::regclass`).Scan(&options))
		return options
	}

	before := texts()
	require.Len(t, before, 2)
	require.Equal(t, "jsonb", columnType("payload"))
	require.Empty(t, rollupOptions())

	for range 2 {
		require.NoError(t, migrator.Up(ctx, logger))
		require.Equal(t, "json", columnType("payload"))
		require.Equal(t, "json", columnType("metadata"))
		require.Equal(t, []string{"fillfactor=50"}, rollupOptions())
		require.Equal(t, before, texts(), "payload and metadata read back as before")

		require.NoError(t, migrator.DownTo(ctx, 109, logger))
		require.Equal(t, "jsonb", columnType("payload"))
		require.Equal(t, "jsonb", columnType("metadata"))
		require.Empty(t, rollupOptions())
		require.Equal(t, before, texts(), "payload and metadata read back as before")
	}

	require.NoError(t, migrator.Up(ctx, logger))
	var count int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT count FROM metric_rollups`).Scan(&count))
	require.Equal(t, int64(3), count)
}
