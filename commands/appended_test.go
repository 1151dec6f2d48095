package commands_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestMain(m *testing.M) { testapp.Main(m) }

// appendedRecord is one call of IngestEventsHandler.Appended.
type appendedRecord struct {
	record *message.Message
	event  events.EventsIngested
}

// TestAppendedMatchesStoredRecord handles a command of new events, then the
// same command with one more event. Each call of Appended carries the
// record's stored payload and an event equal to what decoding the stored
// record gives, and a command with nothing new calls it not at all.
func TestAppendedMatchesStoredRecord(t *testing.T) {
	t.Parallel()

	ctx := context.Background()
	pool, err := database.Open(ctx, testapp.NewDatabase(t), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	var calls []appendedRecord
	handler := commands.NewIngestEventsHandler(pool, slog.New(slog.DiscardHandler))
	handler.Appended = func(record *message.Message, event events.EventsIngested) {
		calls = append(calls, appendedRecord{record: record, event: event})
	}

	received := time.Date(2026, 12, 5, 6, 30, 0, 123456789, time.UTC)
	newEvent := func(n int, payload string) events.IngestedEvent {
		return events.IngestedEvent{
			EventID:       uuid.Must(uuid.NewV7()),
			EventType:     "disk_full",
			Source:        "host-" + string(rune('a'+n)),
			Timestamp:     received.Add(-time.Duration(n) * time.Second),
			ReceivedAt:    received,
			Payload:       json.RawMessage(payload),
			Metadata:      json.RawMessage(`{"region":"eu"}`),
			CorrelationID: "request-1",
		}
	}
	first := []events.IngestedEvent{
		newEvent(0, `{"used":0.97,"mount":"/var"}`),
		newEvent(1, `{"note":"caf\u00e9 \ud83d\ude00","list":[1,null,true]}`),
	}

	requireStored := func(call appendedRecord, want []events.IngestedEvent) {
		t.Helper()

		var payload []byte
		require.NoError(t, pool.QueryRow(ctx, `SELECT payload::text FROM event_log WHERE uuid = $1`, call.record.UUID).
			Scan(&payload))
		require.Equal(t, string(call.record.Payload), string(payload))

		stored := message.NewMessage(call.record.UUID, payload)
		stored.Metadata = call.record.Metadata
		decoded, err := events.Decode(stored)
		require.NoError(t, err)
		require.Equal(t, decoded, events.Event(call.event))
		require.Len(t, call.event.Events, len(want))
		for i := range want {
			require.Equal(t, want[i].EventID, call.event.Events[i].EventID)
		}
	}

	cmd := &commands.IngestEvents{CommandID: "command-1", CorrelationID: "request-1", Actor: "test", Events: first}
	require.NoError(t, handler.Handle(ctx, cmd))
	require.Len(t, calls, 1)
	requireStored(calls[0], first)

	second := append(append([]events.IngestedEvent{}, first...), newEvent(2, `{"used":0.5}`))
	cmd = &commands.IngestEvents{CommandID: "command-2", CorrelationID: "request-1", Actor: "test", Events: second}
	require.NoError(t, handler.Handle(ctx, cmd))
	require.Len(t, calls, 2)
	requireStored(calls[1], second[2:])

	require.NoError(t, handler.Handle(ctx, cmd))
	require.Len(t, calls, 2, "a command with nothing new appends no record")
}
