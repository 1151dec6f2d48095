package eventlog_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestSubscriberOmitsPayloads(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	pool, err := database.Open(ctx, testapp.NewDatabase(t), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

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
