package tests

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// outOfRangeYear matches a printed timestamp whose year is not 0001 to 9999.
var outOfRangeYear = regexp.MustCompile(`"(0000|-\d+|\d{5,})-\d\d-\d\dT`)

func TestMetricsTimestampRange(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	accepted := []struct {
		path string
		want []string
	}{
		{"/api/v1/metrics?to=9999-12-31T23:59:59.999999999Z",
			[]string{`"from":"9999-12-31T23:58:59.999999Z"`, `"to":"9999-12-31T23:59:59.999999Z"`}},
		{"/api/v1/metrics?to=0001-01-01T00:01:00Z",
			[]string{`"from":"0001-01-01T00:00:00Z"`, `"to":"0001-01-01T00:01:00Z"`}},
		{"/api/v1/metrics?to=0001-01-01T00:40:00%2B00:30&window_seconds=600",
			[]string{`"from":"0001-01-01T00:00:00Z"`, `"to":"0001-01-01T00:10:00Z"`}},
		{"/api/v1/metrics/timeseries?from=9999-12-31T23:00:00Z&to=9999-12-31T23:59:00Z",
			[]string{`"from":"9999-12-31T23:00:00Z"`, `"to":"9999-12-31T23:59:00Z"`, `"9999-12-31T23:58:00Z"]`}},
		{"/api/v1/metrics/timeseries?from=9999-12-30T00:00:00Z&to=9999-12-31T00:00:00Z&bucket_seconds=86400",
			[]string{`"to":"9999-12-31T00:00:00Z"`, `"buckets":["9999-12-30T00:00:00Z"]`}},
		{"/api/v1/metrics/timeseries?from=0001-01-01T00:01:00Z&to=0001-01-01T01:00:00Z&bucket_seconds=70",
			[]string{`"from":"0001-01-01T00:01:00Z"`, `"buckets":["0001-01-01T00:01:00Z",`}},
		{"/api/v1/metrics/timeseries?from=0001-01-01T00:00:00Z&to=0001-01-01T01:00:00Z",
			[]string{`"from":"0001-01-01T00:00:00Z"`, `"to":"0001-01-01T01:00:00Z"`}},
		{"/api/v1/metrics/timeseries?to=0001-01-01T01:00:00Z",
			[]string{`"from":"0001-01-01T00:00:00Z"`, `"to":"0001-01-01T01:00:00Z"`}},
	}

	for _, tc := range accepted {
		status, body := get(t, a, tc.path)
		require.Equal(t, http.StatusOK, status, "%s: %s", tc.path, body)
		require.NotRegexp(t, outOfRangeYear, string(body), tc.path)
		for _, want := range tc.want {
			require.Contains(t, string(body), want, tc.path)
		}
	}

	const (
		toAfter = "to must not be after 9999-12-31T23:59:59.999999999Z in UTC, " +
			"because later times need a five-digit year"
		seriesEnd   = "because the series ends at the next bucket boundary, and later boundaries are after year 9999"
		seriesStart = "because the series starts at the bucket boundary at or before from, " +
			"and earlier boundaries are before year 1"
	)
	rejected := []struct {
		path    string
		message string
	}{
		{"/api/v1/metrics?to=9999-12-31T23:59:59-00:01", toAfter},
		{"/api/v1/metrics?to=9999-12-31T23:59:59-23:59", toAfter},
		{"/api/v1/metrics?to=0001-01-01T00:00:59.999999Z",
			"to must not be before 0001-01-01T00:01:00Z with window_seconds=60, " +
				"because the window must not start before year 1"},
		{"/api/v1/metrics?to=0001-01-01T00:00:05Z&window_seconds=10",
			"to must not be before 0001-01-01T00:00:10Z with window_seconds=10, " +
				"because the window must not start before year 1"},
		{"/api/v1/metrics?to=0000-01-01T00:00:00Z",
			"to must not be before 0001-01-01T00:01:00Z with window_seconds=60, " +
				"because the window must not start before year 1"},
		{"/api/v1/metrics?to=0001-01-01T00:10:00%2B00:30",
			"to must not be before 0001-01-01T00:01:00Z with window_seconds=60, " +
				"because the window must not start before year 1"},
		{"/api/v1/metrics/timeseries?from=9999-12-31T23:00:00Z&to=9999-12-31T23:59:59Z",
			"to must not be after 9999-12-31T23:59:00Z with bucket_seconds=60, " + seriesEnd},
		{"/api/v1/metrics/timeseries?from=9999-12-31T23:00:00Z&to=9999-12-31T23:59:00.000001Z",
			"to must not be after 9999-12-31T23:59:00Z with bucket_seconds=60, " + seriesEnd},
		{"/api/v1/metrics/timeseries?from=9999-12-30T00:00:00Z&to=9999-12-31T00:00:01Z&bucket_seconds=86400",
			"to must not be after 9999-12-31T00:00:00Z with bucket_seconds=86400, " + seriesEnd},
		{"/api/v1/metrics/timeseries?to=9999-12-31T23:59:59-23:59",
			"to must not be after 9999-12-31T23:59:00Z with bucket_seconds=60, " + seriesEnd},
		{"/api/v1/metrics/timeseries?from=0001-01-01T00:00:00Z&to=0001-01-01T01:00:00Z&bucket_seconds=70",
			"from must not be before 0001-01-01T00:01:00Z with bucket_seconds=70, " + seriesStart},
		{"/api/v1/metrics/timeseries?from=0000-06-01T00:00:00Z&to=0000-06-01T01:00:00Z",
			"from must not be before 0001-01-01T00:00:00Z with bucket_seconds=60, " + seriesStart},
		{"/api/v1/metrics/timeseries?from=0001-01-01T00:00:00%2B00:01&to=0001-01-01T01:00:00Z",
			"from must not be before 0001-01-01T00:00:00Z with bucket_seconds=60, " + seriesStart},
		{"/api/v1/metrics/timeseries?to=0001-01-01T00:59:59Z",
			"to must not be before 0001-01-01T01:00:00Z when from is missing, because from then defaults " +
				"to one hour before to, and the series must not start before year 1"},
	}

	for _, tc := range rejected {
		status, body := get(t, a, tc.path)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", tc.path, body)
		require.JSONEq(t, fmt.Sprintf(`{"error":%q}`, tc.message), string(body), tc.path)
	}
}

func TestListTimestampRange(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ingestBatch(t, a, []oas.EventInput{{
		EventType: "login", Source: "web", Timestamp: oas.NewOptDateTime(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)),
	}})
	waitForEvents(t, a, 1)

	// The list endpoints do not print from and to, so every value that
	// parses is a valid filter, even one beyond year 9999 in UTC.
	cases := []struct {
		path  string
		count int
	}{
		{"/api/v1/events?from=0000-01-01T00:00:00%2B23:59&to=9999-12-31T23:59:59-23:59", 1},
		{"/api/v1/events?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59.999999999Z", 1},
		{"/api/v1/events?from=9999-12-31T23:59:59-23:59", 0},
		{"/api/v1/events?to=0000-01-01T00:00:00Z", 0},
		{"/api/v1/anomalies?from=0000-01-01T00:00:00%2B23:59&to=9999-12-31T23:59:59-23:59", 0},
	}

	for _, tc := range cases {
		status, body := get(t, a, tc.path)
		require.Equal(t, http.StatusOK, status, "%s: %s", tc.path, body)
		require.NotRegexp(t, outOfRangeYear, string(body), tc.path)
		require.Contains(t, string(body), fmt.Sprintf(`"count":%d}`, tc.count), tc.path)
	}
}
