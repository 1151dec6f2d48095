package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHealthURL(t *testing.T) {
	t.Parallel()

	cases := map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/healthz",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/healthz",
		"[::]:9000":      "http://127.0.0.1:9000/healthz",
		":8080":          "http://127.0.0.1:8080/healthz",
		"api:8080":       "http://api:8080/healthz",
		"[::1]:8080":     "http://[::1]:8080/healthz",
	}

	for addr, expected := range cases {
		require.Equal(t, expected, healthURL(addr), addr)
	}
}

func TestCheckHealthStatus(t *testing.T) {
	t.Parallel()

	status := http.StatusOK
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/healthz", r.URL.Path)
		w.WriteHeader(status)
	}))
	t.Cleanup(server.Close)

	require.NoError(t, checkHealth(context.Background(), server.URL+"/healthz"))

	status = http.StatusServiceUnavailable
	err := checkHealth(context.Background(), server.URL+"/healthz")
	require.ErrorContains(t, err, "503 Service Unavailable")

	server.Close()
	require.ErrorContains(t, checkHealth(context.Background(), server.URL+"/healthz"), "failed")
}

// TestHealthcheckWorker checks /healthz on EVENTPULSE_WORKER_ADDR with
// --worker, and on EVENTPULSE_HTTP_ADDR without it. It sets environment
// variables, so it does not run in parallel.
func TestHealthcheckWorker(t *testing.T) {
	t.Setenv("EVENTPULSE_WORKER_ADDR", "")
	_, _, err := runCommand(t, "healthcheck", "--worker")
	require.EqualError(t, err, "healthcheck --worker needs EVENTPULSE_WORKER_ADDR, the address where eventpulse worker serves /healthz")

	worker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/healthz", r.URL.Path)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(worker.Close)

	// Nothing listens on port 1, so a check of the API address fails.
	t.Setenv("EVENTPULSE_HTTP_ADDR", "127.0.0.1:1")
	t.Setenv("EVENTPULSE_WORKER_ADDR", strings.TrimPrefix(worker.URL, "http://"))

	_, _, err = runCommand(t, "healthcheck", "--worker")
	require.NoError(t, err)

	_, _, err = runCommand(t, "healthcheck")
	require.ErrorContains(t, err, "health check of \"http://127.0.0.1:1/healthz\" failed")
}
