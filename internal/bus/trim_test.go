package bus_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/testenv"
)

var testEnv *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, func(env *testenv.Env) error {
		testEnv = env
		return nil
	})
}

func newClient(t *testing.T) *redis.Client {
	t.Helper()

	client := redis.NewClient(&redis.Options{Addr: testEnv.RedisAddr()})
	t.Cleanup(func() { _ = client.Close() })

	return client
}

// addEntries adds n entries to stream and returns their ids in order.
func addEntries(t *testing.T, client *redis.Client, stream string, n int) []string {
	t.Helper()

	ids := make([]string, n)
	for i := range ids {
		id, err := client.XAdd(context.Background(), &redis.XAddArgs{Stream: stream, Values: []any{"n", i}}).Result()
		require.NoError(t, err)
		ids[i] = id
	}

	return ids
}

// read delivers count entries to consumer of group and acknowledges the
// first ack of them.
func read(t *testing.T, client *redis.Client, stream, group string, count, ack int) {
	t.Helper()
	ctx := context.Background()

	streams, err := client.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: "c1", Streams: []string{stream, ">"}, Count: int64(count),
	}).Result()
	require.NoError(t, err)
	require.Len(t, streams[0].Messages, count)

	for _, entry := range streams[0].Messages[:ack] {
		require.NoError(t, client.XAck(ctx, stream, group, entry.ID).Err())
	}
}

func remaining(t *testing.T, client *redis.Client, stream string) []string {
	t.Helper()

	entries, err := client.XRange(context.Background(), stream, "-", "+").Result()
	require.NoError(t, err)

	ids := make([]string, len(entries))
	for i, entry := range entries {
		ids[i] = entry.ID
	}

	return ids
}

func TestTrimKeepsPendingEntries(t *testing.T) {
	t.Parallel()

	client := newClient(t)
	ctx := context.Background()
	stream := "trim-pending"
	require.NoError(t, client.XGroupCreateMkStream(ctx, stream, "handler", "0").Err())
	ids := addEntries(t, client, stream, 10)

	read(t, client, stream, "handler", 6, 4)

	deleted, err := bus.Trim(ctx, client, stream)
	require.NoError(t, err)
	require.Equal(t, int64(4), deleted)
	require.Equal(t, ids[4:], remaining(t, client, stream), "entries 5 and 6 are pending, 7 to 10 undelivered")
}

func TestTrimFollowsSlowestGroup(t *testing.T) {
	t.Parallel()

	client := newClient(t)
	ctx := context.Background()
	stream := "trim-groups"
	require.NoError(t, client.XGroupCreateMkStream(ctx, stream, "fast", "0").Err())
	require.NoError(t, client.XGroupCreate(ctx, stream, "slow", "0").Err())
	ids := addEntries(t, client, stream, 8)

	read(t, client, stream, "fast", 8, 8)
	read(t, client, stream, "slow", 3, 3)

	_, err := bus.Trim(ctx, client, stream)
	require.NoError(t, err)
	require.Equal(t, ids[2:], remaining(t, client, stream),
		"slow delivered 3 entries and acknowledged them; the 3rd is kept as its last delivered id")

	read(t, client, stream, "slow", 5, 5)
	_, err = bus.Trim(ctx, client, stream)
	require.NoError(t, err)
	require.Equal(t, ids[7:], remaining(t, client, stream))
}

func TestTrimWithoutGroupKeepsAll(t *testing.T) {
	t.Parallel()

	client := newClient(t)
	ctx := context.Background()
	stream := "trim-no-group"
	ids := addEntries(t, client, stream, 3)

	deleted, err := bus.Trim(ctx, client, stream)
	require.NoError(t, err)
	require.Zero(t, deleted)
	require.Equal(t, ids, remaining(t, client, stream))

	require.NoError(t, client.XGroupCreate(ctx, stream, "late", "0").Err())
	deleted, err = bus.Trim(ctx, client, stream)
	require.NoError(t, err)
	require.Zero(t, deleted, "a new group has delivered nothing yet")
}

func TestTrimPendingWithOtherConsumer(t *testing.T) {
	t.Parallel()

	client := newClient(t)
	ctx := context.Background()
	stream := "trim-dead-consumer"
	require.NoError(t, client.XGroupCreateMkStream(ctx, stream, "handler", "0").Err())
	ids := addEntries(t, client, stream, 5)

	read(t, client, stream, "handler", 1, 0)
	read(t, client, stream, "handler", 4, 4)

	deleted, err := bus.Trim(ctx, client, stream)
	require.NoError(t, err)
	require.Zero(t, deleted)
	require.Equal(t, ids, remaining(t, client, stream), "the first entry is still pending")
}
