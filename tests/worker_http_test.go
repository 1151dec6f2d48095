package tests

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/app"
	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// TestWorkerServesHealthAndMetrics serves a worker's HTTP handler over the
// App's worker and checks its routes: /healthz, /metrics with the
// worker's own counters, API keys on /metrics, and JSON errors elsewhere.
func TestWorkerServesHealthAndMetrics(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(background())
	done := make(chan error, 1)
	go func() { done <- app.ServeWorkerHTTP(ctx, a.Deps, app.NewWorkerHandler(a.Deps), listener) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	base := "http://" + listener.Addr().String()
	fetch := func(method, path, key string) (int, string) {
		header := http.Header{}
		if key != "" {
			header.Set("Authorization", "Bearer "+key)
		}

		return sendRequest(t, method, base+path, "", header)
	}

	status, body := fetch(http.MethodGet, "/healthz", "")
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"status":"ok"}`, body)

	status, _, _ = postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"worker-http"}`)
	require.Equal(t, http.StatusAccepted, status)
	waitForEvents(t, a, 1)

	testapp.WaitFor(t, 10*time.Second, "the worker's command counter", func() bool {
		status, body = fetch(http.MethodGet, "/metrics", "")
		require.Equal(t, http.StatusOK, status)

		return strings.Contains(body, `eventpulse_command_duration_seconds_count{handler="IngestEvents",outcome="ok"} 1`)
	})
	require.Contains(t, body, `eventpulse_projection_lag_records{projector="projection.events"}`)

	status, body = fetch(http.MethodGet, "/nope", "")
	require.Equal(t, http.StatusNotFound, status)
	require.JSONEq(t, `{"error":"no route for GET /nope"}`, body)

	status, body = fetch(http.MethodPost, "/metrics", "")
	require.Equal(t, http.StatusMethodNotAllowed, status)
	require.JSONEq(t, `{"error":"method POST not allowed, use GET"}`, body)

	_, key := createKey(t, a, "prometheus", auth.ScopeRead)
	testapp.WaitFor(t, 10*time.Second, "/metrics to need the key", func() bool {
		status, _ = fetch(http.MethodGet, "/metrics", "")
		return status == http.StatusUnauthorized
	})

	status, body = fetch(http.MethodGet, "/metrics", key)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "eventpulse_command_duration_seconds_count")

	status, _ = fetch(http.MethodGet, "/healthz", "")
	require.Equal(t, http.StatusOK, status, "/healthz needs no key")
}
