package metricrollups_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/metricrollups"
)

func TestMain(m *testing.M) { testapp.Main(m) }

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// record returns an EventsIngested record of one event per entry of
// kinds, each "type/source" at base plus its offset in seconds.
func record(kinds map[string][]int) (events.EventsIngested, projection.Meta) {
	var ingested events.EventsIngested
	for kind, offsets := range kinds {
		eventType, source, _ := strings.Cut(kind, "/")
		for _, offset := range offsets {
			ingested.Events = append(ingested.Events, events.IngestedEvent{
				EventID: uuid.New(), EventType: eventType, Source: source,
				Timestamp: base.Add(time.Duration(offset) * time.Second),
			})
		}
	}

	return ingested, projection.Meta{RecordID: uuid.NewString()}
}

func counts(t *testing.T, ctx context.Context, tx pgx.Tx) map[string]int64 {
	t.Helper()

	rows, err := tx.Query(ctx, `SELECT extract(epoch FROM bucket_start - $1)::int, event_type, source, count
		FROM metric_rollups`, base)
	require.NoError(t, err)

	got := map[string]int64{}
	for rows.Next() {
		var offset int
		var eventType, source string
		var count int64
		require.NoError(t, rows.Scan(&offset, &eventType, &source, &count))
		got[eventType+"/"+source+"@"+time.Duration(offset*int(time.Second)).String()] = count
	}
	require.NoError(t, rows.Err())

	return got
}

func TestGatheringSumsClaimedRecords(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	pool, err := database.Open(ctx, testapp.NewDatabase(t), 2)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()

	// counted was applied on its own before, so the gathering skips it.
	counted, countedMeta := record(map[string][]int{"info/api": {1}})
	require.NoError(t, metricrollups.Projector{}.Apply(ctx, tx, counted, countedMeta))

	first, firstMeta := record(map[string][]int{"info/api": {1, 2}, "error/api": {3}})
	retried, _ := record(map[string][]int{"info/api": {4, 5, 6}})
	second, secondMeta := record(map[string][]int{"info/api": {7}, "info/db": {12}})

	gathering := metricrollups.Projector{}.Gather()
	require.NoError(t, gathering.Add(first, firstMeta))
	require.NoError(t, gathering.Add(second, secondMeta))
	require.NoError(t, gathering.Add(retried, firstMeta), "a record added again replaces its events")
	require.NoError(t, gathering.Add(counted, countedMeta))
	require.NoError(t, gathering.Flush(ctx, tx))

	require.Equal(t, map[string]int64{
		"info/api@0s": 1 + 3 + 1,
		"info/db@10s": 1,
	}, counts(t, ctx, tx))

	var claimed int
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM metric_rollups_records`).Scan(&claimed))
	require.Equal(t, 3, claimed)

	require.NoError(t, gathering.Flush(ctx, tx), "a flushed gathering is empty")
	require.NoError(t, gathering.Add(second, secondMeta))
	require.NoError(t, gathering.Flush(ctx, tx))
	require.Equal(t, int64(1), counts(t, ctx, tx)["info/db@10s"], "a record flushed before is not counted again")
}
