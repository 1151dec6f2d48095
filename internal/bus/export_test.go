package bus

import "github.com/redis/go-redis/v9"

// ReadingAheadClient returns client as a stream subscriber of this package
// reads Redis, with its read-ahead, and the function that reports whether
// an entry id counts as unacknowledged.
func ReadingAheadClient(client redis.UniversalClient) (redis.UniversalClient, func(id string) bool) {
	unacked := newUnackedEntries()

	return trackingClient{UniversalClient: client, unacked: unacked, ahead: &readAhead{}}, unacked.contains
}
