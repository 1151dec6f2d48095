package eventlog_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// openLog returns a context that ends after timeout and a pool to a new
// database, both released when the test ends.
func openLog(t *testing.T, timeout time.Duration) (context.Context, *pgxpool.Pool) {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)

	pool, err := database.Open(ctx, testapp.NewDatabase(t), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	return ctx, pool
}

func TestSubscriberOmitsPayloads(t *testing.T) {
	t.Parallel()

	ctx, pool := openLog(t, 30*time.Second)

	ingested, err := events.NewMessage(events.EventsIngested{Events: []events.IngestedEvent{{EventType: "info"}}},
		events.Envelope{RecordedAt: time.Now()})
	require.NoError(t, err)
	deleted, err := events.NewMessage(events.RuleDeleted{RuleID: uuid.New(), Version: 2}, events.Envelope{RecordedAt: time.Now()})
	require.NoError(t, err)

	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, ingested, deleted)
	}))

	subscriber, err := eventlog.NewSubscriber(pool, eventlog.SubscriberConfig{
		ConsumerGroup: "omit_test",
		OmitPayloadOf: []string{events.EventsIngestedName, "quote'd"},
	}, watermill.NopLogger{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = subscriber.Close() })

	messages, err := subscriber.Subscribe(ctx, eventlog.Topic)
	require.NoError(t, err)

	first := <-messages
	require.NotNil(t, first, "first record delivered")
	require.Equal(t, ingested.UUID, first.UUID)
	require.Empty(t, first.Payload, "payload of an omitted event")
	require.Equal(t, events.EventsIngestedName, first.Metadata.Get(events.MetaName), "metadata kept")
	first.Ack()

	second := <-messages
	require.NotNil(t, second, "second record delivered")
	require.Equal(t, deleted.UUID, second.UUID)
	require.JSONEq(t, string(deleted.Payload), string(second.Payload), "payload of another event")
	second.Ack()
}

func TestSubscriberCutsBatchAtBytes(t *testing.T) {
	t.Parallel()

	ctx, pool := openLog(t, 30*time.Second)

	// Random hex barely compresses, so each record stores more than half
	// of SubscribeBatchBytes: two fit in a batch, a third does not.
	var records []*message.Message
	for range 3 {
		blob := make([]byte, eventlog.SubscribeBatchBytes*6/10/2)
		_, err := rand.Read(blob)
		require.NoError(t, err)

		msg := message.NewMessage(uuid.NewString(), fmt.Appendf(nil, `{"blob": "%x"}`, blob))
		msg.Metadata.Set(events.MetaName, "Blob")
		records = append(records, msg)
	}
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, records...)
	}))

	subscriber, err := eventlog.NewSubscriber(pool, eventlog.SubscriberConfig{ConsumerGroup: "bytes_test"},
		watermill.NopLogger{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = subscriber.Close() })

	messages, err := subscriber.Subscribe(ctx, eventlog.Topic)
	require.NoError(t, err)

	acked := func() int {
		var offset int
		err := pool.QueryRow(ctx, `SELECT coalesce(max(offset_acked), 0)::int FROM event_log_offsets
			WHERE consumer_group = 'bytes_test'`).Scan(&offset)
		require.NoError(t, err)

		return offset
	}

	for i, want := range records {
		msg := <-messages
		require.NotNil(t, msg, "record %d delivered", i)
		require.Equal(t, want.UUID, msg.UUID)

		if i == 2 {
			require.Equal(t, 2, acked(), "the first batch, of two records, committed before the third is read")
		}
		msg.Ack()
	}
}

func TestSubscriberOmitsHeldPayloads(t *testing.T) {
	t.Parallel()

	ctx, pool := openLog(t, 30*time.Second)

	var records []*message.Message
	for i := range 3 {
		msg := message.NewMessage(uuid.NewString(), fmt.Appendf(nil, `{"n": %d}`, i))
		msg.Metadata.Set(events.MetaName, "Numbered")
		records = append(records, msg)
	}
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, records...)
	}))

	subscriber, err := eventlog.NewSubscriber(pool, eventlog.SubscriberConfig{
		ConsumerGroup: "held_test",
		HeldRecords:   func() []string { return []string{records[1].UUID, uuid.NewString()} },
	}, watermill.NopLogger{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = subscriber.Close() })

	messages, err := subscriber.Subscribe(ctx, eventlog.Topic)
	require.NoError(t, err)

	for i, want := range records {
		msg := <-messages
		require.NotNil(t, msg, "record %d delivered", i)
		require.Equal(t, want.UUID, msg.UUID)

		if i != 1 {
			require.JSONEq(t, string(want.Payload), string(msg.Payload), "payload of record %d", i)
			require.Empty(t, msg.Metadata.Get(eventlog.MetaPayloadOmitted))
			msg.Ack()

			continue
		}

		require.Empty(t, msg.Payload, "payload of the held record")
		require.Equal(t, "true", msg.Metadata.Get(eventlog.MetaPayloadOmitted))

		tx, err := eventlog.TxFromContext(msg.Context())
		require.NoError(t, err)
		payload, err := eventlog.ReadPayload(msg.Context(), tx, msg)
		require.NoError(t, err)
		require.JSONEq(t, `{"n": 1}`, string(payload), "the held record's payload read from the log")
		msg.Ack()
	}
}

func TestSubscriberReadsBatchWithoutScanningBacklog(t *testing.T) {
	t.Parallel()

	ctx, pool := openLog(t, 60*time.Second)

	const backlog = 5000
	_, err := pool.Exec(ctx, `INSERT INTO event_log (uuid, payload, metadata, transaction_id)
		SELECT gen_random_uuid()::text, '{}', '{"name": "Numbered"}', pg_current_xact_id()
		FROM generate_series(1, $1)`, backlog)
	require.NoError(t, err)

	indexReads := func() (scans, tuples int64) {
		err := pool.QueryRow(ctx, `SELECT idx_scan, idx_tup_read FROM pg_stat_user_indexes
			WHERE indexrelname = 'event_log_pkey'`).Scan(&scans, &tuples)
		require.NoError(t, err)

		return scans, tuples
	}
	scansBefore, tuplesBefore := indexReads()

	// The subscriber has a pool of its own, closed after the first batch:
	// a backend reports its statistics when it exits.
	subscriberPool, err := database.Open(ctx, pool.Config().ConnString(), 2)
	require.NoError(t, err)
	subscriber, err := eventlog.NewSubscriber(subscriberPool, eventlog.SubscriberConfig{ConsumerGroup: "backlog_test"},
		watermill.NopLogger{})
	require.NoError(t, err)

	messages, err := subscriber.Subscribe(ctx, eventlog.Topic)
	require.NoError(t, err)

	for range eventlog.SubscribeBatchSizeDefault {
		msg := <-messages
		require.NotNil(t, msg)
		msg.Ack()
	}
	require.NoError(t, subscriber.Close())
	subscriberPool.Close()

	testapp.WaitFor(t, 30*time.Second, "the statistics of the batch query", func() bool {
		scans, _ := indexReads()
		return scans > scansBefore
	})

	_, tuples := indexReads()
	require.Less(t, tuples-tuplesBefore, int64(backlog/5),
		"a batch of %d reads about that many index entries, not the %d records behind it",
		eventlog.SubscribeBatchSizeDefault, backlog)
}

func TestSubscriberSkipsOmittedRecords(t *testing.T) {
	t.Parallel()

	ctx, pool := openLog(t, 30*time.Second)

	var records []*message.Message
	for _, name := range []string{"Skipped", "Skipped", "Handled", "Skipped", "Skipped"} {
		msg := message.NewMessage(uuid.NewString(), []byte(`{}`))
		msg.Metadata.Set(events.MetaName, name)
		records = append(records, msg)
	}
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, records...)
	}))

	subscriber, err := eventlog.NewSubscriber(pool, eventlog.SubscriberConfig{
		ConsumerGroup: "skip_test",
		BatchSize:     3,
		OmitPayloadOf: []string{"Skipped"},
		SkipOmitted:   true,
	}, watermill.NopLogger{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = subscriber.Close() })

	messages, err := subscriber.Subscribe(ctx, eventlog.Topic)
	require.NoError(t, err)

	// The first batch holds records 0 to 2 and ends with the handled one.
	// The second holds records 3 and 4, and only its last is delivered.
	for _, want := range []int{2, 4} {
		msg := <-messages
		require.NotNil(t, msg, "record %d delivered", want)
		require.Equal(t, records[want].UUID, msg.UUID, "record %d", want)
		msg.Ack()
	}

	var lastOffset int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT "offset" FROM event_log WHERE uuid = $1`, records[4].UUID).Scan(&lastOffset))
	require.Eventually(t, func() bool {
		var acked int64
		err := pool.QueryRow(ctx, `SELECT offset_acked FROM event_log_offsets WHERE consumer_group = 'skip_test'`).Scan(&acked)
		return err == nil && acked == lastOffset
	}, 10*time.Second, 20*time.Millisecond, "the offset moves past every record")

	select {
	case msg := <-messages:
		t.Fatalf("record %s delivered after the last one", msg.UUID)
	case <-time.After(300 * time.Millisecond):
	}
}
