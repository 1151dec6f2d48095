package auth

import (
	"math"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/eventpulse/eventpulse/internal/ingest"
)

// MaxRetryAfter bounds the wait that RetryAfterSeconds returns, because at
// a very low rate the bucket may need days or years to refill. A client
// that retries after MaxRetryAfter may get another 429.
const MaxRetryAfter = time.Hour

// IngestLimiter is a token bucket per key that counts events, not requests,
// so a batch of 500 costs 500 tokens.
type IngestLimiter struct {
	perSecond rate.Limit
	burst     int

	mu       sync.Mutex
	limiters map[uuid.UUID]*rate.Limiter
}

// NewIngestLimiter allows each key eventsPerSecond on average and bursts of
// burst events. config.Config.Validate rejects a burst below the largest
// batch (ingest.MaxBatchEvents), and a smaller one is raised to it here so
// that every valid batch can pass. A zero rate disables the limit.
func NewIngestLimiter(eventsPerSecond float64, burst int) *IngestLimiter {
	return &IngestLimiter{
		perSecond: rate.Limit(eventsPerSecond),
		burst:     max(burst, ingest.MaxBatchEvents),
		limiters:  map[uuid.UUID]*rate.Limiter{},
	}
}

// Allow takes n tokens from key's bucket. When the bucket holds too few, it
// takes none and returns how long to wait before retrying.
func (l *IngestLimiter) Allow(key uuid.UUID, n int) (bool, time.Duration) {
	if l == nil || l.perSecond <= 0 {
		return true, 0
	}

	l.mu.Lock()
	limiter, ok := l.limiters[key]
	if !ok {
		limiter = rate.NewLimiter(l.perSecond, l.burst)
		l.limiters[key] = limiter
	}
	l.mu.Unlock()

	now := time.Now()
	reservation := limiter.ReserveN(now, n)
	if !reservation.OK() {
		return false, time.Second
	}

	delay := reservation.DelayFrom(now)
	if delay == 0 {
		return true, 0
	}

	reservation.CancelAt(now)

	return false, delay
}

// RetryAfterSeconds rounds d up to whole seconds, from 1 to MaxRetryAfter.
func RetryAfterSeconds(d time.Duration) int {
	d = min(d, MaxRetryAfter)

	return max(1, int(math.Ceil(d.Seconds())))
}
