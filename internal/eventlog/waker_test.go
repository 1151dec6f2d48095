package eventlog_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/eventlog"
)

// The test does not run in parallel with others. The subscriber's query
// stops at the oldest running transaction, so an open transaction of
// another test would hide the new records, and with an idle poll interval
// of an hour nothing would read them later.
func TestSubscriberWokenByHandledRecord(t *testing.T) {
	ctx, pool := openLog(t, 60*time.Second)

	waker := eventlog.NewWaker(pool.Config().ConnConfig, slog.New(slog.DiscardHandler))
	wake := waker.Channel([]string{events.RuleDeletedName})
	go waker.Run(ctx)

	// The waker wakes every subscriber once it listens.
	select {
	case <-wake:
	case <-ctx.Done():
		t.Fatal("the waker never listened")
	}

	// With an idle poll interval of an hour, a record arrives within the
	// test only through a wake.
	subscriber, err := eventlog.NewSubscriber(pool, eventlog.SubscriberConfig{
		ConsumerGroup:    "wake_test",
		Wake:             wake,
		IdlePollInterval: time.Hour,
	}, watermill.NopLogger{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = subscriber.Close() })

	messages, err := subscriber.Subscribe(ctx, eventlog.Topic)
	require.NoError(t, err)

	// The first queries find nothing and the subscriber waits for a wake.
	time.Sleep(500 * time.Millisecond)

	ingested, err := events.NewMessage(events.EventsIngested{Events: []events.IngestedEvent{{EventType: "info"}}},
		events.Envelope{RecordedAt: time.Now()})
	require.NoError(t, err)
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, ingested)
	}))

	select {
	case msg := <-messages:
		t.Fatalf("record %s delivered without a wake: EventsIngested announces nothing", msg.UUID)
	case <-time.After(time.Second):
	}

	deleted, err := events.NewMessage(events.RuleDeleted{RuleID: uuid.New(), Version: 2}, events.Envelope{RecordedAt: time.Now()})
	require.NoError(t, err)
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, deleted)
	}))

	for _, want := range []string{ingested.UUID, deleted.UUID} {
		select {
		case msg := <-messages:
			require.Equal(t, want, msg.UUID)
			msg.Ack()
		case <-ctx.Done():
			t.Fatalf("record %s not delivered after the RuleDeleted record woke the subscriber", want)
		}
	}
}
