package auth

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestRetryAfterSecondsBounds(t *testing.T) {
	t.Parallel()

	require.Equal(t, 1, RetryAfterSeconds(0))
	require.Equal(t, 1, RetryAfterSeconds(time.Millisecond))
	require.Equal(t, 2, RetryAfterSeconds(1500*time.Millisecond))
	require.Equal(t, 3600, RetryAfterSeconds(time.Hour))
	require.Equal(t, 3600, RetryAfterSeconds(time.Hour+time.Millisecond))
	require.Equal(t, 3600, RetryAfterSeconds(time.Duration(1<<63-1)))
}

func TestIngestLimiterTinyRateRetryAfter(t *testing.T) {
	t.Parallel()

	limiter := NewIngestLimiter(1e-9, 1000)
	key := uuid.New()

	allowed, _ := limiter.Allow(key, 1000)
	require.True(t, allowed, "the full bucket takes one batch")

	allowed, wait := limiter.Allow(key, 1)
	require.False(t, allowed)
	require.Equal(t, 3600, RetryAfterSeconds(wait))
}

func TestIngestLimiterBurstFitsLargestBatch(t *testing.T) {
	t.Parallel()

	limiter := NewIngestLimiter(1, 10)
	allowed, _ := limiter.Allow(uuid.New(), 1000)
	require.True(t, allowed, "a burst below the largest batch is raised to it")
}
