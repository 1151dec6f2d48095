package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsLoopbackAddresses(t *testing.T) {
	t.Parallel()

	cases := map[string]bool{
		"127.0.0.1:8080":          true,
		"127.8.9.10":              true,
		"[::1]:443":               true,
		"::1":                     true,
		"[::ffff:127.0.0.1]:8080": true,
		"localhost:8080":          true,
		"localhost":               true,
		"10.0.0.1:8080":           false,
		"[::2]:80":                false,
		"[::1%lo]:80":             false,
		"example.com:80":          false,
		"":                        false,
		"127.0.0.1.5:80":          false,
	}

	for addr, want := range cases {
		require.Equal(t, want, IsLoopback(addr), "IsLoopback(%q)", addr)
	}
}

func TestGuardUnavailableSaysNothingAccepted(t *testing.T) {
	t.Parallel()

	guard := &Guard{logger: slog.New(slog.DiscardHandler)}
	recorder := httptest.NewRecorder()
	request := httptest.NewRequest(http.MethodPost, "/api/v1/events", nil)

	guard.writeError(recorder, request, fmt.Errorf("error checking for keys: %w", syscall.ECONNREFUSED))

	require.Equal(t, http.StatusServiceUnavailable, recorder.Code)
	require.JSONEq(t, `{"error":"`+guardUnavailable+`"}`, recorder.Body.String())
}

func TestGuardUnavailableReadSaysRetry(t *testing.T) {
	t.Parallel()

	guard := &Guard{logger: slog.New(slog.DiscardHandler)}
	recorder := httptest.NewRecorder()
	request := httptest.NewRequest(http.MethodGet, "/api/v1/anomalies", nil)

	guard.writeError(recorder, request, fmt.Errorf("error checking for keys: %w", syscall.ECONNREFUSED))

	require.Equal(t, http.StatusServiceUnavailable, recorder.Code)
	require.JSONEq(t, `{"error":"the database is unavailable, so the API key could not be checked; retry later"}`,
		recorder.Body.String())
}
