package bus

import "github.com/redis/go-redis/v9"

// borrowedClient is a Redis client that a watermill-redisstream publisher or
// subscriber uses without owning it. Their Close closes their client, and
// the client given in Config serves the rest of the process too: the API,
// the heartbeat and the other subscribers. Its owner closes it.
type borrowedClient struct {
	redis.UniversalClient
}

// Close leaves the client open.
func (borrowedClient) Close() error { return nil }
