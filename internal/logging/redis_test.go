package logging

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedisAdapterWritesJSONWarn(t *testing.T) {
	var buf bytes.Buffer
	adapter := Redis(New(&buf, slog.LevelInfo))

	adapter.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v\n", 5, "connection refused")

	adapter.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v\n", 5, "connection refused")

	lines := logLines(t, &buf)
	require.Len(t, lines, 1, "the repeat is dropped")
	require.Equal(t, "WARN", lines[0]["level"])
	require.Equal(t, "redis client: redis: connection pool: failed to dial after 5 attempts: connection refused", lines[0]["msg"])
}
