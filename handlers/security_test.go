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

func TestGuardUnavailableMessages(t *testing.T) {
	t.Parallel()

	guard := &Guard{logger: slog.New(slog.DiscardHandler)}
	cases := map[string]string{
		http.MethodPost: guardUnavailable,
		http.MethodGet:  "the database is unavailable, so the API key could not be checked; retry later",
	}

	for method, message := range cases {
		recorder := httptest.NewRecorder()
		request := httptest.NewRequest(method, "/api/v1/events", nil)

		guard.writeError(recorder, request, fmt.Errorf("error checking for keys: %w", syscall.ECONNREFUSED))

		require.Equal(t, http.StatusServiceUnavailable, recorder.Code, method)
		require.JSONEq(t, `{"error":"`+message+`"}`, recorder.Body.String(), method)
	}
}
