package projection_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/projection"
)

const mixedProjectorName = "projection.mixed_test"

// mixedProjector does what the event type of a record's first event names:
// write a row, write one and fail, send no statement, fail without one,
// read before writing, or write in a nested transaction and then again.
type mixedProjector struct{}

func (mixedProjector) Name() string { return mixedProjectorName }

func (mixedProjector) Handles(name string) bool { return name == events.EventsIngestedName }

func (mixedProjector) Apply(ctx context.Context, tx pgx.Tx, event events.Event, meta projection.Meta) error {
	kind := event.(events.EventsIngested).Events[0].EventType
	insert := func(q interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	}, tag string) error {
		_, err := q.Exec(ctx, `INSERT INTO mixed_applied (record_id, kind) VALUES ($1, $2)`, meta.RecordID, tag)
		return err
	}

	switch kind {
	case "write":
		return insert(tx, kind)
	case "write_fail":
		if err := insert(tx, kind); err != nil {
			return err
		}

		return errors.New("write_fail fails after writing")
	case "silent":
		return nil
	case "silent_fail":
		return errors.New("silent_fail fails without writing")
	case "query":
		var selected int
		if err := tx.QueryRow(ctx, `SELECT 1`).Scan(&selected); err != nil {
			return err
		}

		return insert(tx, kind)
	case "nested":
		err := pgx.BeginFunc(ctx, tx, func(nested pgx.Tx) error { return insert(nested, "nested_inner") })
		if err != nil {
			return err
		}

		return insert(tx, kind)
	}

	return errors.New("unknown kind " + kind)
}

func TestRecordsOfOneBatchRollBackAlone(t *testing.T) {
	ctx := t.Context()
	b := setupLock(t)
	_, err := b.pool.Exec(ctx, `CREATE TABLE mixed_applied (record_id UUID NOT NULL, kind TEXT NOT NULL)`)
	require.NoError(t, err)

	kinds := []string{"write", "silent", "write_fail", "silent_fail", "query", "write", "nested", "silent", "write"}
	msgs := make([]*message.Message, 0, len(kinds))
	for _, kind := range kinds {
		now := time.Now().UTC()
		msg, err := events.NewMessage(events.EventsIngested{Events: []events.IngestedEvent{{
			EventID: uuid.New(), EventType: kind, Source: "mixed", Timestamp: now, ReceivedAt: now,
			Payload: json.RawMessage(`{}`), Metadata: json.RawMessage(`{}`),
		}}}, events.Envelope{Actor: events.ActorAnonymous, RecordedAt: now})
		require.NoError(t, err)
		msgs = append(msgs, msg)
	}
	// One transaction, so the subscriber reads every record in one batch.
	require.NoError(t, pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, msgs...)
	}))

	runUntilCaughtUp(t, b, mixedProjector{})

	rows, err := b.pool.Query(ctx, `SELECT kind FROM mixed_applied ORDER BY kind`)
	require.NoError(t, err)
	applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"nested", "nested_inner", "query", "write", "write", "write"}, applied,
		"the rows of failed records are rolled back, and only theirs")

	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM dead_letters WHERE handler = $1`, mixedProjectorName),
		"both failed records are dead letters")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM dead_letters WHERE handler = $1 AND reason LIKE 'write_fail%'`,
		mixedProjectorName))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM projection_status WHERE consumer_group = $1`,
		mixedProjectorName), "the batch recorded the projector's progress")
}
