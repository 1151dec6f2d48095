package tests

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/ingestclient"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/metricrollups"
)

// windowCases is how many random windows TestMetricsRealLogs checks per
// endpoint.
const windowCases = 300

// storedEvent is the part of a stored event that the metrics count.
type storedEvent struct {
	timestamp time.Time
	eventType string
	source    string
}

func TestMetricsRealLogs(t *testing.T) {
	t.Parallel()

	a := startWithRealLogs(t)
	stored := loadStoredEvents(t, a)
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)

	t.Run("window", func(t *testing.T) {
		random := rand.New(rand.NewPCG(seed, 1))
		nonEmpty := 0
		for i := range windowCases {
			if checkRandomWindow(t, a, stored, random, i) {
				nonEmpty++
			}
		}
		t.Logf("%d of %d windows held events", nonEmpty, windowCases)
	})

	t.Run("timeseries", func(t *testing.T) {
		random := rand.New(rand.NewPCG(seed, 2))
		nonEmpty := 0
		for i := range windowCases {
			if checkRandomSeries(t, a, stored, random, i) {
				nonEmpty++
			}
		}
		t.Logf("%d of %d ranges held events", nonEmpty, windowCases)
	})

	t.Run("rebuild", func(t *testing.T) {
		live := rollupRows(t, a)
		require.NotEmpty(t, live)

		rebuildRollups(t, a)
		waitForRollups(t, a, len(stored))
		require.Equal(t, live, rollupRows(t, a))
	})
}

// startWithRealLogs starts an App, sends it every real log sample through
// the API, and waits until both the events table and the rollups hold them.
func startWithRealLogs(t *testing.T) *testapp.App {
	t.Helper()

	dir := dataDir(t)
	a := testapp.Start(t, testapp.Options{})

	files, err := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	require.NoError(t, err)
	require.NotEmpty(t, files)

	summary, err := ingestclient.Run(background(), ingestclient.Options{URL: a.URL, Files: files})
	require.NoError(t, err)
	require.Zero(t, summary.Rejected, "rejections: %v", summary.Rejections)
	require.Equal(t, 2000*len(files), summary.Accepted)

	waitForEvents(t, a, summary.Accepted)
	waitForRollups(t, a, summary.Accepted)

	return a
}

// waitForRollups waits until the rollups count n events in all.
func waitForRollups(t *testing.T, a *testapp.App, n int) {
	t.Helper()

	const query = "SELECT coalesce(sum(count), 0)::bigint FROM metric_rollups"
	testapp.WaitFor(t, 60*time.Second, "metric_rollups to count the stored events", func() bool {
		return a.Count(query) >= n
	})
	require.Equal(t, n, a.Count(query))
}

func loadStoredEvents(t *testing.T, a *testapp.App) []storedEvent {
	t.Helper()

	rows, err := a.Pool.Query(background(), `SELECT "timestamp", event_type, source FROM events`)
	require.NoError(t, err)

	stored, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storedEvent, error) {
		var e storedEvent
		err := row.Scan(&e.timestamp, &e.eventType, &e.source)
		e.timestamp = e.timestamp.UTC()
		return e, err
	})
	require.NoError(t, err)
	require.NotEmpty(t, stored)

	return stored
}

// randomFilter picks a grouping and, each with even odds, an event type and
// a source filter taken from the event near which the window is placed.
func randomFilter(random *rand.Rand, near storedEvent) (oas.GroupBy, oas.OptString, oas.OptString) {
	groupBy := oas.GroupByEventType
	if random.IntN(2) == 0 {
		groupBy = oas.GroupBySource
	}

	var eventType, source oas.OptString
	if random.IntN(2) == 0 {
		eventType = oas.NewOptString(near.eventType)
	}
	if random.IntN(3) == 0 {
		source = oas.NewOptString(near.source)
	}

	return groupBy, eventType, source
}

// randomWindowEnd places a window end near a stored event, often exactly on
// an event time, a bucket boundary or a point one window after an event, so
// both window edges are tried against events that sit right on them.
func randomWindowEnd(random *rand.Rand, near storedEvent, windowSeconds int) time.Time {
	window := time.Duration(windowSeconds) * time.Second

	switch random.IntN(6) {
	case 0:
		return near.timestamp
	case 1:
		return near.timestamp.Add(window)
	case 2:
		return metricrollups.BucketStart(near.timestamp)
	case 3:
		return near.timestamp.Add(time.Duration(random.Int64N(int64(20*time.Second))) - 10*time.Second)
	default:
		spread := int64(2 * time.Hour)
		return near.timestamp.Add(time.Duration(random.Int64N(2*spread) - spread))
	}
}

// checkRandomWindow compares one random window with a plain count and
// reports whether the window held events.
func checkRandomWindow(t *testing.T, a *testapp.App, stored []storedEvent, random *rand.Rand, i int) bool {
	t.Helper()

	near := stored[random.IntN(len(stored))]
	windowSeconds := 10 + random.IntN(3591)
	if random.IntN(4) == 0 {
		windowSeconds = []int{10, 11, 60, 3600}[random.IntN(4)]
	}

	to := randomWindowEnd(random, near, windowSeconds).Truncate(time.Microsecond)
	groupBy, eventType, source := randomFilter(random, near)
	params := oas.GetMetricsParams{
		WindowSeconds: oas.NewOptInt(windowSeconds),
		GroupBy:       oas.NewOptGroupBy(groupBy),
		EventType:     eventType,
		Source:        source,
		To:            oas.NewOptDateTime(to),
	}
	label := fmt.Sprintf("case %d: %+v", i, params)

	got, err := a.Client.GetMetrics(background(), params)
	require.NoError(t, err, label)

	from := to.Add(-time.Duration(windowSeconds) * time.Second)
	require.Equal(t, windowSeconds, got.WindowSeconds, label)
	require.Equal(t, groupBy, got.GroupBy, label)
	require.True(t, to.Equal(got.To), "%s: to %s", label, got.To)
	require.True(t, from.Equal(got.From), "%s: from %s", label, got.From)

	want := countEvents(t, a, string(groupBy), eventType, source,
		`"timestamp" > $1 AND "timestamp" <= $2`, from, to)

	counts := make(map[string]int64, len(got.Metrics))
	for j, metric := range got.Metrics {
		counts[metric.Key] = metric.Count
		require.InDelta(t, float64(metric.Count)/float64(windowSeconds), metric.RatePerSec, 1e-9, label)

		if j > 0 {
			previous := got.Metrics[j-1]
			inOrder := previous.Count > metric.Count ||
				previous.Count == metric.Count && previous.Key < metric.Key
			require.True(t, inOrder, "%s: %v before %v", label, previous, metric)
		}
	}

	require.Equal(t, want, counts, label)

	return len(counts) > 0
}

// checkRandomSeries compares one random series with a plain count per
// bucket and reports whether the range held events.
func checkRandomSeries(t *testing.T, a *testapp.App, stored []storedEvent, random *rand.Rand, i int) bool {
	t.Helper()

	near := stored[random.IntN(len(stored))]
	bucketSeconds := 10 * (1 + random.IntN(60))
	if random.IntN(4) == 0 {
		bucketSeconds = []int{10, 70, 3600, 86400}[random.IntN(4)]
	}

	span := time.Duration(1+random.Int64N(int64(bucketSeconds)*999)) * time.Second
	span += time.Duration(random.Int64N(int64(time.Second)))
	from := near.timestamp.Add(-time.Duration(random.Int64N(int64(span))))
	to := from.Add(span)
	groupBy, eventType, source := randomFilter(random, near)
	params := oas.GetMetricsTimeseriesParams{
		From:          oas.NewOptDateTime(from),
		To:            oas.NewOptDateTime(to),
		BucketSeconds: oas.NewOptInt(bucketSeconds),
		GroupBy:       oas.NewOptGroupBy(groupBy),
		EventType:     eventType,
		Source:        source,
	}
	label := fmt.Sprintf("case %d: %+v", i, params)

	got, err := a.Client.GetMetricsTimeseries(background(), params)
	require.NoError(t, err, label)

	width := time.Duration(bucketSeconds) * time.Second
	require.Zero(t, got.From.Unix()%int64(bucketSeconds), label)
	require.False(t, got.From.After(from), label)
	require.True(t, got.From.Add(width).After(from), label)
	require.False(t, got.To.Before(to), label)
	require.True(t, got.To.Add(-width).Before(to), label)
	require.Len(t, got.Buckets, int(got.To.Sub(got.From)/width), label)

	for j, series := range got.Series {
		require.Len(t, series.Counts, len(got.Buckets), label)
		if j > 0 {
			previous := got.Series[j-1]
			inOrder := previous.Total > series.Total ||
				previous.Total == series.Total && previous.Key < series.Key
			require.True(t, inOrder, "%s: %s before %s", label, previous.Key, series.Key)
		}
	}

	want := countEventsPerBucket(t, a, string(groupBy), eventType, source, got.From, got.To, bucketSeconds)
	counts := map[time.Time]map[string]int64{}
	totals := map[string]int64{}
	for j, start := range got.Buckets {
		require.True(t, got.From.Add(time.Duration(j)*width).Equal(start), label)

		for _, series := range got.Series {
			if series.Counts[j] == 0 {
				continue
			}
			if counts[start.UTC()] == nil {
				counts[start.UTC()] = map[string]int64{}
			}
			counts[start.UTC()][series.Key] = series.Counts[j]
			totals[series.Key] += series.Counts[j]
		}
	}

	require.Equal(t, want, counts, label)
	for _, series := range got.Series {
		require.Equal(t, totals[series.Key], series.Total, label)
	}

	return len(got.Series) > 0
}

// countEventsPerBucket counts the stored events in [from, to) per bucket of
// bucketSeconds since the Unix epoch and per key, with date_bin over the
// events table.
func countEventsPerBucket(
	t *testing.T,
	a *testapp.App,
	column string,
	eventType, source oas.OptString,
	from, to time.Time,
	bucketSeconds int,
) map[time.Time]map[string]int64 {
	t.Helper()

	require.Contains(t, []string{"event_type", "source"}, column)

	query := `SELECT date_bin(make_interval(secs => $5), "timestamp", timestamptz 'epoch'),
			` + column + `, count(*)
		FROM events WHERE "timestamp" >= $1 AND "timestamp" < $2
		AND ($3::text IS NULL OR event_type = $3)
		AND ($4::text IS NULL OR source = $4)
		GROUP BY 1, 2`

	rows, err := a.Pool.Query(background(), query, from, to, optional(eventType), optional(source), bucketSeconds)
	require.NoError(t, err)

	counts := map[time.Time]map[string]int64{}
	var bucket time.Time
	var key string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&bucket, &key, &n}, func() error {
		if counts[bucket.UTC()] == nil {
			counts[bucket.UTC()] = map[string]int64{}
		}
		counts[bucket.UTC()][key] = n
		return nil
	})
	require.NoError(t, err)

	return counts
}

// countEvents counts the stored events per key with a plain GROUP BY over
// the events table. The timeRange condition refers to lower as $1 and to
// upper as $2.
func countEvents(
	t *testing.T,
	a *testapp.App,
	column string,
	eventType, source oas.OptString,
	timeRange string,
	lower, upper time.Time,
) map[string]int64 {
	t.Helper()

	require.Contains(t, []string{"event_type", "source"}, column)

	query := `SELECT ` + column + `, count(*) FROM events WHERE ` + timeRange + `
		AND ($3::text IS NULL OR event_type = $3)
		AND ($4::text IS NULL OR source = $4)
		GROUP BY 1`

	rows, err := a.Pool.Query(background(), query, lower, upper, optional(eventType), optional(source))
	require.NoError(t, err)

	counts := map[string]int64{}
	var key string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&key, &n}, func() error {
		counts[key] = n
		return nil
	})
	require.NoError(t, err)

	return counts
}

func optional(v oas.OptString) *string {
	if s, ok := v.Get(); ok {
		return &s
	}

	return nil
}

// rollupRows returns the whole rollups table as sorted text lines.
func rollupRows(t *testing.T, a *testapp.App) []string {
	t.Helper()

	rows, err := a.Pool.Query(background(),
		`SELECT bucket_start, event_type, source, count FROM metric_rollups`)
	require.NoError(t, err)

	lines, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (string, error) {
		var r metricrollups.Row
		err := row.Scan(&r.BucketStart, &r.EventType, &r.Source, &r.Count)
		return fmt.Sprintf("%s %q %q %d", r.BucketStart.UTC().Format(time.RFC3339), r.EventType, r.Source, r.Count), err
	})
	require.NoError(t, err)
	slices.Sort(lines)

	return lines
}

// rebuildRollups empties the rollups and rewinds their consumer group to the
// start of the log in one transaction while the worker is stopped, then
// starts the worker so that it builds the table again from the log.
func rebuildRollups(t *testing.T, a *testapp.App) {
	t.Helper()

	a.StopWorker()

	err := pgx.BeginFunc(background(), a.Pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(background(), `TRUNCATE metric_rollups, metric_rollups_records`)
		if err != nil {
			return err
		}

		tag, err := tx.Exec(background(), `UPDATE event_log_offsets
			SET offset_acked = 0, last_processed_transaction_id = '0'
			WHERE consumer_group = $1`, metricrollups.Name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("no offset row for %q", metricrollups.Name)
		}

		return nil
	})
	require.NoError(t, err)
	require.Zero(t, a.Count("SELECT count(*) FROM metric_rollups"))

	a.StartWorker()
}

func TestMetricRollupsSkipCountedRecords(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ingestBatch(t, a, []oas.EventInput{
		{EventType: "info", Source: "api", Timestamp: at(1)},
		{EventType: "info", Source: "api", Timestamp: at(2)},
		{EventType: "error", Source: "db", Timestamp: at(15)},
	})
	waitForRollups(t, a, 3)
	before := rollupRows(t, a)

	// Rewind the consumer group without emptying the table: every record is
	// delivered again and must be recognised as counted.
	a.StopWorker()
	_, err := a.Pool.Exec(background(), `UPDATE event_log_offsets
		SET offset_acked = 0, last_processed_transaction_id = '0'
		WHERE consumer_group = $1`, metricrollups.Name)
	require.NoError(t, err)
	a.StartWorker()

	testapp.WaitFor(t, 30*time.Second, "rollups to read the log again", func() bool {
		return a.Count(caughtUpQuery, []string{metricrollups.Name}) == 1
	})

	require.Equal(t, before, rollupRows(t, a))
	require.Equal(t, []string{
		`2024-01-01T00:00:00Z "info" "api" 2`,
		`2024-01-01T00:00:10Z "error" "db" 1`,
	}, before)
}

func ingestBatch(t *testing.T, a *testapp.App, batch []oas.EventInput) {
	t.Helper()

	res, err := a.Client.IngestEventBatch(background(), batch)
	require.NoError(t, err)
	_, ok := res.(*oas.BatchAccepted)
	require.True(t, ok, "response %T", res)
}

func TestMetricsWindowEdges(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	offsets := []time.Duration{
		-time.Microsecond, 0, time.Microsecond, 5 * time.Second, 10 * time.Second,
		59*time.Second + 999999*time.Microsecond, 60 * time.Second, 60*time.Second + time.Microsecond,
	}

	var batch []oas.EventInput
	for _, offset := range offsets {
		batch = append(batch, oas.EventInput{
			EventType: "info", Source: "edge", Timestamp: oas.NewOptDateTime(base.Add(offset)),
		})
	}
	ingestBatch(t, a, batch)
	waitForEvents(t, a, len(batch))
	waitForRollups(t, a, len(batch))

	cases := []struct {
		to    time.Duration
		count int64
	}{
		// (base, base+60s] holds 1µs, 5s, 10s, 59.999999s and 60s.
		{to: 60 * time.Second, count: 5},
		// (base+1µs, base+60s+1µs] drops 1µs and adds 60s+1µs.
		{to: 60*time.Second + time.Microsecond, count: 5},
		// (base-1µs, base+60s-1µs] holds 0, 1µs, 5s, 10s, 59.999999s.
		{to: 60*time.Second - time.Microsecond, count: 5},
		// (base-10s, base+50s] holds -1µs, 0, 1µs, 5s, 10s.
		{to: 50 * time.Second, count: 5},
		// (base+5s, base+65s] holds 10s, 59.999999s, 60s, 60s+1µs.
		{to: 65 * time.Second, count: 4},
	}

	for _, tc := range cases {
		got, err := a.Client.GetMetrics(background(), oas.GetMetricsParams{
			WindowSeconds: oas.NewOptInt(60),
			To:            oas.NewOptDateTime(base.Add(tc.to)),
		})
		require.NoError(t, err)
		require.Equal(t, []oas.Metric{{Key: "info", Count: tc.count, RatePerSec: float64(tc.count) / 60}},
			got.Metrics, "to = base + %s", tc.to)
	}
}

func TestMetricsDefaults(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	now := time.Now().UTC()
	ingestBatch(t, a, []oas.EventInput{
		{EventType: "info", Source: "api", Timestamp: oas.NewOptDateTime(now.Add(-3 * time.Second))},
		{EventType: "info", Source: "db", Timestamp: oas.NewOptDateTime(now.Add(-2 * time.Second))},
		{EventType: "error", Source: "db", Timestamp: oas.NewOptDateTime(now.Add(-time.Second))},
		{EventType: "error", Source: "db", Timestamp: oas.NewOptDateTime(now.Add(-2 * time.Hour))},
	})
	waitForEvents(t, a, 4)
	waitForRollups(t, a, 4)

	status, body := get(t, a, "/api/v1/metrics")
	require.Equal(t, http.StatusOK, status, "body: %s", body)

	raw := decodeJSON(t, body).(map[string]any)
	require.ElementsMatch(t, []string{"window_seconds", "group_by", "from", "to", "metrics"}, mapKeys(raw))
	require.ElementsMatch(t, []string{"key", "count", "rate_per_sec"}, mapKeys(raw["metrics"].([]any)[0].(map[string]any)))

	got, err := a.Client.GetMetrics(background(), oas.GetMetricsParams{})
	require.NoError(t, err)
	require.Equal(t, 60, got.WindowSeconds)
	require.Equal(t, oas.GroupByEventType, got.GroupBy)
	require.WithinDuration(t, time.Now(), got.To, time.Minute)
	require.Equal(t, time.Minute, got.To.Sub(got.From))
	require.Equal(t, []oas.Metric{
		{Key: "info", Count: 2, RatePerSec: 2.0 / 60},
		{Key: "error", Count: 1, RatePerSec: 1.0 / 60},
	}, got.Metrics)

	series, err := a.Client.GetMetricsTimeseries(background(), oas.GetMetricsTimeseriesParams{
		GroupBy: oas.NewOptGroupBy(oas.GroupBySource),
	})
	require.NoError(t, err)
	require.Equal(t, 60, series.BucketSeconds)
	require.Contains(t, []int{60, 61}, len(series.Buckets), "one hour of 60-second buckets")
	require.Len(t, series.Series, 2)
	require.Equal(t, "db", series.Series[0].Key)
	require.Equal(t, int64(2), series.Series[0].Total)
	require.Equal(t, "api", series.Series[1].Key)
	require.Equal(t, int64(1), series.Series[1].Total)
}

func mapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}

	return keys
}

func TestMetricsParameters(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	cases := []struct {
		path    string
		message string
	}{
		{"/api/v1/metrics?window_seconds=abc", "window_seconds must be an integer"},
		{"/api/v1/metrics?window_seconds=1.5", "window_seconds must be an integer"},
		{"/api/v1/metrics?window_seconds=", "window_seconds must be an integer"},
		{"/api/v1/metrics?window_seconds=9", "window_seconds must be between 10 and 3600"},
		{"/api/v1/metrics?window_seconds=3601", "window_seconds must be between 10 and 3600"},
		{"/api/v1/metrics?window_seconds=-60", "window_seconds must be between 10 and 3600"},
		{"/api/v1/metrics?group_by=level", "group_by must be one of: event_type, source"},
		{"/api/v1/metrics?group_by=", "group_by must be one of: event_type, source"},
		{"/api/v1/metrics?to=yesterday", "to must be a valid ISO-8601 timestamp"},
		{"/api/v1/metrics/timeseries?bucket_seconds=x", "bucket_seconds must be an integer"},
		{"/api/v1/metrics/timeseries?bucket_seconds=15", "bucket_seconds must be a multiple of 10 between 10 and 86400"},
		{"/api/v1/metrics/timeseries?bucket_seconds=0", "bucket_seconds must be a multiple of 10 between 10 and 86400"},
		{"/api/v1/metrics/timeseries?bucket_seconds=86410", "bucket_seconds must be a multiple of 10 between 10 and 86400"},
		{"/api/v1/metrics/timeseries?group_by=all", "group_by must be one of: event_type, source"},
		{"/api/v1/metrics/timeseries?from=soon", "from must be a valid ISO-8601 timestamp"},
		{"/api/v1/metrics/timeseries?to=later", "to must be a valid ISO-8601 timestamp"},
		{
			"/api/v1/metrics/timeseries?from=2024-01-02T00:00:00Z&to=2024-01-01T00:00:00Z",
			"from must be before to",
		},
		{
			"/api/v1/metrics/timeseries?from=2024-01-01T00:00:00Z&to=2024-01-01T00:00:00Z",
			"from must be before to",
		},
		{
			"/api/v1/metrics/timeseries?from=2024-01-01T00:00:00Z&to=2024-01-01T02:46:50Z&bucket_seconds=10",
			"from and to span 1001 buckets of bucket_seconds=10, at most 1000 are allowed: " +
				"raise bucket_seconds or narrow the range",
		},
	}

	for _, tc := range cases {
		status, body := get(t, a, tc.path)
		require.Equal(t, http.StatusBadRequest, status, tc.path)
		require.JSONEq(t, fmt.Sprintf(`{"error":%q}`, tc.message), string(body), tc.path)
	}

	path := "/api/v1/metrics/timeseries?from=2024-01-01T00:00:00Z&to=2024-01-01T02:46:40Z&bucket_seconds=10"
	status, body := get(t, a, path)
	require.Equal(t, http.StatusOK, status, "1,000 buckets are allowed: %s", body)
	require.Equal(t, 1000, strings.Count(string(body), `"2024-01-01T`)-2, "bucket starts besides from and to")
}
