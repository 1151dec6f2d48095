package bus

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

func TestClosedSubscriberLeavesClientOpen(t *testing.T) {
	ctx := context.Background()
	// Nothing listens on port 1, so a command fails to connect; on a
	// closed client it fails with redis.ErrClosed instead.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})

	config := Config{Client: client, Consumer: "worker", Logger: watermill.NopLogger{}}.withDefaults()
	subscriber, err := newStreamSubscriber(config, "stream", "group", "worker-0", newUnackedEntries())
	require.NoError(t, err)
	require.NoError(t, subscriber.Close())

	require.NotErrorIs(t, client.Ping(ctx).Err(), redis.ErrClosed, "the subscriber's Close left the client open")

	require.NoError(t, client.Close())
	require.ErrorIs(t, client.Ping(ctx).Err(), redis.ErrClosed)
}
