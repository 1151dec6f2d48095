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
}

func (c trackingClient) XReadGroup(ctx context.Context, a *redis.XReadGroupArgs) *redis.XStreamSliceCmd {
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
