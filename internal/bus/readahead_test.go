package bus_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/bus"
)

// TestReadAheadKeepsEntryOrder reads a stream one new entry at a
// time, as the subscriber does. The first read takes several entries from
// Redis, which are pending from then on, and the next reads return them in
// order without another request to Redis.
func TestReadAheadKeepsEntryOrder(t *testing.T) {
	t.Parallel()

	ctx := context.Background()
	client := newClient(t)
	stream, group := "readahead.commands."+strconv.FormatInt(time.Now().UnixNano(), 10), "handler"
	ids := addEntries(t, client, stream, 11)
	require.NoError(t, client.XGroupCreate(ctx, stream, group, "0").Err())

	reader, unacked := bus.ReadingAheadClient(client)
	readOne := func() *redis.XStreamSliceCmd {
		return reader.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: group, Consumer: "worker-1", Streams: []string{stream, ">"}, Count: 1, Block: 50 * time.Millisecond,
		})
	}

	for i, id := range ids {
		streams, err := readOne().Result()
		require.NoError(t, err)
		require.Len(t, streams, 1)
		require.Equal(t, stream, streams[0].Stream)
		require.Len(t, streams[0].Messages, 1)
		require.Equal(t, id, streams[0].Messages[0].ID, "entry %d", i)
		require.True(t, unacked(id))

		pending, err := client.XPending(ctx, stream, group).Result()
		require.NoError(t, err)
		// Reads take 8 entries at a time: entries 0 to 7, then 8 to 10.
		require.Equal(t, int64(min(len(ids), (i/8+1)*8)), pending.Count, "pending after read %d", i)
	}

	require.ErrorIs(t, readOne().Err(), redis.Nil, "a read of an empty stream waits out its block")

	// Reads of pending entries ("0") go to Redis as they are.
	streams, err := reader.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: "worker-1", Streams: []string{stream, "0"}, Count: 100,
	}).Result()
	require.NoError(t, err)
	require.Len(t, streams[0].Messages, len(ids))
}
