package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/config"
)

func TestIngestMaxBacklogFromEnv(t *testing.T) {
	t.Setenv("EVENTPULSE_INGEST_MAX_BACKLOG", "")
	c, err := config.FromEnv()
	require.NoError(t, err)
	require.Equal(t, config.IngestMaxBacklogDefault, c.IngestMaxBacklog)

	t.Setenv("EVENTPULSE_INGEST_MAX_BACKLOG", "250")
	c, err = config.FromEnv()
	require.NoError(t, err)
	require.Equal(t, 250, c.IngestMaxBacklog)

	t.Setenv("EVENTPULSE_INGEST_MAX_BACKLOG", "-1")
	_, err = config.FromEnv()
	require.ErrorContains(t, err, "invalid EVENTPULSE_INGEST_MAX_BACKLOG -1: must be at least 1")

	t.Setenv("EVENTPULSE_INGEST_MAX_BACKLOG", "many")
	_, err = config.FromEnv()
	require.ErrorContains(t, err, "EVENTPULSE_INGEST_MAX_BACKLOG")
}
