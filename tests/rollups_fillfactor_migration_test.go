package tests

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRollupsFillfactorMigrationDownUp fills metric_rollups before
// migration 00111, then migrates up, down and up again. The rows survive
// each step and the table's fillfactor follows.
func TestRollupsFillfactorMigrationDownUp(t *testing.T) {
	t.Parallel()

	ctx := background()
	pool, migrator := openMigrator(t)
	logger := slog.New(slog.DiscardHandler)

	require.NoError(t, migrator.DownTo(ctx, 100, logger))

	_, err := pool.Exec(ctx, `INSERT INTO metric_rollups (bucket_start, event_type, source, count)
		VALUES ('2026-01-01T00:00:00Z', 'error', 'web', 3)`)
	require.NoError(t, err)

	rollupOptions := func() []string {
		var options []string
		require.NoError(t, pool.QueryRow(ctx,
			`SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = 'metric_rollups'::regclass`).Scan(&options))
		return options
	}
	count := func() int64 {
		var n int64
		require.NoError(t, pool.QueryRow(ctx, `SELECT count FROM metric_rollups`).Scan(&n))
		return n
	}

	require.Empty(t, rollupOptions())

	for range 2 {
		require.NoError(t, migrator.Up(ctx, logger))
		require.Equal(t, []string{"fillfactor=50"}, rollupOptions())
		require.Equal(t, int64(3), count())

		require.NoError(t, migrator.DownTo(ctx, 100, logger))
		require.Empty(t, rollupOptions())
		require.Equal(t, int64(3), count())
	}

	require.NoError(t, migrator.Up(ctx, logger))
	require.Equal(t, []string{"fillfactor=50"}, rollupOptions())
}
