package deadletter

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

// IsTransient reports whether err comes from a dependency that is down or
// overloaded rather than from the message itself, so that handling the same
// message later can succeed: a failed connection to PostgreSQL or Redis, a
// server shutting down, a deadlock or a serialization failure.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}

	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, redis.ErrClosed) {
		return true
	}

	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return transientSQLState(pgErr.Code)
	}

	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) {
		return true
	}

	return pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}

// transientSQLState reports whether a PostgreSQL error code names a
// condition of the server rather than of the statement: class 08
// (connection exception), 53 (insufficient resources), 57P01 to 57P03
// (shutdown, crash, cannot connect now), 40001 and 40P01 (serialization
// failure, deadlock).
func transientSQLState(code string) bool {
	if len(code) < 2 {
		return false
	}

	switch code[:2] {
	case "08", "53":
		return true
	}

	switch code {
	case "57P01", "57P02", "57P03", "40001", "40P01":
		return true
	}

	return false
}

// ErrRetryLater marks a handler error that must not send the message to the
// dead-letter store: the message is delivered again instead.
var ErrRetryLater = errors.New("retry later")

// RetryLater marks err with ErrRetryLater.
func RetryLater(err error) error {
	return errors.Join(err, ErrRetryLater)
}

// ShouldBury reports whether the poison queue stores a message that failed
// with err as a dead letter, rather than having it delivered again. A
// handler cancelled by a shutdown is not buried either.
func ShouldBury(err error) bool {
	return !IsTransient(err) && !errors.Is(err, ErrRetryLater) && !errors.Is(err, context.Canceled)
}
