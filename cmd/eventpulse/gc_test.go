package main

import (
	"io"
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

	setGCDefaults(slog.New(slog.NewJSONHandler(io.Discard, nil)))

	require.Equal(t, gcPercentDefault, debug.SetGCPercent(gcPercentDefault))
	require.Equal(t, int64(memoryLimitDefault), debug.SetMemoryLimit(-1))
}

func TestGCDefaultsKeepEnvironment(t *testing.T) {
	restoreGC(t)
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(1 << 30)

	setGCDefaults(slog.New(slog.NewJSONHandler(io.Discard, nil)))

	require.Equal(t, 150, debug.SetGCPercent(150))
	require.Equal(t, int64(1<<30), debug.SetMemoryLimit(-1))
}
