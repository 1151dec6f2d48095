package bus

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// HeartbeatInterval is how often a worker records that it is alive.
const HeartbeatInterval = 5 * time.Second

// WorkersKey returns the sorted set in which workers record their last
// heartbeat, scored by Unix time in seconds.
func WorkersKey(prefix string) string {
	return prefix + ".workers"
}

// Heartbeat records consumer as alive every HeartbeatInterval until ctx
// ends, then removes it.
func Heartbeat(ctx context.Context, client redis.UniversalClient, prefix, consumer string, logger *slog.Logger) {
	key := WorkersKey(prefix)
	ticker := time.NewTicker(HeartbeatInterval)
	defer ticker.Stop()

	failing := false
	for {
		err := client.ZAdd(ctx, key, redis.Z{Score: float64(time.Now().Unix()), Member: consumer}).Err()
		if err != nil && ctx.Err() == nil && !failing {
			logger.WarnContext(ctx, "worker: error recording heartbeat", slog.Any("error", err))
		}
		failing = err != nil

		select {
		case <-ctx.Done():
			cleanup, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = client.ZRem(cleanup, key, consumer).Err()
			cancel()

			return
		case <-ticker.C:
		}
	}
}

// LiveWorkers counts workers whose last heartbeat is younger than maxAge,
// and all workers that ever recorded one and did not stop cleanly.
func LiveWorkers(ctx context.Context, client redis.UniversalClient, prefix string, maxAge time.Duration) (live, known int64, err error) {
	key := WorkersKey(prefix)
	since := strconv.FormatInt(time.Now().Add(-maxAge).Unix(), 10)

	live, err = client.ZCount(ctx, key, since, "+inf").Result()
	if err != nil {
		return 0, 0, err
	}

	known, err = client.ZCard(ctx, key).Result()

	return live, known, err
}
