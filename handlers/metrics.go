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
	"github.com/eventpulse/eventpulse/projections/metricrollups"
)

// Window bounds of GET /api/v1/metrics, in seconds.
const (
	windowSecondsDefault = 60
	windowSecondsMin     = 10
	windowSecondsMax     = 3600
)

// GetMetrics implements oas.Handler. It counts the events with an event time
// in (to - window_seconds, to], keyed by group_by.
//
// The window is split at the 10-second bucket boundaries inside it. Whole
// buckets come from metric_rollups, at most 360 rows per event type and
// source pair. The window edges cut two buckets: the left piece runs from
// the window start to the first boundary after it, the right piece from the
// last boundary to `to`. Both pieces are counted from the events table
// through its timestamp indexes, so each reads at most one bucket's events.
// The cost therefore follows the window length and the event rate at the
// edges, not the number of events stored.
//
// NOTE: the events and metric_rollups projectors advance separately, so
// while one lags the other a count can briefly mix an older state of the
// edges with a newer one of the interior, or the reverse.
func (a *API) GetMetrics(ctx context.Context, params oas.GetMetricsParams) (*oas.Metrics, error) {
	windowSeconds := params.WindowSeconds.Or(windowSecondsDefault)
	if windowSeconds < windowSecondsMin || windowSeconds > windowSecondsMax {
		return nil, Errorf(http.StatusBadRequest, "window_seconds must be between %d and %d",
			windowSecondsMin, windowSecondsMax)
	}

	if err := checkTimestampRange("to", params.To); err != nil {
		return nil, err
	}

	groupBy := params.GroupBy.Or(oas.GroupByEventType)
	to := params.To.Or(time.Now()).UTC().Truncate(time.Microsecond)
	from := to.Add(-time.Duration(windowSeconds) * time.Second)

	counts, err := a.windowCounts(ctx, countFilter{
		groupBy:   groupBy,
		eventType: params.EventType,
		source:    params.Source,
	}, from, to)
	if err != nil {
		return nil, err
	}

	metrics := make([]oas.Metric, 0, len(counts))
	for key, count := range counts {
		metrics = append(metrics, oas.Metric{
			Key:        key,
			Count:      count,
			RatePerSec: float64(count) / float64(windowSeconds),
		})
	}

	slices.SortFunc(metrics, func(x, y oas.Metric) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Key, y.Key))
	})

	return &oas.Metrics{
		WindowSeconds: windowSeconds,
		GroupBy:       groupBy,
		From:          from,
		To:            to,
		Metrics:       metrics,
	}, nil
}

// countFilter selects and keys the events that the metrics endpoints count.
type countFilter struct {
	groupBy   oas.GroupBy
	eventType oas.OptString
	source    oas.OptString
}

// keyColumn returns the column that groupBy names.
func (f countFilter) keyColumn() (string, error) {
	switch f.groupBy {
	case oas.GroupByEventType:
		return "event_type", nil
	case oas.GroupBySource:
		return "source", nil
	default:
		return "", Errorf(http.StatusBadRequest, "group_by must be one of: event_type, source")
	}
}

// sqlConditions returns the filter as " AND ..." SQL conditions whose
// parameters are numbered from offset+1, and the values of those parameters.
func (f countFilter) sqlConditions(offset int) (string, []any) {
	var clause strings.Builder
	var args []any

	if v, ok := filterValue(f.eventType); ok {
		args = append(args, v)
		fmt.Fprintf(&clause, " AND event_type = $%d", offset+len(args))
	}
	if v, ok := filterValue(f.source); ok {
		args = append(args, v)
		fmt.Fprintf(&clause, " AND source = $%d", offset+len(args))
	}

	return clause.String(), args
}

// windowCounts returns the number of events per key with an event time in
// (from, to]; see GetMetrics for how the window is split.
func (a *API) windowCounts(ctx context.Context, filter countFilter, from, to time.Time) (map[string]int64, error) {
	column, err := filter.keyColumn()
	if err != nil {
		return nil, err
	}

	// firstBoundary is the first bucket boundary after from, lastBoundary the
	// last one at or before to. Because the window is at least one bucket
	// long, firstBoundary <= lastBoundary.
	firstBoundary := metricrollups.BucketStart(from).Add(metricrollups.BucketWidth)
	lastBoundary := metricrollups.BucketStart(to)

	conditions, filterArgs := filter.sqlConditions(4)
	args := append([]any{from, firstBoundary, lastBoundary, to}, filterArgs...)

	query := `
		SELECT key, sum(n)::bigint FROM (
			SELECT ` + column + ` AS key, sum(count) AS n FROM metric_rollups
			WHERE bucket_start >= $2 AND bucket_start < $3` + conditions + `
			GROUP BY 1
			UNION ALL
			SELECT ` + column + `, count(*) FROM events
			WHERE "timestamp" > $1 AND "timestamp" < $2` + conditions + `
			GROUP BY 1
			UNION ALL
			SELECT ` + column + `, count(*) FROM events
			WHERE "timestamp" >= $3 AND "timestamp" <= $4` + conditions + `
			GROUP BY 1
		) AS parts
		GROUP BY key`

	rows, err := a.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("error counting events in (%s, %s]: %w", from, to, err)
	}

	counts := make(map[string]int64)
	var key string
	var n int64

	_, err = pgx.ForEachRow(rows, []any{&key, &n}, func() error {
		counts[key] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error counting events in (%s, %s]: %w", from, to, err)
	}

	return counts, nil
}

// filterValue returns the value of an equality filter from the query. An
// empty value counts as absent, because no event_type, source or channel
// is empty, so filtering on one would match nothing.
func filterValue(param oas.OptString) (string, bool) {
	value, ok := param.Get()

	return value, ok && value != ""
}
