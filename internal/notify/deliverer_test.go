package notify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
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

// unusedSender fails a test that reaches it.
type unusedSender struct{ t *testing.T }

func (s unusedSender) Send(context.Context, Notification) error {
	s.t.Error("nothing can be claimed, so nothing is sent")
	return nil
}

// TestClaimErrorsLoggedOnce runs a channel against a PostgreSQL address
// where nothing listens. Every poll fails to claim, and only the first
// failure is logged above Debug.
func TestClaimErrorsLoggedOnce(t *testing.T) {
	t.Parallel()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := listener.Addr().String()
	require.NoError(t, listener.Close())

	pool, err := pgxpool.New(t.Context(), "postgres://postgres@"+closedAddr+"/eventpulse?connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	var output bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{mu: &mu, w: &output}, nil))
	config := Config{Delivery: DeliveryConfig{PollInterval: 10 * time.Millisecond, Lease: time.Minute}}
	d := NewDeliverer(pool, config, map[string]Sender{"ops": unusedSender{t}}, logger)

	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	d.Run(ctx)

	mu.Lock()
	defer mu.Unlock()
	lines := strings.Split(strings.TrimSpace(output.String()), "\n")
	require.Len(t, lines, 1, "one line for the failed claims of half a second:\n%s", output.String())
	require.Contains(t, lines[0], `"level":"WARN"`)
	require.Contains(t, lines[0], `"msg":"notify: error claiming deliveries"`)
	require.Contains(t, lines[0], `"channel":"ops"`)
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()

	return l.w.Write(p)
}
