package app

import (
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/projections/notifier"
)

// TestCommandHandlerNamesMatchHandlers checks that the handlers whose
// metrics start at 0 are those the worker adds.
func TestCommandHandlerNamesMatchHandlers(t *testing.T) {
	t.Parallel()

	// Neither client connects until it is used, and building the
	// handlers uses neither.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = client.Close() })
	pool, err := pgxpool.New(t.Context(), "postgres://nobody@127.0.0.1:1/none")
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	handlers, err := newCommandHandlers(&Deps{Redis: client, Pool: pool, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)

	names := make([]string, 0, len(handlers))
	for _, handler := range handlers {
		names = append(names, handler.HandlerName())
	}
	require.Equal(t, commandHandlerNames, names)
}

func TestProjectorNamesIncludeNotifier(t *testing.T) {
	t.Parallel()

	names := projectorNames(slog.New(slog.DiscardHandler))
	require.Len(t, names, len(Projectors(slog.New(slog.DiscardHandler), nil))+1)
	require.Contains(t, names, "detector")
	require.Contains(t, names, "projection.events")
	require.Equal(t, notifier.Name, names[len(names)-1])
}
