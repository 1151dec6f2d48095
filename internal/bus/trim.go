package bus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SafeTrimID returns the lowest entry id of stream that a consumer group
// still needs: the oldest entry pending in any group, or, for a group with
// nothing pending, the last entry delivered to it. Entries below that id
// were delivered and acknowledged by every group. ok is false when the
// stream has no consumer group, since then no entry is known to be done.
func SafeTrimID(ctx context.Context, client redis.UniversalClient, stream string) (id string, ok bool, err error) {
	groups, err := client.XInfoGroups(ctx, stream).Result()
	if err != nil {
		return "", false, fmt.Errorf("error reading consumer groups of %q: %w", stream, err)
	}

	var lowest string
	for _, group := range groups {
		needed := group.LastDeliveredID

		if group.Pending > 0 {
			summary, err := client.XPending(ctx, stream, group.Name).Result()
			if err != nil {
				return "", false, fmt.Errorf("error reading pending entries of %q in group %q: %w", stream, group.Name, err)
			}

			needed = summary.Lower
		}

		if lowest == "" || compareIDs(needed, lowest) < 0 {
			lowest = needed
		}
	}

	return lowest, lowest != "", nil
}

// Trim deletes the entries of stream below SafeTrimID and returns how many
// it deleted. It never uses MAXLEN, which would drop entries regardless of
// whether a handler finished them.
func Trim(ctx context.Context, client redis.UniversalClient, stream string) (int64, error) {
	id, ok, err := SafeTrimID(ctx, client, stream)
	if err != nil || !ok {
		return 0, err
	}

	deleted, err := client.XTrimMinID(ctx, stream, id).Result()
	if err != nil {
		return 0, fmt.Errorf("error trimming %q below %s: %w", stream, id, err)
	}

	return deleted, nil
}

// RunTrimmer trims streams every interval until ctx ends. A stream that
// does not exist yet is skipped.
func RunTrimmer(ctx context.Context, client redis.UniversalClient, streams []string, interval time.Duration, logger *slog.Logger) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}

		for _, stream := range streams {
			deleted, err := Trim(ctx, client, stream)
			switch {
			case err != nil && ctx.Err() == nil && !isNoSuchKey(err):
				logger.WarnContext(ctx, "bus: error trimming stream", slog.String("stream", stream), slog.Any("error", err))
			case deleted > 0:
				logger.DebugContext(ctx, "bus: stream trimmed", slog.String("stream", stream), slog.Int64("num_deleted", deleted))
			}
		}
	}
}

func isNoSuchKey(err error) bool {
	var redisErr redis.Error
	return errors.As(err, &redisErr) && strings.Contains(redisErr.Error(), "no such key")
}

// compareIDs orders two stream ids of the form milliseconds-sequence.
func compareIDs(a, b string) int {
	aMs, aSeq := splitID(a)
	bMs, bSeq := splitID(b)

	if aMs != bMs {
		return cmp.Compare(aMs, bMs)
	}

	return cmp.Compare(aSeq, bSeq)
}

func splitID(id string) (uint64, uint64) {
	msText, seqText, _ := strings.Cut(id, "-")
	ms, _ := strconv.ParseUint(msText, 10, 64)
	seq, _ := strconv.ParseUint(seqText, 10, 64)

	return ms, seq
}
