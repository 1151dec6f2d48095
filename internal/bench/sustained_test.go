package bench

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/testenv"
	"github.com/eventpulse/eventpulse/projections/detector"
	"github.com/eventpulse/eventpulse/projections/metricrollups"
)

func TestEventsBetweenGroupPositions(t *testing.T) {
	ctx := t.Context()
	env, err := testenv.Start(ctx, testenv.Options{Logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Close() })

	require.NoError(t, env.CreateDatabase(ctx, "positions", ""))
	pool, err := pgxpool.New(ctx, env.DatabaseURL("positions"))
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	migrator, err := database.NewMigrator(pool)
	require.NoError(t, err)
	require.NoError(t, migrator.Up(ctx, slog.New(slog.DiscardHandler)))
	require.NoError(t, migrator.Close())

	r := &runner{pool: pool}

	// Before any group has applied a record, every group is at the start.
	positions, err := r.groupPositions(ctx)
	require.NoError(t, err)
	require.Equal(t, []logPosition{{transactionID: "0"}, {transactionID: "0"}}, positions)

	// Each append is its own transaction, as the worker's are.
	appendRecord := func(name string, events int) {
		items := make([]string, events)
		for i := range items {
			items[i] = fmt.Sprintf(`{"n":%d}`, i)
		}
		_, err := pool.Exec(ctx, `
			INSERT INTO event_log (uuid, payload, metadata, transaction_id)
			VALUES (gen_random_uuid()::text, $1::json, jsonb_build_object('name', $2::text), pg_current_xact_id())`,
			`{"events":[`+strings.Join(items, ",")+`]}`, name)
		require.NoError(t, err)
	}
	applyAll := func(group string) {
		_, err := pool.Exec(ctx, `
			INSERT INTO event_log_offsets (consumer_group, offset_acked, last_processed_transaction_id)
			SELECT $1, "offset", transaction_id FROM event_log ORDER BY transaction_id DESC, "offset" DESC LIMIT 1
			ON CONFLICT (consumer_group) DO UPDATE
				SET offset_acked = excluded.offset_acked,
					last_processed_transaction_id = excluded.last_processed_transaction_id`, group)
		require.NoError(t, err)
	}

	appendRecord("EventsIngested", 7)
	applyAll(metricrollups.Name)
	applyAll(detector.Name)
	start, err := r.groupPositions(ctx)
	require.NoError(t, err)

	appendRecord("EventsIngested", 2)
	appendRecord("RuleCreated", 5)
	appendRecord("EventsIngested", 3)
	applyAll(metricrollups.Name)
	appendRecord("EventsIngested", 4)
	applyAll(detector.Name)
	appendRecord("EventsIngested", 11)

	end, err := r.groupPositions(ctx)
	require.NoError(t, err)

	rollups, err := r.eventsBetween(ctx, start[0], end[0])
	require.NoError(t, err)
	require.Equal(t, int64(2+3), rollups, "the rollups applied the records after their start position up to their end position")

	detected, err := r.eventsBetween(ctx, start[1], end[1])
	require.NoError(t, err)
	require.Equal(t, int64(2+3+4), detected, "records of other kinds are not counted")

	none, err := r.eventsBetween(ctx, end[1], end[1])
	require.NoError(t, err)
	require.Zero(t, none)
}
