package tests

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestEventsIndexesMigrationDownUp migrates below 00141 and 00140 and back
// up twice. The three time indexes of events and of anomalies keep their
// names and switch between descending and ascending definitions, and no
// other index appears.
func TestEventsIndexesMigrationDownUp(t *testing.T) {
	t.Parallel()

	ctx := background()
	pool, migrator := openMigrator(t)
	logger := slog.New(slog.DiscardHandler)

	indexes := func(table string) map[string]string {
		rows, err := pool.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1`, table)
		require.NoError(t, err)

		found := map[string]string{}
		for rows.Next() {
			var name, definition string
			require.NoError(t, rows.Scan(&name, &definition))
			_, found[name], _ = strings.Cut(definition, " USING ")
		}
		require.NoError(t, rows.Err())

		return found
	}

	ascending := map[string]string{
		"events_pkey":                 "btree (event_id)",
		"events_timestamp_idx":        `btree ("timestamp", event_id)`,
		"events_source_timestamp_idx": `btree (source, "timestamp")`,
		"events_type_timestamp_idx":   `btree (event_type, "timestamp")`,
	}
	descending := map[string]string{
		"events_pkey":                 "btree (event_id)",
		"events_timestamp_idx":        `btree ("timestamp" DESC, event_id DESC)`,
		"events_source_timestamp_idx": `btree (source, "timestamp" DESC)`,
		"events_type_timestamp_idx":   `btree (event_type, "timestamp" DESC)`,
	}

	anomaliesAscending := map[string]string{
		"anomalies_pkey":                     "btree (anomaly_id)",
		"anomalies_detected_at_idx":          "btree (detected_at, anomaly_id)",
		"anomalies_rule_detected_at_idx":     "btree (rule_id, detected_at)",
		"anomalies_severity_detected_at_idx": "btree (severity, detected_at)",
	}
	anomaliesDescending := map[string]string{
		"anomalies_pkey":                     "btree (anomaly_id)",
		"anomalies_detected_at_idx":          "btree (detected_at DESC, anomaly_id DESC)",
		"anomalies_rule_detected_at_idx":     "btree (rule_id, detected_at DESC)",
		"anomalies_severity_detected_at_idx": "btree (severity, detected_at DESC)",
	}

	require.Equal(t, ascending, indexes("events"))
	require.Equal(t, anomaliesAscending, indexes("anomalies"))

	for range 2 {
		require.NoError(t, migrator.DownTo(ctx, 140, logger))
		require.Equal(t, ascending, indexes("events"))
		require.Equal(t, anomaliesDescending, indexes("anomalies"))

		require.NoError(t, migrator.DownTo(ctx, 130, logger))
		require.Equal(t, descending, indexes("events"))

		require.NoError(t, migrator.Up(ctx, logger))
		require.Equal(t, ascending, indexes("events"))
		require.Equal(t, anomaliesAscending, indexes("anomalies"))
	}
}

// TestEventsListScansTimeIndexBackwards checks the plan of the events
// list's query: newest first from the ascending index, without a sort.
func TestEventsListScansTimeIndexBackwards(t *testing.T) {
	t.Parallel()

	ctx := background()
	pool, _ := openMigrator(t)

	_, err := pool.Exec(ctx, `
		INSERT INTO events (event_id, event_type, source, "timestamp", received_at, payload, metadata)
		SELECT gen_random_uuid(), 'type' || (i % 5), 'source' || (i % 10),
			timestamptz '2026-12-01' + i * interval '1 second', now(), '{}', '{}'
		FROM generate_series(1, 20000) AS i`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ANALYZE events`)
	require.NoError(t, err)

	rows, err := pool.Query(ctx, `EXPLAIN (COSTS OFF)
		SELECT event_id, payload FROM events ORDER BY "timestamp" DESC, event_id DESC LIMIT 20 OFFSET 40`)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	plan := strings.Join(lines, "\n")

	require.Contains(t, plan, "Index Scan Backward using events_timestamp_idx")
	require.NotContains(t, plan, "Sort")
}
