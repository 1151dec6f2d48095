package tests

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestTimestampQueryLowercaseLetters(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	at := time.Date(2024, 5, 1, 12, 0, 5, 0, time.UTC)
	ingestBatch(t, a, []oas.EventInput{
		{EventType: "login", Source: "web", Timestamp: oas.NewOptDateTime(at)},
		{EventType: "login", Source: "web", Timestamp: oas.NewOptDateTime(at.Add(-2 * time.Hour))},
	})
	waitForEvents(t, a, 2)
	waitForRollups(t, a, 2)

	cases := []struct {
		path string
		want string
	}{
		// Only the event at 12:00:05 is in [12:00:00, 13:00:00].
		{"/api/v1/events?from=2024-05-01t12:00:00z&to=2024-05-01t13:00:00z", `"count":1}`},
		{"/api/v1/events?from=2024-05-01t14:00:00%2B02:00", `"count":1}`},
		{"/api/v1/events?from=2024-05-01T12:00:05.5z", `"count":0}`},
		{"/api/v1/events?to=2024-05-01t11:00:00Z", `"count":1}`},
		{"/api/v1/anomalies?from=2024-05-01t12:00:00z&to=2024-05-01t13:00:00z", `"count":0}`},
		{"/api/v1/metrics?to=2024-05-01t12:00:30z&window_seconds=60", `"count":1`},
		{"/api/v1/metrics?to=2024-05-01t12:00:30z&window_seconds=60", `"to":"2024-05-01T12:00:30Z"`},
		{"/api/v1/metrics/timeseries?from=2024-05-01t12:00:00z&to=2024-05-01t12:01:00z", `"total":1`},
		{"/api/v1/metrics/timeseries?from=2024-05-01t12:00:00z&to=2024-05-01t12:01:00z", `"to":"2024-05-01T12:01:00Z"`},
	}

	for _, tc := range cases {
		status, body := get(t, a, tc.path)
		require.Equal(t, http.StatusOK, status, "%s: %s", tc.path, body)
		require.Contains(t, string(body), tc.want, tc.path)
	}

	page, err := a.Client.ListEvents(background(), oas.ListEventsParams{
		From: oas.NewOptDateTime(at.Add(-time.Minute)),
		To:   oas.NewOptDateTime(at.Add(time.Minute)),
	})
	require.NoError(t, err, "upper-case timestamps from the generated client")
	require.Len(t, page.Data, 1)
}

func TestTimestampQueryInvalidKeepsMessages(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	invalid := []string{
		"2024-05-01x12:00:00Z", "2024-05-01t12:00:00", "2024-05-01", "2024-05-01 12:00:00z",
		"2024-05-01t25:00:00z", "t", "z", "2024-05-01T12:00:00zz",
	}
	paths := map[string][]string{
		"/api/v1/events":             {"from", "to"},
		"/api/v1/anomalies":          {"from", "to"},
		"/api/v1/metrics":            {"to"},
		"/api/v1/metrics/timeseries": {"from", "to"},
	}

	for path, names := range paths {
		for _, name := range names {
			for _, value := range invalid {
				query := path + "?" + name + "=" + url.QueryEscape(value)
				status, body := get(t, a, query)
				require.Equal(t, http.StatusBadRequest, status, query)
				require.JSONEq(t, fmt.Sprintf(`{"error":"%s must be a valid ISO-8601 timestamp"}`, name),
					string(body), query)
			}
		}
	}
}
