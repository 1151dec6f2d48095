package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// restoreGC puts back the collector settings that a test changes.
func restoreGC(t *testing.T) {
	t.Helper()

	percent := debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

func TestGCDefaultsWithoutEnvironment(t *testing.T) {
	restoreGC(t)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")

	var logs bytes.Buffer
	setGCDefaults(slog.New(slog.NewJSONHandler(&logs, nil)))

	require.Equal(t, gcPercentDefault, debug.SetGCPercent(gcPercentDefault))
	require.Equal(t, int64(memoryLimitDefault), debug.SetMemoryLimit(-1))

	var logged map[string]any
	require.NoError(t, json.Unmarshal(logs.Bytes(), &logged), "log: %s", logs.String())
	require.InDelta(t, gcPercentDefault, logged["gc_percent"], 0)
	require.Equal(t, "default", logged["gc_percent_from"])
	require.InDelta(t, memoryLimitDefault, logged["memory_limit_bytes"], 0)
	require.Equal(t, "default", logged["memory_limit_from"])
}

func TestGCDefaultsKeepEnvironment(t *testing.T) {
	restoreGC(t)
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(1 << 30)

	var logs bytes.Buffer
	setGCDefaults(slog.New(slog.NewJSONHandler(&logs, nil)))

	require.Equal(t, 150, debug.SetGCPercent(150))
	require.Equal(t, int64(1<<30), debug.SetMemoryLimit(-1))

	var logged map[string]any
	require.NoError(t, json.Unmarshal(logs.Bytes(), &logged), "log: %s", logs.String())
	require.InDelta(t, 150, logged["gc_percent"], 0)
	require.Equal(t, "GOGC", logged["gc_percent_from"])
	require.InDelta(t, 1<<30, logged["memory_limit_bytes"], 0)
	require.Equal(t, "GOMEMLIMIT", logged["memory_limit_from"])
}
