package logging

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOutageLogsFirstFailureAndRecovery(t *testing.T) {
	var buf bytes.Buffer
	logger := New(&buf, slog.LevelDebug)
	ctx := context.Background()
	var outage Outage

	outage.Recovered(ctx, logger, "connected again")
	for range 3 {
		outage.Failed(ctx, logger, "listener failed", slog.Any("error", errors.New("refused")))
	}
	outage.Recovered(ctx, logger, "connected again")
	outage.Failed(ctx, logger, "listener failed", slog.Any("error", errors.New("reset")))

	lines := logLines(t, &buf)
	levels := make([]string, len(lines))
	messages := make([]string, len(lines))
	for i, line := range lines {
		levels[i], _ = line["level"].(string)
		messages[i], _ = line["msg"].(string)
	}
	require.Equal(t, []string{"WARN", "DEBUG", "DEBUG", "INFO", "WARN"}, levels)
	require.Equal(t, []string{"listener failed", "listener failed", "listener failed", "connected again", "listener failed"}, messages)
	require.Equal(t, "refused", lines[0]["error"])
}
