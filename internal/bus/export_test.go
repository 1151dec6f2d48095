package bus

import "github.com/redis/go-redis/v9"

// ReadingAheadClient wraps client as the stream subscribers of this package
// use it, with read-ahead, and returns a function that reports whether an
// entry id is unacknowledged.
func ReadingAheadClient(client redis.UniversalClient) (redis.UniversalClient, func(id string) bool) {
	unacked := newUnackedEntries()

	return trackingClient{UniversalClient: client, unacked: unacked, ahead: &readAhead{}}, unacked.contains
}
