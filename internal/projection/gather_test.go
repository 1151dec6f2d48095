package projection_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/projection"
)

const gatherProjectorName = "projection.gather_test"

// gatherProjector writes one row per record, for a whole batch when it
// ends. A record whose event type is "bad" cannot be written: the Flush of
// a batch holding it fails after writing the others, and so does its Apply.
type gatherProjector struct {
	flushes *atomic.Int64
}

func (gatherProjector) Name() string { return gatherProjectorName }

func (gatherProjector) Handles(name string) bool { return name == events.EventsIngestedName }

func (gatherProjector) Apply(ctx context.Context, tx pgx.Tx, event events.Event, meta projection.Meta) error {
	if event.(events.EventsIngested).Events[0].EventType == "bad" {
		return errors.New("the record is bad")
	}

	_, err := tx.Exec(ctx, `INSERT INTO gathered (record_id, how) VALUES ($1, 'applied')`, meta.RecordID)

	return err
}

func (p gatherProjector) Gather() projection.Gathering {
	return &gatherRows{projector: p}
}

type gatherRows struct {
	projector gatherProjector
	ids       []string
	bad       bool
}

func (g *gatherRows) Add(event events.Event, meta projection.Meta) error {
	if event.(events.EventsIngested).Events[0].EventType == "bad" {
		g.bad = true
		return nil
	}

	g.ids = append(g.ids, meta.RecordID)

	return nil
}

func (g *gatherRows) Flush(ctx context.Context, tx pgx.Tx) error {
	g.projector.flushes.Add(1)
	_, err := tx.Exec(ctx, `INSERT INTO gathered (record_id, how) SELECT unnest($1::uuid[]), 'gathered'`, g.ids)
	if err != nil {
		return err
	}

	if g.bad {
		return errors.New("the batch holds a bad record")
	}
	g.ids = nil

	return nil
}

// runGather appends one record per entry of kinds in one transaction and
// runs gatherProjector until it has moved past them.
func runGather(t *testing.T, b *lockBundle, projector gatherProjector, kinds ...string) {
	t.Helper()

	ctx := t.Context()
	_, err := b.pool.Exec(ctx, `CREATE TABLE gathered (record_id UUID PRIMARY KEY, how TEXT NOT NULL)`)
	require.NoError(t, err)

	msgs := make([]*message.Message, 0, len(kinds))
	for _, kind := range kinds {
		msgs = append(msgs, bigRecord(t, uuid.NewString(), kind))
	}
	require.NoError(t, pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, msgs...)
	}))

	runUntilCaughtUp(t, b, projector)
}

func TestGathererWritesBatchOnce(t *testing.T) {
	b := setupLock(t)
	projector := gatherProjector{flushes: &atomic.Int64{}}

	runGather(t, b, projector, "good", "good", "good")

	require.Equal(t, int64(1), projector.flushes.Load())
	require.Equal(t, 3, b.count(t, `SELECT count(*) FROM gathered WHERE how = 'gathered'`))
	require.Zero(t, b.count(t, `SELECT count(*) FROM gathered WHERE how = 'applied'`))
}

func TestGathererFailedFlushAppliesRecordsAlone(t *testing.T) {
	b := setupLock(t)
	projector := gatherProjector{flushes: &atomic.Int64{}}

	runGather(t, b, projector, "good", "good", "bad", "good", "good")

	require.Equal(t, int64(1), projector.flushes.Load(), "the batch read again is not gathered")
	require.Zero(t, b.count(t, `SELECT count(*) FROM gathered WHERE how = 'gathered'`),
		"the failed flush's rows rolled back with its batch")
	require.Equal(t, 4, b.count(t, `SELECT count(*) FROM gathered WHERE how = 'applied'`),
		"the good records are applied one at a time")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM dead_letters WHERE handler = $1`, gatherProjectorName),
		"the bad record is a dead letter")
}
