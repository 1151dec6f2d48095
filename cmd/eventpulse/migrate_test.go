package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestMigrateDownNeedsTo(t *testing.T) {
	a := testapp.Start(t, testapp.Options{NoWorker: true})
	t.Setenv("DATABASE_URL", a.Config.DatabaseURL)
	t.Setenv("REDIS_URL", a.Config.RedisURL)
	t.Setenv("EVENTPULSE_LOG_LEVEL", "warn")

	_, _, err := runCommand(t, "migrate", "--down")
	require.ErrorContains(t, err, "migrate --down needs --to VERSION")

	_, _, err = runCommand(t, "migrate", "--to", "5")
	require.ErrorContains(t, err, "migrate --to works only with --down")

	_, _, err = runCommand(t, "migrate", "--down", "--to", "-1")
	require.ErrorContains(t, err, "invalid --to -1")

	require.Zero(t, a.Count("SELECT count(*) FROM events"), "the events table is still there")

	stdout, stderr, err := runCommand(t, "migrate")
	require.NoError(t, err, "stderr: %s", stderr)
	require.Contains(t, stdout, "database at migration version ")
}
