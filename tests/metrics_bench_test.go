package tests

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/metricrollups"
)

// benchEventSpacing is the event time between two generated events: both
// stores have the same event rate (about 1.4 events/s, so 10,000 events
// span two hours), and the larger one has a longer history. Every
// benchmarked window lies in the last hour, so it holds the same events in
// both stores and only the store size differs.
const benchEventSpacing = 720 * time.Millisecond

var (
	benchEventTypes = []string{"info", "notice", "warn", "error", "fatal"}
	benchSources    = []string{
		"api", "auth", "billing", "cron", "db", "gateway", "mailer", "search", "storage", "web",
	}
	benchSeed = maphash.MakeSeed()
)

// benchStore is an App whose store holds generated events.
type benchStore struct {
	name string
	app  *testapp.App
	// end is the event time just after the last event.
	end time.Time
}

// benchQuery is one request that BenchmarkMetricsQuery times, with the
// window ending at to.
type benchQuery struct {
	name string
	call func(ctx context.Context, client *oas.Client, to time.Time) error
}

var benchQueries = []benchQuery{
	{"window=60/group_by=event_type", func(ctx context.Context, client *oas.Client, to time.Time) error {
		_, err := client.GetMetrics(ctx, oas.GetMetricsParams{
			WindowSeconds: oas.NewOptInt(60), To: oas.NewOptDateTime(to),
		})
		return err
	}},
	{"window=3600/group_by=source", func(ctx context.Context, client *oas.Client, to time.Time) error {
		_, err := client.GetMetrics(ctx, oas.GetMetricsParams{
			WindowSeconds: oas.NewOptInt(3600),
			GroupBy:       oas.NewOptGroupBy(oas.GroupBySource),
			To:            oas.NewOptDateTime(to),
		})
		return err
	}},
	{"window=3600/source=db", func(ctx context.Context, client *oas.Client, to time.Time) error {
		_, err := client.GetMetrics(ctx, oas.GetMetricsParams{
			WindowSeconds: oas.NewOptInt(3600),
			Source:        oas.NewOptString("db"),
			To:            oas.NewOptDateTime(to),
		})
		return err
	}},
	{"timeseries/hour_by_minute", func(ctx context.Context, client *oas.Client, to time.Time) error {
		_, err := client.GetMetricsTimeseries(ctx, oas.GetMetricsTimeseriesParams{
			From: oas.NewOptDateTime(to.Add(-time.Hour)), To: oas.NewOptDateTime(to),
		})
		return err
	}},
}

// BenchmarkMetricsQuery measures GET /api/v1/metrics and
// /api/v1/metrics/timeseries over HTTP with 10 thousand and with 10 million
// events stored, running each query against both stores one after the
// other so that both see the same machine load. Run it with
//
//	go test ./tests/ -run '^$' -bench BenchmarkMetricsQuery -benchtime 2000x -timeout 60m
//
// Loading the 10 million events with COPY takes several minutes; -short
// loads only the small store.
func BenchmarkMetricsQuery(b *testing.B) {
	sizes := []struct {
		name   string
		events int
	}{
		{"events=10k", 10_000},
		{"events=10M", 10_000_000},
	}
	if testing.Short() {
		sizes = sizes[:1]
	}

	var stores []benchStore
	for _, size := range sizes {
		a := testapp.Start(b, testapp.Options{NoWorker: true})
		stores = append(stores, benchStore{name: size.name, app: a, end: loadBenchStore(b, a, size.events)})
	}

	for _, query := range benchQueries {
		b.Run(query.name, func(b *testing.B) {
			for _, store := range stores {
				b.Run(store.name, func(b *testing.B) {
					benchmarkQuery(b, store, query)
				})
			}
		})
	}
}

func benchmarkQuery(b *testing.B, store benchStore, query benchQuery) {
	ctx := background()
	latencies := make([]time.Duration, 0, b.N)

	b.ResetTimer()
	for i := range b.N {
		// The window ends at a pseudo-random microsecond of the last hour,
		// almost never on a bucket boundary, so both edge buckets are cut.
		to := store.end.Add(-time.Duration(benchHash(uint64(i)) % uint64(time.Hour)))
		to = to.Truncate(time.Microsecond)

		start := time.Now()
		if err := query.call(ctx, store.app.Client, to); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, time.Since(start))
	}
	b.StopTimer()

	slices.Sort(latencies)
	b.ReportMetric(percentileMillis(latencies, 0.50), "p50-ms")
	b.ReportMetric(percentileMillis(latencies, 0.99), "p99-ms")
}

func percentileMillis(sorted []time.Duration, p float64) float64 {
	index := min(int(float64(len(sorted))*p), len(sorted)-1)
	return float64(sorted[index]) / float64(time.Millisecond)
}

// loadBenchStore fills the events table with n generated events and
// metric_rollups with their counts, both with COPY, and returns the event
// time just after the last event.
func loadBenchStore(b *testing.B, a *testapp.App, n int) time.Time {
	b.Helper()

	ctx := background()
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start := end.Add(-time.Duration(n) * benchEventSpacing)
	began := time.Now()

	copied, err := a.Pool.CopyFrom(ctx, pgx.Identifier{"events"},
		[]string{"event_id", "event_type", "source", "timestamp", "received_at", "payload", "metadata"},
		&benchEvents{start: start, n: n})
	require.NoError(b, err)
	require.EqualValues(b, n, copied)

	rollups := &benchRollups{start: start, n: n}
	rollupRows, err := a.Pool.CopyFrom(ctx, pgx.Identifier{"metric_rollups"},
		[]string{"bucket_start", "event_type", "source", "count"}, rollups)
	require.NoError(b, err)

	_, err = a.Pool.Exec(ctx, "VACUUM (ANALYZE) events, metric_rollups")
	require.NoError(b, err)

	b.Logf("loaded %d events and %d rollup rows in %s", n, rollupRows, time.Since(began).Round(time.Second))

	return end
}

// benchEvent returns the i-th generated event. It depends on i alone, so
// the events and their rollups can be generated in separate passes.
func benchEvent(start time.Time, i int) (time.Time, string, string) {
	h := benchHash(uint64(i))
	offset := time.Duration(i)*benchEventSpacing + time.Duration(h%uint64(benchEventSpacing/time.Microsecond))*time.Microsecond
	eventType := benchEventTypes[(h>>32)%uint64(len(benchEventTypes))]
	source := benchSources[(h>>40)%uint64(len(benchSources))]

	return start.Add(offset), eventType, source
}

func benchHash(i uint64) uint64 {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], i)

	return maphash.Bytes(benchSeed, buf[:])
}

// benchEvents is a pgx.CopyFromSource of generated events.
type benchEvents struct {
	start time.Time
	n     int
	i     int
	row   []any
}

func (s *benchEvents) Next() bool {
	if s.i >= s.n {
		return false
	}

	timestamp, eventType, source := benchEvent(s.start, s.i)
	s.row = []any{uuid.New(), eventType, source, timestamp, timestamp, "{}", "{}"}
	s.i++

	return true
}

func (s *benchEvents) Values() ([]any, error) { return s.row, nil }

func (s *benchEvents) Err() error { return nil }

// benchRollups is a pgx.CopyFromSource of the rollup rows of the generated
// events, counted per bucket, event type and source as the projector would.
// The events come in time order, so one bucket is counted at a time.
type benchRollups struct {
	start   time.Time
	n       int
	i       int
	pending []metricrollups.Row
	row     []any
}

func (s *benchRollups) Next() bool {
	if len(s.pending) == 0 {
		s.countNextBucket()
	}
	if len(s.pending) == 0 {
		return false
	}

	r := s.pending[0]
	s.pending = s.pending[1:]
	s.row = []any{r.BucketStart, r.EventType, r.Source, r.Count}

	return true
}

// countNextBucket fills pending with the rows of the bucket of event i.
func (s *benchRollups) countNextBucket() {
	if s.i >= s.n {
		return
	}

	timestamp, _, _ := benchEvent(s.start, s.i)
	bucket := metricrollups.BucketStart(timestamp)

	var batch []events.IngestedEvent
	for ; s.i < s.n; s.i++ {
		timestamp, eventType, source := benchEvent(s.start, s.i)
		if !metricrollups.BucketStart(timestamp).Equal(bucket) {
			break
		}
		batch = append(batch, events.IngestedEvent{Timestamp: timestamp, EventType: eventType, Source: source})
	}

	s.pending = metricrollups.Aggregate(batch)
}

func (s *benchRollups) Values() ([]any, error) { return s.row, nil }

func (s *benchRollups) Err() error { return nil }
