package tests

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// documentedMetric matches a row of the metrics table of
// docs/operations.md and captures the metric name.
var documentedMetric = regexp.MustCompile("(?m)^\\| `(eventpulse_[a-z_]+)[{`]")

// documentedMetrics returns the metric names that docs/operations.md lists.
func documentedMetrics(t *testing.T) []string {
	t.Helper()

	doc, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	require.NoError(t, err)

	var names []string
	for _, match := range documentedMetric.FindAllStringSubmatch(string(doc), -1) {
		names = append(names, match[1])
	}

	return names
}

// metricSeries returns the sample lines of /metrics that belong to name,
// histogram and summary series included.
func metricSeries(text, name string) []string {
	var series []string
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "#") {
			continue
		}

		metric, _, _ := strings.Cut(line, " ")
		metric, _, _ = strings.Cut(metric, "{")
		for _, suffix := range []string{"", "_bucket", "_count", "_sum"} {
			if metric == name+suffix {
				series = append(series, strings.TrimSpace(line))
			}
		}
	}

	return series
}

// TestMetricsDocumentedFromStart reads /metrics once from a server that
// has handled no event and finds every metric docs/operations.md lists,
// with zero series for the label values known at start.
func TestMetricsDocumentedFromStart(t *testing.T) {
	t.Parallel()

	names := documentedMetrics(t)
	require.Len(t, names, 13, "the metrics table of docs/operations.md")

	channels := fastDelivery + "channels:\n" + slackChannel("ops", "http://127.0.0.1:9/unused", "")
	a := startWithChannels(t, channels, testapp.Options{})

	status, body := get(t, a, "/metrics")
	require.Equal(t, http.StatusOK, status)
	text := string(body)

	var missing []string
	for _, name := range names {
		if len(metricSeries(text, name)) == 0 {
			missing = append(missing, name)
		}
	}
	require.Empty(t, missing, "documented metrics missing from a fresh server")

	stream := bus.CommandStream(a.Config.StreamPrefix, "IngestEvents")
	for _, series := range []string{
		`eventpulse_ingest_events_total{outcome="accepted"} 0`,
		`eventpulse_ingest_events_total{outcome="rejected"} 0`,
		`eventpulse_ingest_events_total{outcome="rate_limited"} 0`,
		`eventpulse_ingest_events_total{outcome="backlog_full"} 0`,
		`eventpulse_ingest_events_total{outcome="unavailable"} 0`,
		`eventpulse_ingest_handled_events_total{result="appended"} 0`,
		`eventpulse_ingest_handled_events_total{result="duplicate"} 0`,
		`eventpulse_ingest_handled_events_total{result="conflict"} 0`,
		`eventpulse_notification_deliveries_total{channel="ops",status="sent"} 0`,
		`eventpulse_notification_deliveries_total{channel="ops",status="failed"} 0`,
		`eventpulse_notification_deliveries_total{channel="ops",status="retrying"} 0`,
		`eventpulse_command_dead_letters{handler="IngestEvents",stream="` + stream + `"} 0`,
		`eventpulse_command_duration_seconds_count{handler="IngestEvents",outcome="ok"} 0`,
		`eventpulse_command_duration_seconds_count{handler="CreateRule",outcome="error"} 0`,
		`eventpulse_projection_record_duration_seconds_count{projector="detector"} 0`,
		`eventpulse_projection_record_duration_seconds_count{projector="projection.notifier"} 0`,
		`eventpulse_projection_lag_records{projector="projection.events"} 0`,
		`eventpulse_http_requests_total{method="GET",route="/metrics",status="200"} 0`,
		`eventpulse_detector_late_events_total 0`,
	} {
		require.Contains(t, text, series+"\n")
	}
}
