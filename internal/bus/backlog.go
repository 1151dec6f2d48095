package bus

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventpulse/eventpulse/internal/logging"
)

// BacklogIntervalDefault is how often a Backlog reads the stream's state.
const BacklogIntervalDefault = 250 * time.Millisecond

// CommandsWaiting returns how many entries of stream the consumer group has
// not acknowledged: those not delivered yet (the group's lag) plus those
// delivered and pending. Redis reports no lag after entries past the
// group's position were deleted. Then, and when the group does not exist
// yet, every entry of the stream counts, which overstates the figure by
// the acknowledged entries not trimmed yet. A missing stream counts 0.
func CommandsWaiting(ctx context.Context, client redis.UniversalClient, stream, group string) (int64, error) {
	groups, err := client.XInfoGroups(ctx, stream).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return 0, nil
		}

		return 0, fmt.Errorf("error reading consumer groups of %q: %w", stream, err)
	}

	for _, g := range groups {
		if g.Name == group && g.Lag >= 0 {
			return g.Lag + g.Pending, nil
		}
	}

	n, err := client.XLen(ctx, stream).Result()
	if err != nil {
		return 0, fmt.Errorf("error reading the length of %q: %w", stream, err)
	}

	return n, nil
}

// BacklogFullError is the error of a command rejected because more commands
// wait for the consumer group than the limit allows. Nothing was sent.
type BacklogFullError struct {
	Waiting int64
	Limit   int64
}

func (e *BacklogFullError) Error() string {
	return fmt.Sprintf("%d commands wait for the worker, more than the limit of %d", e.Waiting, e.Limit)
}

// Backlog is a recent count of the commands of one stream that its
// consumer group has not acknowledged, read every interval by Run. Check
// rejects new commands while the count is above a limit. This bounds what a
// producer faster than the consumers piles up in Redis. Without it, the
// stream grows until Redis reaches its maxmemory and rejects every write,
// rule changes included.
type Backlog struct {
	client   redis.UniversalClient
	stream   string
	group    string
	limit    int64
	interval time.Duration
	logger   *slog.Logger

	// waiting is the last count read, or -1 before the first read and
	// after a failed one, when Check lets commands through.
	waiting atomic.Int64
	// outage logs the first failed read at Warn, the ones after it at
	// Debug, and the next successful read at Info.
	outage logging.Outage
}

// NewBacklog returns a Backlog of group on stream that rejects commands
// while more than limit wait. interval defaults to BacklogIntervalDefault.
func NewBacklog(client redis.UniversalClient, stream, group string, limit int64, interval time.Duration, logger *slog.Logger) *Backlog {
	if interval <= 0 {
		interval = BacklogIntervalDefault
	}

	b := &Backlog{client: client, stream: stream, group: group, limit: limit, interval: interval, logger: logger}
	b.waiting.Store(-1)

	return b
}

// Check returns a *BacklogFullError when the last count was above the
// limit, and nil otherwise, also when no count is known.
func (b *Backlog) Check() error {
	waiting := b.waiting.Load()
	if waiting > b.limit {
		return &BacklogFullError{Waiting: waiting, Limit: b.limit}
	}

	return nil
}

// Waiting returns the last count read, and false when none is known.
func (b *Backlog) Waiting() (int64, bool) {
	waiting := b.waiting.Load()

	return waiting, waiting >= 0
}

// backlogRetryMax caps the wait between reads while they fail.
const backlogRetryMax = 5 * time.Second

// Run reads the count every interval until ctx ends. After a failed read
// it waits twice as long each time, up to backlogRetryMax, so that an
// unreachable Redis is not dialed four times a second. It logs when the
// count goes over the limit and when it comes back under it, not for each
// rejected command.
func (b *Backlog) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()

	full := false
	wait := b.interval
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}

		if b.refresh(ctx, &full) {
			wait = b.interval
		} else {
			wait = min(2*wait, backlogRetryMax)
		}
		timer.Reset(wait)
	}
}

// refresh reads the count and reports whether the read succeeded.
func (b *Backlog) refresh(ctx context.Context, full *bool) bool {
	readCtx, cancel := context.WithTimeout(ctx, max(b.interval, time.Second))
	waiting, err := CommandsWaiting(readCtx, b.client, b.stream, b.group)
	cancel()

	if err != nil {
		b.waiting.Store(-1)
		if ctx.Err() == nil {
			b.outage.Failed(ctx, b.logger, "bus: failed to read the command backlog; commands pass until it is read again",
				slog.String("stream", b.stream), slog.Any("error", err))
		}

		return false
	}

	b.waiting.Store(waiting)
	b.outage.Recovered(ctx, b.logger, "bus: command backlog read again")

	switch {
	case waiting > b.limit && !*full:
		*full = true
		b.logger.WarnContext(ctx, "bus: command backlog over its limit; new ingest commands are rejected with 503",
			slog.String("stream", b.stream), slog.Int64("waiting", waiting), slog.Int64("limit", b.limit))
	case waiting <= b.limit && *full:
		*full = false
		b.logger.InfoContext(ctx, "bus: command backlog back under its limit; ingest commands are accepted again",
			slog.String("stream", b.stream), slog.Int64("waiting", waiting), slog.Int64("limit", b.limit))
	}

	return true
}
