package notify

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBackoffDoublesWithJitter(t *testing.T) {
	t.Parallel()

	d := &Deliverer{config: Config{Delivery: DeliveryConfig{
		InitialBackoff: time.Second,
		MaxBackoff:     10 * time.Second,
	}}}

	for attempt, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second,
		4: 8 * time.Second, 5: 10 * time.Second, 30: 10 * time.Second} {
		for range 50 {
			wait := d.backoff(attempt)
			require.LessOrEqual(t, wait, base, "attempt %d", attempt)
			require.GreaterOrEqual(t, wait, base/2, "attempt %d", attempt)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	require.Equal(t, 7*time.Second, parseRetryAfter("7", now))
	require.Equal(t, 30*time.Second, parseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now))
	require.Equal(t, time.Duration(0), parseRetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now))
	require.Equal(t, time.Duration(0), parseRetryAfter("", now))
	require.Equal(t, time.Duration(0), parseRetryAfter("soon", now))
	require.Equal(t, time.Duration(0), parseRetryAfter("-3", now))
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()

	retryable, wait := retryPolicy(errors.New("connection refused"))
	require.True(t, retryable)
	require.Zero(t, wait)

	retryable, _ = retryPolicy(permanent("slack webhook returned %d", 400))
	require.False(t, retryable)

	retryable, wait = retryPolicy(&SendError{Err: errors.New("429"), RetryAfter: 3 * time.Second})
	require.True(t, retryable)
	require.Equal(t, 3*time.Second, wait)
}
