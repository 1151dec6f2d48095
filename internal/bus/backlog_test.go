package bus_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/bus"
)

func TestCommandsWaitingCountsLagAndPending(t *testing.T) {
	t.Parallel()
	client := newClient(t)
	ctx := context.Background()
	stream := "test.backlog.count." + t.Name()

	waiting, err := bus.CommandsWaiting(ctx, client, stream, "g")
	require.NoError(t, err)
	require.Zero(t, waiting, "a stream that does not exist has nothing waiting")

	addEntries(t, client, stream, 10)
	waiting, err = bus.CommandsWaiting(ctx, client, stream, "g")
	require.NoError(t, err)
	require.Equal(t, int64(10), waiting, "without the group every entry waits")

	require.NoError(t, client.XGroupCreate(ctx, stream, "g", "0").Err())
	require.NoError(t, client.XGroupCreate(ctx, stream, "other", "0").Err())
	// Six delivered, of which four acknowledged: four not delivered and
	// two pending are left.
	read(t, client, stream, "g", 6, 4)

	waiting, err = bus.CommandsWaiting(ctx, client, stream, "g")
	require.NoError(t, err)
	require.Equal(t, int64(6), waiting)

	waiting, err = bus.CommandsWaiting(ctx, client, stream, "other")
	require.NoError(t, err)
	require.Equal(t, int64(10), waiting, "each group counts its own position")

	_, err = bus.Trim(ctx, client, stream)
	require.NoError(t, err)
	waiting, err = bus.CommandsWaiting(ctx, client, stream, "g")
	require.NoError(t, err)
	require.Equal(t, int64(6), waiting, "trimming acknowledged entries changes nothing")
}

func TestBacklogRejectsOverLimit(t *testing.T) {
	t.Parallel()
	client := newClient(t)
	stream := "test.backlog.limit." + t.Name()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))

	addEntries(t, client, stream, 3)
	require.NoError(t, client.XGroupCreate(context.Background(), stream, "g", "0").Err())

	backlog := bus.NewBacklog(client, stream, "g", 3, 10*time.Millisecond, logger)
	require.NoError(t, backlog.Check(), "commands pass before the first count")
	_, known := backlog.Waiting()
	require.False(t, known)

	stop := runBacklog(t, backlog)

	require.Eventually(t, func() bool {
		waiting, known := backlog.Waiting()
		return known && waiting == 3
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, backlog.Check(), "a backlog at its limit still takes commands")

	addEntries(t, client, stream, 1)
	require.Eventually(t, func() bool { return backlog.Check() != nil }, 5*time.Second, 5*time.Millisecond)

	var full *bus.BacklogFullError
	require.ErrorAs(t, backlog.Check(), &full)
	require.Equal(t, int64(4), full.Waiting)
	require.Equal(t, int64(3), full.Limit)

	read(t, client, stream, "g", 2, 2)
	require.Eventually(t, func() bool { return backlog.Check() == nil }, 5*time.Second, 5*time.Millisecond)

	stop()
	require.Contains(t, logs.String(), "command backlog over its limit")
	require.Contains(t, logs.String(), "command backlog back under its limit")
}

func TestBacklogLogsFailedReadsOnce(t *testing.T) {
	t.Parallel()
	client := newClient(t)
	ctx := context.Background()
	stream := "test.backlog.fail." + t.Name()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// A string under the stream's key makes XINFO GROUPS fail.
	require.NoError(t, client.Set(ctx, stream, "not a stream", 0).Err())

	backlog := bus.NewBacklog(client, stream, "g", 3, 10*time.Millisecond, logger)
	stop := runBacklog(t, backlog)

	time.Sleep(100 * time.Millisecond)
	_, known := backlog.Waiting()
	require.False(t, known)
	require.NoError(t, backlog.Check(), "commands pass while the count is unknown")

	require.NoError(t, client.Del(ctx, stream).Err())
	require.Eventually(t, func() bool {
		_, known := backlog.Waiting()
		return known
	}, 10*time.Second, 5*time.Millisecond)

	stop()
	require.Equal(t, 1, strings.Count(logs.String(), `"level":"WARN","msg":"bus: failed to read the command backlog`))
	require.Equal(t, 1, strings.Count(logs.String(), `"level":"INFO","msg":"bus: command backlog read again"`))
}

// runBacklog runs backlog until the returned stop is called or the test
// ends. stop returns once Run has returned, so the logs are complete.
func runBacklog(t *testing.T, backlog *bus.Backlog) (stop func()) {
	t.Helper()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		backlog.Run(ctx)
	}()

	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)

	return stop
}
