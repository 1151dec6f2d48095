package tests

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/eventstable"
)

// TestRebuildEventsProjection runs the rebuild procedure of
// docs/operations.md while the worker is running: reset the projector's
// offset and empty its table in one transaction.
func TestRebuildEventsProjection(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := context.Background()

	for range 5 {
		batch := make([]oas.EventInput, 20)
		for i := range batch {
			batch[i] = oas.EventInput{EventType: "rebuild", Source: "operations"}
		}
		_, err := a.Client.IngestEventBatch(ctx, batch)
		require.NoError(t, err)
	}
	waitForEvents(t, a, 100)

	before := a.Count(`SELECT count(*) FROM events WHERE event_id IN (SELECT event_id FROM event_claims)`)
	require.Equal(t, 100, before)

	err := pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE event_log_offsets SET offset_acked = 0, last_processed_transaction_id = '0'
			WHERE consumer_group = $1`, eventstable.Name)
		if err != nil {
			return err
		}

		_, err = tx.Exec(ctx, `TRUNCATE events`)
		return err
	})
	require.NoError(t, err)

	testapp.WaitFor(t, 30*time.Second, "events table rebuilt", func() bool {
		return a.Count(`SELECT count(*) FROM events`) >= 100
	})
	require.Equal(t, 100, a.Count(`SELECT count(*) FROM events`))
	require.Equal(t, 100, a.Count(`SELECT count(*) FROM events WHERE event_id IN (SELECT event_id FROM event_claims)`))
	require.Equal(t, 5, a.Count(`SELECT offset_acked::int FROM event_log_offsets WHERE consumer_group = $1`,
		eventstable.Name), "offset back at the last record")
}
