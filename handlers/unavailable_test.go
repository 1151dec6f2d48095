package handlers

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/ingest"
)

// xadd sends one XADD to addr and returns its error wrapped once, as the
// command bus wraps it.
func xadd(t *testing.T, addr string, readTimeout time.Duration) error {
	t.Helper()

	client := redis.NewClient(&redis.Options{
		Addr:        addr,
		DialTimeout: time.Second,
		ReadTimeout: readTimeout,
		MaxRetries:  1,
	})
	t.Cleanup(func() { _ = client.Close() })

	err := client.XAdd(context.Background(), &redis.XAddArgs{Stream: "s", Values: []string{"k", "v"}}).Err()
	require.Error(t, err)

	return fmt.Errorf("error sending command: %w", err)
}

// silentServer accepts connections and never replies, as a Redis stopped
// with SIGSTOP does once the kernel has accepted the connection.
func silentServer(t *testing.T) string {
	t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		_ = listener.Close()

		mu.Lock()
		defer mu.Unlock()
		for _, conn := range conns {
			_ = conn.Close()
		}
	})

	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}

			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()

	return listener.Addr().String()
}

func TestUnavailableMessageConnectionRefused(t *testing.T) {
	t.Parallel()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := listener.Addr().String()
	require.NoError(t, listener.Close())

	err = xadd(t, addr, time.Second)
	require.ErrorContains(t, err, "connection refused")
	require.True(t, nothingSent(err))
	require.Equal(t, messageNothingAccepted, unavailableMessage(err))
}

func TestUnavailableMessageTimeout(t *testing.T) {
	t.Parallel()

	err := xadd(t, silentServer(t), 100*time.Millisecond)
	require.ErrorContains(t, err, "timeout")
	require.False(t, nothingSent(err))
	require.Equal(t, messageOutcomeUnknown, unavailableMessage(err))
}

func TestUnavailableMessageDeadline(t *testing.T) {
	t.Parallel()

	err := fmt.Errorf("error sending command: %w", context.DeadlineExceeded)
	require.False(t, nothingSent(err))
	require.Equal(t, messageOutcomeUnknown, unavailableMessage(err))
}

func TestUnavailableMessageBatcherClosed(t *testing.T) {
	t.Parallel()

	require.True(t, nothingSent(ingest.ErrBatcherClosed))
	require.Equal(t, messageNothingAccepted, unavailableMessage(ingest.ErrBatcherClosed))
}

// errorReply is an error reply from Redis, as go-redis returns it.
type errorReply string

func (e errorReply) Error() string { return string(e) }

func (errorReply) RedisError() {}

func TestUnavailableMessageErrorReply(t *testing.T) {
	t.Parallel()

	reply := errorReply("OOM command not allowed when used memory > 'maxmemory'.")
	err := fmt.Errorf("error sending command: %w", fmt.Errorf("cannot xadd: %w", reply))
	require.True(t, nothingSent(err))
	require.Equal(t, messageNothingAccepted, unavailableMessage(err))
}
