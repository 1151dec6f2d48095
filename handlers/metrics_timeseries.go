package handlers

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/internal/oas"
)

// Bucket bounds of GET /api/v1/metrics/timeseries.
const (
	bucketSecondsDefault = 60
	bucketSecondsMin     = 10
	bucketSecondsMax     = 86400
	// bucketSecondsStep is the rollup bucket width: a series bucket is a
	// whole number of rollup buckets.
	bucketSecondsStep      = 10
	timeseriesRangeDefault = time.Hour
	timeseriesBuckets      = 1000
)

// GetMetricsTimeseries implements oas.Handler. It counts events per series
// bucket and key from metric_rollups alone. Series buckets start at
// multiples of bucket_seconds since the Unix epoch and hold whole 10-second
// rollup buckets, so no edge needs the events table.
//
// NOTE: the cost follows the number of rollup rows in the range, which is
// up to 8,640 per day of range per event type and source pair. A range of
// months at large bucket_seconds reads millions of rows; coarser rollups
// would bound that.
func (a *API) GetMetricsTimeseries(
	ctx context.Context,
	params oas.GetMetricsTimeseriesParams,
) (*oas.Timeseries, error) {
	bucketSeconds := params.BucketSeconds.Or(bucketSecondsDefault)
	if bucketSeconds < bucketSecondsMin || bucketSeconds > bucketSecondsMax || bucketSeconds%bucketSecondsStep != 0 {
		return nil, Errorf(http.StatusBadRequest, "bucket_seconds must be a multiple of %d between %d and %d",
			bucketSecondsStep, bucketSecondsMin, bucketSecondsMax)
	}

	if err := checkTimestampRange("from", params.From); err != nil {
		return nil, err
	}
	if err := checkTimestampRange("to", params.To); err != nil {
		return nil, err
	}

	to := params.To.Or(time.Now()).UTC()
	from := params.From.Or(to.Add(-timeseriesRangeDefault)).UTC()
	if !from.Before(to) {
		return nil, Errorf(http.StatusBadRequest, "from must be before to")
	}

	first := floorSeconds(from, int64(bucketSeconds))
	end := ceilSeconds(to, int64(bucketSeconds))
	width := time.Duration(bucketSeconds) * time.Second

	// Unix seconds rather than end.Sub, which saturates beyond 292 years.
	buckets := int((end.Unix() - first.Unix()) / int64(bucketSeconds))
	if buckets > timeseriesBuckets {
		return nil, Errorf(http.StatusBadRequest,
			"from and to span %d buckets of bucket_seconds=%d, at most %d are allowed: raise bucket_seconds or narrow the range",
			buckets, bucketSeconds, timeseriesBuckets)
	}

	filter := countFilter{groupBy: params.GroupBy.Or(oas.GroupByEventType), eventType: params.EventType, source: params.Source}
	series, err := a.seriesCounts(ctx, filter, first, end, bucketSeconds)
	if err != nil {
		return nil, err
	}

	starts := make([]time.Time, buckets)
	for i := range starts {
		starts[i] = first.Add(time.Duration(i) * width)
	}

	return &oas.Timeseries{
		From:          first,
		To:            end,
		BucketSeconds: bucketSeconds,
		GroupBy:       filter.groupBy,
		Buckets:       starts,
		Series:        series,
	}, nil
}

// seriesCounts returns one series per key with events in [first, end), each
// with a zero-filled count per bucket of bucketSeconds, sorted by total.
func (a *API) seriesCounts(
	ctx context.Context,
	filter countFilter,
	first, end time.Time,
	bucketSeconds int,
) ([]oas.Series, error) {
	column, err := filter.keyColumn()
	if err != nil {
		return nil, err
	}

	conditions, filterArgs := filter.sqlConditions(3)
	args := append([]any{first, end, bucketSeconds}, filterArgs...)

	// Both bucket_start and first are multiples of 10 seconds, and
	// bucketSeconds is too, so the division below is exact before floor.
	query := `
		SELECT ` + column + `,
			floor(extract(epoch FROM bucket_start - $1::timestamptz) / $3)::int AS bucket,
			sum(count)::bigint
		FROM metric_rollups
		WHERE bucket_start >= $1 AND bucket_start < $2` + conditions + `
		GROUP BY 1, 2`

	rows, err := a.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("error counting events in [%s, %s): %w", first, end, err)
	}

	buckets := int((end.Unix() - first.Unix()) / int64(bucketSeconds))
	byKey := make(map[string]*oas.Series)

	var key string
	var bucket int
	var n int64

	_, err = pgx.ForEachRow(rows, []any{&key, &bucket, &n}, func() error {
		series, ok := byKey[key]
		if !ok {
			series = &oas.Series{Key: key, Counts: make([]int64, buckets)}
			byKey[key] = series
		}

		series.Counts[bucket] += n
		series.Total += n

		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error counting events in [%s, %s): %w", first, end, err)
	}

	list := make([]oas.Series, 0, len(byKey))
	for _, series := range byKey {
		list = append(list, *series)
	}

	slices.SortFunc(list, func(x, y oas.Series) int {
		return cmp.Or(cmp.Compare(y.Total, x.Total), strings.Compare(x.Key, y.Key))
	})

	return list, nil
}

// floorSeconds returns the latest multiple of step seconds since the Unix
// epoch at or before t.
func floorSeconds(t time.Time, step int64) time.Time {
	seconds := t.Unix()
	floored := seconds - ((seconds%step)+step)%step

	return time.Unix(floored, 0).UTC()
}

// ceilSeconds returns the earliest multiple of step seconds since the Unix
// epoch at or after t.
func ceilSeconds(t time.Time, step int64) time.Time {
	floored := floorSeconds(t, step)
	if floored.Equal(t) {
		return floored
	}

	return floored.Add(time.Duration(step) * time.Second)
}
