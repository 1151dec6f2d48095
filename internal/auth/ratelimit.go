package auth

import (
	"math"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"
)

// IngestLimiter is a token bucket per key that counts events, not requests,
// so a batch of 500 costs 500 tokens.
type IngestLimiter struct {
	perSecond rate.Limit
	burst     int

	mu       sync.Mutex
	limiters map[uuid.UUID]*rate.Limiter
}

// NewIngestLimiter allows each key eventsPerSecond on average and bursts of
// burst events; burst is raised to at least the largest batch (1,000) so
// every valid batch can pass. A zero rate disables the limit.
func NewIngestLimiter(eventsPerSecond float64, burst int) *IngestLimiter {
	return &IngestLimiter{
		perSecond: rate.Limit(eventsPerSecond),
		burst:     max(burst, 1000),
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

// RetryAfterSeconds rounds d up to whole seconds, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
