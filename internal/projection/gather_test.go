package projection_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

const gatherProjectorName = "projection.gather_test"

// gatherProjector writes one row per record when a batch ends. Its first
// failFlushes flushes fail after writing.
type gatherProjector struct {
	failFlushes *atomic.Int64
	flushes     *atomic.Int64
}

func (gatherProjector) Name() string { return gatherProjectorName }

func (gatherProjector) Handles(name string) bool { return name == events.EventsIngestedName }

func (gatherProjector) Apply(context.Context, pgx.Tx, events.Event, projection.Meta) error {
	return errors.New("records are gathered, not applied one by one")
}

func (p gatherProjector) Gather() projection.Gathering {
	return &gatherRows{projector: p}
}

type gatherRows struct {
	projector gatherProjector
	ids       []string
}

func (g *gatherRows) Add(_ events.Event, meta projection.Meta) error {
	g.ids = append(g.ids, meta.RecordID)
	return nil
}

func (g *gatherRows) Flush(ctx context.Context, tx pgx.Tx) error {
	g.projector.flushes.Add(1)
	if _, err := tx.Exec(ctx, `INSERT INTO gathered (record_id) SELECT unnest($1::uuid[])`, g.ids); err != nil {
		return err
	}
	g.ids = nil

	if g.projector.failFlushes.Add(-1) >= 0 {
		return errors.New("flush fails after writing")
	}

	return nil
}

func TestGathererFailedFlushRollsBackBatch(t *testing.T) {
	ctx := t.Context()
	b := setupLock(t)
	_, err := b.pool.Exec(ctx, `CREATE TABLE gathered (record_id UUID PRIMARY KEY)`)
	require.NoError(t, err)

	msgs := make([]*message.Message, 0, 5)
	for range cap(msgs) {
		msg := bigRecord(t, uuid.NewString(), "gathered")
		msgs = append(msgs, msg)
	}
	require.NoError(t, pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, msgs...)
	}))

	projector := gatherProjector{failFlushes: &atomic.Int64{}, flushes: &atomic.Int64{}}
	projector.failFlushes.Store(1)

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 5 * time.Second}, watermill.NopLogger{})
	require.NoError(t, err)
	logger := slog.New(slog.NewJSONHandler(b.logs, nil))
	require.NoError(t, projection.Register(router, b.pool, projector, logger, watermill.NopLogger{}))

	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- router.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	var lastOffset int64
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT max("offset") FROM event_log`).Scan(&lastOffset))
	testapp.WaitFor(t, 20*time.Second, "the batch committed", func() bool {
		return b.count(t, `SELECT count(*) FROM event_log_offsets WHERE consumer_group = $1 AND offset_acked = $2`,
			gatherProjectorName, lastOffset) == 1
	})

	require.Equal(t, int64(2), projector.flushes.Load(), "the batch was flushed again after the failed flush")
	require.Equal(t, len(msgs), b.count(t, `SELECT count(*) FROM gathered`),
		"each record written once: the failed flush's rows rolled back with the batch")
	require.Zero(t, b.count(t, `SELECT count(*) FROM dead_letters`), "a failed flush makes no dead letter")
}
