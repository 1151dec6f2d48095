package tests

import (
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// openMigrator returns a pool on a new migrated database and a migrator
// for it, both closed when the test ends.
func openMigrator(t *testing.T) (*pgxpool.Pool, *database.Migrator) {
	t.Helper()

	pool, err := database.Open(background(), testapp.NewDatabase(t), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	migrator, err := database.NewMigrator(pool)
	require.NoError(t, err)
	t.Cleanup(func() { _ = migrator.Close() })

	return pool, migrator
}

func TestNotificationMigrationDownUp(t *testing.T) {
	t.Parallel()

	ctx := background()
	pool, migrator := openMigrator(t)

	exists := func(name string) bool {
		var found bool
		require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&found))
		return found
	}

	logger := slog.New(slog.DiscardHandler)
	require.NoError(t, migrator.DownTo(ctx, 39, logger))
	require.False(t, exists("notification_deliveries"))
	require.False(t, exists("event_log_anomaly_position_idx"))

	require.NoError(t, migrator.Up(ctx, logger))
	require.True(t, exists("notification_deliveries"))
	require.True(t, exists("event_log_anomaly_position_idx"))

	var triggers int
	require.NoError(t, pool.QueryRow(ctx,
		`SELECT count(*) FROM pg_trigger WHERE tgname = 'event_log_anomaly_notify'`).Scan(&triggers))
	require.Equal(t, 1, triggers)
}
