package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStartPprofRejectsNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", "192.0.2.1:6060", ":6060", "nonsense"} {
		t.Setenv(pprofAddrEnv, addr)
		err := startPprof(context.Background(), slog.New(slog.DiscardHandler))
		require.Error(t, err, addr)
		require.Contains(t, err.Error(), pprofAddrEnv, addr)
	}
}

func TestStartPprofOffWhenUnset(t *testing.T) {
	t.Setenv(pprofAddrEnv, "")
	require.NoError(t, startPprof(context.Background(), slog.New(slog.DiscardHandler)))
}
