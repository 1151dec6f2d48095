package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventpulse/eventpulse/internal/deadletter"
)

// heartbeatStale is the age of a consumer's last heartbeat after which its
// pending commands are taken over.
const heartbeatStale = 3 * HeartbeatInterval

// claimTimeout bounds the Redis and PostgreSQL calls made for one pending
// command.
const claimTimeout = 5 * time.Second

// claimPolicy decides which idle pending commands a consumer takes over.
// It claims a command from another worker only when that worker's
// heartbeat is stale, and from this process only when no lane of the
// process is handling it. So a live worker that keeps retrying a command
// while PostgreSQL is down keeps it, and its delivery count grows only
// when a consumer died with it or never received it. A command delivered
// MaxDeliveries times goes to the dead-letter store instead.
type claimPolicy struct {
	client        redis.UniversalClient
	prefix        string
	worker        string // this process's consumer name, see LaneConsumer
	unacked       *unackedEntries
	stream        string
	group         string
	maxDeliveries int64
	deadLetter    func(context.Context, deadletter.Letter) error
	logger        *slog.Logger
}

func (p *claimPolicy) shouldClaim(pending redis.XPendingExt) bool {
	ctx, cancel := context.WithTimeout(context.Background(), claimTimeout)
	defer cancel()

	alive, err := p.consumerAlive(ctx, pending)
	if err != nil || alive {
		return false
	}

	if pending.RetryCount < p.maxDeliveries {
		p.logger.InfoContext(ctx, "bus: claiming a pending command that no running consumer is handling",
			slog.String("stream", p.stream), slog.String("entry_id", pending.ID),
			slog.String("from_consumer", pending.Consumer), slog.Int64("deliveries", pending.RetryCount))
		return true
	}

	if err := p.bury(ctx, pending); err != nil {
		p.logger.ErrorContext(ctx, "bus: error moving a command to the dead-letter store",
			slog.String("stream", p.stream), slog.String("entry_id", pending.ID), slog.Any("error", err))
	}

	return false
}

// consumerAlive reports whether a running consumer is handling pending. A
// command pending with one of this worker's lanes is handled only when
// this process read it and has not acknowledged it (see unackedEntries).
// Otherwise an earlier process of the same name left it, or the reply that
// delivered it was lost, and XREADGROUP never returns it again. A lane of
// another worker is alive while that worker's heartbeat is fresh.
func (p *claimPolicy) consumerAlive(ctx context.Context, pending redis.XPendingExt) (bool, error) {
	worker := pending.Consumer
	if name, ok := laneWorker(pending.Consumer); ok {
		worker = name
	}

	if worker == p.worker || pending.Consumer == p.worker {
		return p.unacked.contains(pending.ID), nil
	}

	score, err := p.client.ZScore(ctx, WorkersKey(p.prefix), pending.Consumer).Result()
	if errors.Is(err, redis.Nil) && worker != pending.Consumer {
		score, err = p.client.ZScore(ctx, WorkersKey(p.prefix), worker).Result()
	}
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}

	return time.Since(time.Unix(int64(score), 0)) < heartbeatStale, nil
}

// bury stores the entry as a dead letter, then acknowledges it. A crash in
// between leaves the entry pending, and the unique index on waiting
// letters keeps the second attempt from adding a row.
func (p *claimPolicy) bury(ctx context.Context, pending redis.XPendingExt) error {
	entries, err := p.client.XRange(ctx, p.stream, pending.ID, pending.ID).Result()
	if err != nil {
		return fmt.Errorf("error reading entry %q of %q: %w", pending.ID, p.stream, err)
	}

	reason := fmt.Sprintf("delivered %d times without being acknowledged; the last consumer was %q",
		pending.RetryCount, pending.Consumer)

	if len(entries) == 1 {
		letter := letterFromEntry(entries[0].Values)
		letter.Topic = p.stream
		letter.Handler = p.group
		letter.Reason = reason
		letter.Deliveries = int(pending.RetryCount)

		if err := p.deadLetter(ctx, letter); err != nil {
			return err
		}
	}

	if err := p.client.XAck(ctx, p.stream, p.group, pending.ID).Err(); err != nil {
		return fmt.Errorf("error acknowledging entry %q of %q: %w", pending.ID, p.stream, err)
	}

	p.logger.ErrorContext(ctx, "bus: command moved to the dead-letter store",
		slog.String("stream", p.stream), slog.String("entry_id", pending.ID),
		slog.Int64("deliveries", pending.RetryCount), slog.Bool("entry_trimmed", len(entries) == 0))

	return nil
}

// letterFromEntry decodes a stream entry as Watermill wrote it, or keeps
// its raw fields as the payload when it is not a Watermill message.
func letterFromEntry(values map[string]any) deadletter.Letter {
	msg, _ := tolerantUnmarshaller{}.Unmarshal(values)
	letter := deadletter.Letter{MessageUUID: msg.UUID, Payload: msg.Payload, Metadata: msg.Metadata}

	if msg.Metadata.Get(MetaUnreadable) != "" {
		raw, _ := json.Marshal(values)
		letter.Payload = raw
	}

	return letter
}
