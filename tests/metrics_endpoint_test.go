package tests

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestPrometheusMetricsCountTraffic(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	for range 3 {
		status, _, _ := postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"prom"}`)
		require.Equal(t, http.StatusAccepted, status)
	}
	status, _, _ := postJSON(t, a, "/api/v1/events/batch", `[{"event_type":"e","source":"prom"},{"event_type":"e","source":"prom"}]`)
	require.Equal(t, http.StatusAccepted, status)
	status, _, _ = postJSON(t, a, "/api/v1/events", `{"source":"prom"}`)
	require.Equal(t, http.StatusBadRequest, status)
	waitForEvents(t, a, 5)

	get(t, a, "/api/v1/events/"+newID().String())
	get(t, a, "/api/v1/events/"+newID().String())

	var text string
	testapp.WaitFor(t, 10*time.Second, "command handling observed", func() bool {
		status, body := get(t, a, "/metrics")
		require.Equal(t, http.StatusOK, status)
		text = string(body)
		return strings.Contains(text, `eventpulse_command_duration_seconds_count{handler="IngestEvents",outcome="ok"}`)
	})

	require.Contains(t, text, `eventpulse_ingest_events_total{outcome="accepted"} 5`)
	require.Contains(t, text, `eventpulse_ingest_events_total{outcome="rejected"} 1`)
	require.Contains(t, text, `eventpulse_http_requests_total{method="GET",route="/api/v1/events/{event_id}",status="404"} 2`)
	require.Contains(t, text, `eventpulse_http_requests_total{method="POST",route="/api/v1/events",status="202"} 3`)
	require.Contains(t, text, `eventpulse_ingest_duration_seconds_count 4`)
	// Each request waited for its 202 before the next was sent, so none
	// shared a command: three single events and one batch of two.
	require.Contains(t, text, "eventpulse_ingest_command_events_sum 5\n")
	require.Contains(t, text, "eventpulse_ingest_command_events_count 4\n")
	require.Contains(t, text, `eventpulse_ingest_command_events_bucket{le="1"} 3`)
	require.Contains(t, text, `eventpulse_projection_lag_records{projector="projection.events"} 0`)
}

func TestPrometheusCountsLateEvents(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	spec := thresholdSpec("late count", &events.Filters{Source: "late"}, nil, 100, 60, 60)
	lateness := 0
	spec.AllowedLatenessSeconds = &lateness
	appendRuleCreated(t, a.Pool, spec)

	now := time.Now().UTC()
	body := `[{"event_type":"e","source":"late","timestamp":"` + now.Format(time.RFC3339) + `"},` +
		`{"event_type":"e","source":"late","timestamp":"` + now.Add(-time.Hour).Format(time.RFC3339) + `"},` +
		`{"event_type":"e","source":"late","timestamp":"` + now.Add(-2*time.Hour).Format(time.RFC3339) + `"}]`
	status, _, response := postJSON(t, a, "/api/v1/events/batch", body)
	require.Equal(t, http.StatusAccepted, status, "body: %s", response)
	waitForEvents(t, a, 3)
	waitForDetection(t, a)

	_, metrics := get(t, a, "/metrics")
	require.Contains(t, string(metrics), "eventpulse_detector_late_events_total 2\n")
}
