package projection

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
)

func ingestedRecord(t *testing.T, eventType string) *message.Message {
	t.Helper()

	now := time.Now().UTC()
	msg, err := events.NewMessage(events.EventsIngested{Events: []events.IngestedEvent{{
		EventID: uuid.New(), EventType: eventType, Source: "decoded", Timestamp: now, ReceivedAt: now,
		Payload: json.RawMessage(`{"n":1}`), Metadata: json.RawMessage(`{}`),
	}}}, events.Envelope{Actor: events.ActorAnonymous, RecordedAt: now})
	require.NoError(t, err)

	return msg
}

// spoiled returns a copy of msg, same uuid, whose payload does not decode.
func spoiled(msg *message.Message) *message.Message {
	copied := msg.Copy()
	copied.Payload = []byte(`{"events": [`)

	return copied
}

func TestDecodedSharesOneDecode(t *testing.T) {
	decoded := NewDecoded(0)
	msg := ingestedRecord(t, "shared")

	first, err := decoded.Decode(msg)
	require.NoError(t, err)

	second, err := decoded.Decode(spoiled(msg))
	require.NoError(t, err, "the second read of the record uses the first decode")
	require.Equal(t, "shared", second.(events.EventsIngested).Events[0].EventType)
	require.Same(t, &first.(events.EventsIngested).Events[0], &second.(events.EventsIngested).Events[0])
}

func TestDecodedEvictsOldestPastLimit(t *testing.T) {
	a, b, c := ingestedRecord(t, "a"), ingestedRecord(t, "b"), ingestedRecord(t, "c")
	decoded := NewDecoded(len(a.Payload) + len(b.Payload) + len(c.Payload)/2)

	for _, msg := range []*message.Message{a, b, c} {
		_, err := decoded.Decode(msg)
		require.NoError(t, err)
	}
	require.Equal(t, 2, decoded.Len())

	_, err := decoded.Decode(spoiled(a))
	require.Error(t, err, "the oldest record was evicted and is decoded again")

	event, err := decoded.Decode(spoiled(c))
	require.NoError(t, err, "the newest record is kept")
	require.Equal(t, "c", event.(events.EventsIngested).Events[0].EventType)
}

func TestDecodedKeepsNoErrors(t *testing.T) {
	decoded := NewDecoded(0)
	msg := ingestedRecord(t, "later")

	_, err := decoded.Decode(spoiled(msg))
	require.Error(t, err)
	require.Zero(t, decoded.Len(), "a failed decode is not kept")

	event, err := decoded.Decode(msg)
	require.NoError(t, err)
	require.Equal(t, "later", event.(events.EventsIngested).Events[0].EventType)
}

func TestDecodedNilDecodesEachTime(t *testing.T) {
	var decoded *Decoded
	msg := ingestedRecord(t, "nil")

	_, err := decoded.Decode(msg)
	require.NoError(t, err)

	_, err = decoded.Decode(spoiled(msg))
	require.Error(t, err)
}

func TestDecodedHeldListsNewestLargeRecords(t *testing.T) {
	decoded := NewDecoded(0)
	large := func(eventType string) *message.Message {
		msg := ingestedRecord(t, eventType)
		msg.Payload = bytes.Replace(msg.Payload, []byte(`{"n":1}`),
			[]byte(`{"text":"`+strings.Repeat("x", heldMinBytes)+`"}`), 1)
		return msg
	}

	first, small, last := large("first"), ingestedRecord(t, "small"), large("last")
	for _, msg := range []*message.Message{first, small, last} {
		_, err := decoded.Decode(msg)
		require.NoError(t, err)
	}
	require.Equal(t, []string{last.UUID, first.UUID}, decoded.Held(), "newest first, without the small record")

	for range heldMaxIDs {
		_, err := decoded.Decode(large("more"))
		require.NoError(t, err)
	}
	heldIDs := decoded.Held()
	require.Len(t, heldIDs, heldMaxIDs)
	require.NotContains(t, heldIDs, first.UUID, "the oldest large records are left out past the limit")
}
