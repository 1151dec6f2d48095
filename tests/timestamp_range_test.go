package tests

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// rangeMessage is the 400 message for a from or to query parameter outside
// the range of event timestamps.
func rangeMessage(param, value string) string {
	return param + " must be at or after 1970-01-01T00:00:00Z and before 2100-01-01T00:00:00Z, got " + value
}

func TestReadTimestampRangeRejected(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	cases := []struct {
		path    string
		message string
	}{
		{"/api/v1/events?from=0001-01-01T00:00:00Z", rangeMessage("from", "0001-01-01T00:00:00Z")},
		{"/api/v1/events?to=9999-12-31T23:59:59Z", rangeMessage("to", "9999-12-31T23:59:59Z")},
		{"/api/v1/events?from=1969-12-31T23:59:59.999999999Z", rangeMessage("from", "1969-12-31T23:59:59.999999999Z")},
		{"/api/v1/events?to=2100-01-01T00:00:00Z", rangeMessage("to", "2100-01-01T00:00:00Z")},
		{"/api/v1/events?from=1970-01-01T00:30:00%2B01:00", rangeMessage("from", "1970-01-01T00:30:00+01:00")},
		{"/api/v1/events?to=2099-12-31T23:00:00-02:00", rangeMessage("to", "2099-12-31T23:00:00-02:00")},
		{"/api/v1/events?from=2100-01-02T00:00:00Z&to=2024-01-01T00:00:00Z", rangeMessage("from", "2100-01-02T00:00:00Z")},
		{"/api/v1/events?from=0000-01-01t00:00:00z", rangeMessage("from", "0000-01-01T00:00:00Z")},
		{"/api/v1/anomalies?from=1969-01-01T00:00:00Z", rangeMessage("from", "1969-01-01T00:00:00Z")},
		{"/api/v1/anomalies?to=2100-06-01T00:00:00Z", rangeMessage("to", "2100-06-01T00:00:00Z")},
		{"/api/v1/metrics?to=2100-01-01T00:00:00Z", rangeMessage("to", "2100-01-01T00:00:00Z")},
		{"/api/v1/metrics?to=1969-12-31T23:59:59Z", rangeMessage("to", "1969-12-31T23:59:59Z")},
		{"/api/v1/metrics/timeseries?to=2100-01-02T00:00:00Z", rangeMessage("to", "2100-01-02T00:00:00Z")},
		{"/api/v1/metrics/timeseries?from=1969-12-31T00:00:00Z&to=1970-01-01T00:00:00Z",
			rangeMessage("from", "1969-12-31T00:00:00Z")},
		{"/api/v1/metrics/timeseries?from=2099-12-31T00:00:00Z&to=2100-01-01T00:00:00Z",
			rangeMessage("to", "2100-01-01T00:00:00Z")},
	}

	for _, tc := range cases {
		status, body := get(t, a, tc.path)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", tc.path, body)
		require.JSONEq(t, fmt.Sprintf(`{"error":%q}`, tc.message), string(body), tc.path)
	}
}

func TestReadTimestampMessagesKept(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	cases := []struct {
		path    string
		message string
	}{
		{"/api/v1/events?from=not-a-date", "from must be a valid ISO-8601 timestamp"},
		{"/api/v1/events?to=2024-13-01T00:00:00Z", "to must be a valid ISO-8601 timestamp"},
		{"/api/v1/events?from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z", "from must not be after to"},
		{"/api/v1/events?from=1970-01-01T00:00:01Z&to=1970-01-01T00:00:00Z", "from must not be after to"},
	}

	for _, tc := range cases {
		status, body := get(t, a, tc.path)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", tc.path, body)
		require.JSONEq(t, fmt.Sprintf(`{"error":%q}`, tc.message), string(body), tc.path)
	}
}

func TestReadTimestampRangeAccepted(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ingestBatch(t, a, []oas.EventInput{{
		EventType: "login", Source: "web", Timestamp: oas.NewOptDateTime(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)),
	}})
	waitForEvents(t, a, 1)

	cases := []struct {
		path string
		want []string
	}{
		{"/api/v1/events?from=1970-01-01T00:00:00Z&to=2099-12-31T23:59:59.999999999Z", []string{`"count":1}`}},
		{"/api/v1/events?from=1970-01-01T01:00:00%2B01:00&to=2099-12-31T23:59:59-00:00", []string{`"count":1}`}},
		{"/api/v1/events?from=2024-05-01T12:00:00.000001Z", []string{`"count":0}`}},
		{"/api/v1/anomalies?from=1970-01-01T00:00:00Z&to=2099-12-31T23:59:59Z", []string{`"count":0}`}},
		{"/api/v1/metrics?to=1970-01-01T00:00:00Z",
			[]string{`"from":"1969-12-31T23:59:00Z"`, `"to":"1970-01-01T00:00:00Z"`}},
		{"/api/v1/metrics?to=2099-12-31T23:59:59.999999999Z",
			[]string{`"from":"2099-12-31T23:58:59.999999Z"`, `"to":"2099-12-31T23:59:59.999999Z"`}},
		{"/api/v1/metrics/timeseries?to=1970-01-01T00:30:00Z",
			[]string{`"from":"1969-12-31T23:30:00Z"`, `"to":"1970-01-01T00:30:00Z"`}},
		{"/api/v1/metrics/timeseries?from=2099-12-30T00:00:00Z&to=2099-12-31T23:59:59Z&bucket_seconds=86400",
			[]string{`"to":"2100-01-01T00:00:00Z"`, `"buckets":["2099-12-30T00:00:00Z","2099-12-31T00:00:00Z"]`}},
	}

	for _, tc := range cases {
		status, body := get(t, a, tc.path)
		require.Equal(t, http.StatusOK, status, "%s: %s", tc.path, body)
		for _, want := range tc.want {
			require.Contains(t, string(body), want, tc.path)
		}
	}
}
