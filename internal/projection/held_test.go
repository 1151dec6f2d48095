package projection_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
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

const heldProjectorName = "projection.held_test"

// heldProjector stores the event type of each record's first event, and
// fails records whose event type is "fail".
type heldProjector struct{}

func (heldProjector) Name() string { return heldProjectorName }

func (heldProjector) Handles(name string) bool { return name == events.EventsIngestedName }

func (heldProjector) Apply(ctx context.Context, tx pgx.Tx, event events.Event, meta projection.Meta) error {
	kind := event.(events.EventsIngested).Events[0].EventType
	if kind == "fail" {
		return errors.New("the record's kind is fail")
	}

	_, err := tx.Exec(ctx, `INSERT INTO held_applied (record_id, kind) VALUES ($1, $2)`, meta.RecordID, kind)

	return err
}

// bigRecord returns an EventsIngested record with id of one event of
// eventType whose payload is larger than the records a log subscriber
// reads without their payload.
func bigRecord(t *testing.T, id, eventType string) *message.Message {
	t.Helper()

	now := time.Now().UTC()
	payload, err := json.Marshal(map[string]string{"text": strings.Repeat("x", 6000)})
	require.NoError(t, err)

	msg, err := events.NewMessage(events.EventsIngested{Events: []events.IngestedEvent{{
		EventID: uuid.New(), EventType: eventType, Source: "held", Timestamp: now, ReceivedAt: now,
		Payload: payload, Metadata: json.RawMessage(`{}`),
	}}}, events.Envelope{Actor: events.ActorAnonymous, RecordedAt: now})
	require.NoError(t, err)
	msg.UUID = id

	return msg
}

// runHeld appends records in one transaction, runs heldProjector with
// decoded until it has moved past them, and returns the applied kinds in
// log order.
func runHeld(t *testing.T, b *lockBundle, decoded *projection.Decoded, records ...*message.Message) []string {
	t.Helper()

	ctx := t.Context()
	_, err := b.pool.Exec(ctx, `CREATE TABLE held_applied (
		n BIGSERIAL PRIMARY KEY, record_id UUID NOT NULL, kind TEXT NOT NULL)`)
	require.NoError(t, err)
	require.NoError(t, pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, records...)
	}))

	runUntilCaughtUp(t, b, heldProjector{}, projection.WithDecoded(decoded))

	rows, err := b.pool.Query(ctx, `SELECT kind FROM held_applied ORDER BY n`)
	require.NoError(t, err)
	kinds, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)

	return kinds
}

func TestHeldRecordUsesTheDecodedEvent(t *testing.T) {
	b := setupLock(t)
	id := uuid.NewString()

	decoded := projection.NewDecoded(0)
	_, err := decoded.Decode(bigRecord(t, id, "decoded"))
	require.NoError(t, err)

	kinds := runHeld(t, b, decoded, bigRecord(t, uuid.NewString(), "first"), bigRecord(t, id, "stored"))
	require.Equal(t, []string{"first", "decoded"}, kinds, "the held record is applied from the decoded event")
}

func TestHeldRecordEvictedIsReadFromLog(t *testing.T) {
	b := setupLock(t)
	id := uuid.NewString()

	// The Decoded keeps one record, so decoding the first record of the
	// batch evicts the held one after the batch was read without its
	// payload.
	cached := bigRecord(t, id, "decoded")
	decoded := projection.NewDecoded(len(cached.Payload) + 100)
	_, err := decoded.Decode(cached)
	require.NoError(t, err)
	require.Equal(t, []string{id}, decoded.Held())

	kinds := runHeld(t, b, decoded, bigRecord(t, uuid.NewString(), "first"), bigRecord(t, id, "stored"))
	require.Equal(t, []string{"first", "stored"}, kinds, "the evicted record's payload is read from the log")
}

func TestHeldRecordDeadLetterKeepsPayload(t *testing.T) {
	b := setupLock(t)
	id := uuid.NewString()
	stored := bigRecord(t, id, "fail")

	decoded := projection.NewDecoded(0)
	_, err := decoded.Decode(stored)
	require.NoError(t, err)

	kinds := runHeld(t, b, decoded, bigRecord(t, uuid.NewString(), "first"), stored)
	require.Equal(t, []string{"first"}, kinds)

	var payload string
	require.NoError(t, b.pool.QueryRow(t.Context(),
		`SELECT convert_from(payload, 'UTF8') FROM dead_letters WHERE handler = $1 AND message_uuid = $2`,
		heldProjectorName, id).Scan(&payload))
	require.JSONEq(t, string(stored.Payload), payload, "the dead letter holds the stored payload")
}

// runUntilCaughtUp runs projector on a router of its own until its offset
// reaches the last record in the log. The router stops when the test ends.
func runUntilCaughtUp(t *testing.T, b *lockBundle, projector projection.Projector, options ...projection.Option) {
	t.Helper()

	ctx := t.Context()
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 5 * time.Second}, watermill.NopLogger{})
	require.NoError(t, err)
	logger := slog.New(slog.NewJSONHandler(b.logs, nil))
	require.NoError(t, projection.Register(router, b.pool, projector, logger, watermill.NopLogger{}, options...))

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
			projector.Name(), lastOffset) == 1
	})
}
