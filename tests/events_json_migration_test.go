package tests

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEventsJSONMigrationDownUp fills events before migration 00130, then
// migrates up, down and up again. The row keeps its payload and metadata
// at each step, and the columns' type follows.
func TestEventsJSONMigrationDownUp(t *testing.T) {
	t.Parallel()

	ctx := background()
	pool, migrator := openMigrator(t)
	logger := slog.New(slog.DiscardHandler)

	require.NoError(t, migrator.DownTo(ctx, 120, logger))

	_, err := pool.Exec(ctx, `INSERT INTO events (event_id, event_type, source, "timestamp", received_at, payload, metadata)
		VALUES ('0190b3c4-0000-7000-8000-000000000001', 'error', 'web', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z',
			'{"level": "error", "n": [1, 2.5, null]}', '{"k": "v"}')`)
	require.NoError(t, err)

	columnTypes := func() []string {
		var types []string
		require.NoError(t, pool.QueryRow(ctx, `SELECT array_agg(data_type::text ORDER BY column_name)
			FROM information_schema.columns
			WHERE table_name = 'events' AND column_name IN ('metadata', 'payload')`).Scan(&types))
		return types
	}
	requireRow := func() {
		t.Helper()
		var payload, metadata string
		require.NoError(t, pool.QueryRow(ctx, `SELECT payload::text, metadata::text FROM events`).Scan(&payload, &metadata))
		require.JSONEq(t, `{"level": "error", "n": [1, 2.5, null]}`, payload)
		require.JSONEq(t, `{"k": "v"}`, metadata)
	}

	require.Equal(t, []string{"jsonb", "jsonb"}, columnTypes())

	for range 2 {
		require.NoError(t, migrator.Up(ctx, logger))
		require.Equal(t, []string{"json", "json"}, columnTypes())
		requireRow()

		require.NoError(t, migrator.DownTo(ctx, 120, logger))
		require.Equal(t, []string{"jsonb", "jsonb"}, columnTypes())
		requireRow()
	}

	require.NoError(t, migrator.Up(ctx, logger))
	require.Equal(t, []string{"json", "json"}, columnTypes())
}
