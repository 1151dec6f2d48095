package deadletter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/deadletter"
)

func TestIsTransient(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"unexpected EOF", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{"deadline", context.DeadlineExceeded, true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, true},
		{"undefined table", &pgconn.PgError{Code: "42P01"}, false},
		{"invalid json", &pgconn.PgError{Code: "22P02"}, false},
		{"unique violation", fmt.Errorf("insert: %w", &pgconn.PgError{Code: "23505"}), false},
		{"plain error", errors.New("cannot decode command"), false},
		{"cancelled", context.Canceled, false},
	}

	for _, tc := range cases {
		require.Equal(t, tc.want, deadletter.IsTransient(tc.err), tc.name)
	}
}

func TestShouldBury(t *testing.T) {
	t.Parallel()

	require.True(t, deadletter.ShouldBury(errors.New("cannot decode command")))
	require.False(t, deadletter.ShouldBury(&pgconn.PgError{Code: "57P01"}), "transient")
	require.False(t, deadletter.ShouldBury(deadletter.RetryLater(errors.New("unknown event"))), "marked")
	require.False(t, deadletter.ShouldBury(fmt.Errorf("appending: %w", context.Canceled)), "shutdown")
}
