package eventlog_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestMain(m *testing.M) {
	testapp.Main(m)
}

func TestCheckPositionsCurrentLog(t *testing.T) {
	t.Parallel()

	ctx := context.Background()
	pool, err := database.Open(ctx, testapp.NewDatabase(t), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	require.NoError(t, eventlog.CheckPositions(ctx, pool), "empty log")

	_, err = pool.Exec(ctx, `INSERT INTO event_log (uuid, payload, metadata, transaction_id)
		VALUES (gen_random_uuid(), '{}', '{}', pg_current_xact_id())`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO event_log_offsets VALUES ('projection.test', 1, pg_current_xact_id())`)
	require.NoError(t, err)

	require.NoError(t, eventlog.CheckPositions(ctx, pool), "positions written by this cluster")
}

func TestCheckPositionsRestoredFromAhead(t *testing.T) {
	t.Parallel()

	ctx := context.Background()
	pool, err := database.Open(ctx, testapp.NewDatabase(t), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	// 2^40 is epoch 256 of the transaction counter, far beyond a test
	// cluster, like a log copied from a busier cluster.
	_, err = pool.Exec(ctx, `INSERT INTO event_log (uuid, payload, metadata, transaction_id)
		VALUES (gen_random_uuid(), '{}', '{}', '1099511627776')`)
	require.NoError(t, err)

	err = eventlog.CheckPositions(ctx, pool)
	require.ErrorIs(t, err, eventlog.ErrLogAhead)
	require.ErrorContains(t, err, "transaction id 1099511627776")
	require.ErrorContains(t, err, "pg_resetwal -e")

	_, err = pool.Exec(ctx, `DELETE FROM event_log`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO event_log_offsets VALUES ('projection.test', 1, '1099511627776')`)
	require.NoError(t, err)

	require.ErrorIs(t, eventlog.CheckPositions(ctx, pool), eventlog.ErrLogAhead, "offset ahead")
}
