package bus_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/bus"
)

func ingestCommand(n int) *commands.IngestEvents {
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	batch := make([]events.IngestedEvent, n)
	for i := range batch {
		batch[i] = events.IngestedEvent{
			EventID: uuid.New(), EventType: "http.request", Source: "web-1",
			Timestamp: now.Add(time.Duration(i) * time.Millisecond), ReceivedAt: now,
			Payload:  json.RawMessage(fmt.Sprintf(`{"path":"/orders/%d","status":200,"duration_ms":%d}`, i, i%40)),
			Metadata: json.RawMessage(`{"region":"eu-west-1"}`),
		}
	}

	return &commands.IngestEvents{CommandID: uuid.NewString(), CorrelationID: "corr-1", Actor: "key:1", Events: batch}
}

func TestMarshalerCompressesLargeCommands(t *testing.T) {
	t.Parallel()

	sent := ingestCommand(40)
	plain, err := sent.AppendJSON(nil)
	require.NoError(t, err)

	msg, err := bus.Marshaler.Marshal(sent)
	require.NoError(t, err)
	require.Equal(t, bus.EncodingS2, msg.Metadata.Get(bus.MetaContentEncoding))
	require.Less(t, len(msg.Payload), len(plain)/2, "compressed %d bytes of %d", len(msg.Payload), len(plain))

	var received commands.IngestEvents
	require.NoError(t, bus.Marshaler.Unmarshal(msg, &received))
	require.NoError(t, received.DecodeEvents())
	require.Equal(t, sent.CommandID, received.CommandID)
	require.Equal(t, sent.CorrelationID, received.CorrelationID)
	require.Len(t, received.Events, 40)
	require.Equal(t, sent.Events[39].EventID, received.Events[39].EventID)
	require.JSONEq(t, string(sent.Events[39].Payload), string(received.Events[39].Payload))
}

func TestMarshalerLeavesSmallCommandsPlain(t *testing.T) {
	t.Parallel()

	sent := ingestCommand(1)
	msg, err := bus.Marshaler.Marshal(sent)
	require.NoError(t, err)
	require.Empty(t, msg.Metadata.Get(bus.MetaContentEncoding))
	require.True(t, json.Valid(msg.Payload), "payload %s", msg.Payload)

	var received commands.IngestEvents
	require.NoError(t, bus.Marshaler.Unmarshal(msg, &received))
	require.NoError(t, received.DecodeEvents())
	require.Equal(t, sent.Events[0].EventID, received.Events[0].EventID)
}

// TestMarshalerMessagesStayIntact marshals commands of both sizes in turn,
// so that encoding buffers are reused, and checks each message still
// decodes to its own command afterwards.
func TestMarshalerMessagesStayIntact(t *testing.T) {
	t.Parallel()

	var sent []*commands.IngestEvents
	var msgs []*message.Message
	for i := range 20 {
		cmd := ingestCommand(1 + 37*(i%3))
		msg, err := bus.Marshaler.Marshal(cmd)
		require.NoError(t, err)
		sent = append(sent, cmd)
		msgs = append(msgs, msg)
	}

	for i, msg := range msgs {
		var received commands.IngestEvents
		require.NoError(t, bus.Marshaler.Unmarshal(msg, &received))
		require.NoError(t, received.DecodeEvents())
		require.Equal(t, sent[i].CommandID, received.CommandID)
		require.Len(t, received.Events, len(sent[i].Events))
		for j, event := range received.Events {
			require.Equal(t, sent[i].Events[j].EventID, event.EventID)
			require.Equal(t, string(sent[i].Events[j].Payload), string(event.Payload))
		}
	}
}

func TestMarshalerRejectsBadEncodings(t *testing.T) {
	t.Parallel()

	cases := map[string]struct {
		encoding string
		payload  []byte
		reason   string
	}{
		"unknown encoding": {encoding: "zstd", payload: []byte(`{}`), reason: `unknown content encoding "zstd"`},
		"corrupt s2":       {encoding: bus.EncodingS2, payload: []byte("not s2 at all"), reason: "invalid s2 payload"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			msg := message.NewMessage(uuid.NewString(), tc.payload)
			msg.Metadata.Set("name", "commands.IngestEvents")
			msg.Metadata.Set(bus.MetaContentEncoding, tc.encoding)

			var received commands.IngestEvents
			err := bus.Marshaler.Unmarshal(msg, &received)
			require.ErrorContains(t, err, tc.reason)
		})
	}
}
