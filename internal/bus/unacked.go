package bus

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// unackedEntries are the ids of the entries of one command stream that this
// process has read, with any of its lanes, and not acknowledged yet. An
// entry pending with one of this process's consumers but missing here was
// delivered in a reply that never arrived. That happens when Redis stops
// after serving XREADGROUP and before sending the reply, or when the
// connection breaks while the reply is on its way.
type unackedEntries struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

func newUnackedEntries() *unackedEntries {
	return &unackedEntries{ids: map[string]struct{}{}}
}

func (u *unackedEntries) add(messages []redis.XMessage) {
	u.mu.Lock()
	defer u.mu.Unlock()

	for _, m := range messages {
		u.ids[m.ID] = struct{}{}
	}
}

func (u *unackedEntries) remove(ids []string) {
	u.mu.Lock()
	defer u.mu.Unlock()

	for _, id := range ids {
		delete(u.ids, id)
	}
}

func (u *unackedEntries) contains(id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()

	_, ok := u.ids[id]

	return ok
}

// trackingClient is the Redis client of a stream subscriber. It adds to
// unacked the entries that XREADGROUP and XCLAIM return, and removes those
// that XACK acknowledged. The subscriber keeps a message whose handling
// failed in memory and hands it to the router again without reading it
// from Redis, so the entry stays in unacked while its handling is retried.
//
// It also creates the consumer group again when XREADGROUP fails because
// the group is missing. The subscriber creates its group only when it
// starts, so after Redis lost its data, or after the group was deleted, it
// would otherwise fail every read until the process restarted.
type trackingClient struct {
	redis.UniversalClient
	unacked *unackedEntries
	logger  *slog.Logger
	// ahead, when set, keeps the entries read beyond the one the
	// subscriber requested.
	ahead *readAhead
}

// readAheadCount is the number of new entries that one XREADGROUP of a
// subscriber with a readAhead requests. The subscriber requests one at a
// time, and a worker behind its stream would otherwise pay a round trip to
// Redis for every command.
const readAheadCount = 8

// readAhead keeps the entries that one XREADGROUP returned beyond the first
// and hands them out one by one to the subscriber's next reads. They are
// pending in Redis and in unacked from the moment they were read, as
// entries being handled are, so a crash leaves them to be claimed again.
// NOTE: entries still kept when the worker stops, even gracefully, wait
// for a later worker to claim them after EVENTPULSE_CLAIM_IDLE.
type readAhead struct {
	mu      sync.Mutex
	stream  string
	entries []redis.XMessage
}

// XReadGroup serves a subscriber's read of one new entry from the entries
// read ahead, and reads readAheadCount entries when there are none.
// Other reads go to Redis as they are.
func (c trackingClient) XReadGroup(ctx context.Context, a *redis.XReadGroupArgs) *redis.XStreamSliceCmd {
	if c.ahead == nil || a.Count != 1 || len(a.Streams) != 2 || a.Streams[1] != ">" {
		return c.readGroup(ctx, a)
	}

	c.ahead.mu.Lock()
	defer c.ahead.mu.Unlock()

	if len(c.ahead.entries) == 0 {
		wide := *a
		wide.Count = readAheadCount
		cmd := c.readGroup(ctx, &wide)
		streams, err := cmd.Result()
		if err != nil || len(streams) != 1 || len(streams[0].Messages) <= 1 {
			return cmd
		}

		c.ahead.stream = streams[0].Stream
		c.ahead.entries = streams[0].Messages
	}

	first := c.ahead.entries[0]
	c.ahead.entries = c.ahead.entries[1:]

	return redis.NewXStreamSliceCmdResult([]redis.XStream{{Stream: c.ahead.stream, Messages: []redis.XMessage{first}}}, nil)
}

func (c trackingClient) readGroup(ctx context.Context, a *redis.XReadGroupArgs) *redis.XStreamSliceCmd {
	cmd := c.UniversalClient.XReadGroup(ctx, a)
	for _, stream := range cmd.Val() {
		c.unacked.add(stream.Messages)
	}

	if err := cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
		c.createGroups(ctx, a)
	}

	return cmd
}

// createGroups creates the group of a on each of its streams, at the start
// of the stream, as the subscriber does when it starts. The read that
// failed still returns its error, and the subscriber's next read finds the
// group.
func (c trackingClient) createGroups(ctx context.Context, a *redis.XReadGroupArgs) {
	for _, stream := range a.Streams[:len(a.Streams)/2] {
		err := c.UniversalClient.XGroupCreateMkStream(ctx, stream, a.Group, "0").Err()
		switch {
		case err == nil:
			c.logger.WarnContext(ctx, "bus: consumer group was missing and is created again; "+
				"if Redis lost its data, commands accepted before the loss are gone",
				slog.String("stream", stream), slog.String("group", a.Group))
		case strings.HasPrefix(err.Error(), "BUSYGROUP"):
			// Another lane or worker created it first.
		default:
			c.logger.WarnContext(ctx, "bus: failed to create a missing consumer group",
				slog.String("stream", stream), slog.String("group", a.Group), slog.Any("error", err))
		}
	}
}

func (c trackingClient) XClaim(ctx context.Context, a *redis.XClaimArgs) *redis.XMessageSliceCmd {
	cmd := c.UniversalClient.XClaim(ctx, a)
	c.unacked.add(cmd.Val())

	return cmd
}

func (c trackingClient) XAck(ctx context.Context, stream, group string, ids ...string) *redis.IntCmd {
	cmd := c.UniversalClient.XAck(ctx, stream, group, ids...)
	if cmd.Err() == nil {
		c.unacked.remove(ids)
	}

	return cmd
}
