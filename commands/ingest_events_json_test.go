package commands_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
)

func sampleCommand() *commands.IngestEvents {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.UTC)

	return &commands.IngestEvents{
		CommandID:     "c0ffee00-0000-4000-8000-000000000001",
		CorrelationID: "c0ffee00-0000-4000-8000-000000000002",
		Actor:         events.ActorAnonymous,
		Events: []events.IngestedEvent{
			{
				EventID:    uuid.MustParse("0190b7c4-1234-7abc-8def-0123456789ab"),
				EventType:  `quote " and \ backslash`,
				Source:     "ünïcode/<html>&amp;\u2028",
				Timestamp:  at,
				ReceivedAt: at.Add(time.Second),
				Payload:    json.RawMessage(`{"nested":{"list":[1,2.5e3,"x"],"t":true},"n":null}`),
				Metadata:   json.RawMessage(`{}`),
			},
			{
				EventID:    uuid.MustParse("0190b7c4-1234-7abc-8def-0123456789ac"),
				EventType:  "tab\there",
				Source:     "web",
				Timestamp:  time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
				ReceivedAt: at,
				Payload:    json.RawMessage(`{"big":123456789012345678901234567890}`),
				Metadata:   json.RawMessage(`{"k":"v"}`),
			},
		},
	}
}

func TestIngestEventsJSONReadByEncodingJSON(t *testing.T) {
	t.Parallel()

	want := sampleCommand()
	data, err := want.AppendJSON(nil)
	require.NoError(t, err)

	var got commands.IngestEvents
	require.NoError(t, json.Unmarshal(data, &got))
	require.Equal(t, *want, got)
}

func TestIngestEventsJSONReadsEncodingJSON(t *testing.T) {
	t.Parallel()

	want := sampleCommand()
	data, err := json.Marshal(want)
	require.NoError(t, err)

	var got commands.IngestEvents
	require.NoError(t, got.DecodeJSON(data))
	require.JSONEq(t, string(rawEvents(t, data)), string(got.RawEvents))
	got.RawEvents = nil
	require.Equal(t, *want, got)
}

// rawEvents returns the events array of the command data as encoding/json
// finds it.
func rawEvents(t *testing.T, data []byte) []byte {
	t.Helper()

	var parts struct {
		Events json.RawMessage `json:"events"`
	}
	require.NoError(t, json.Unmarshal(data, &parts))

	return parts.Events
}

func TestIngestEventsJSONKeepsTheEventsArray(t *testing.T) {
	t.Parallel()

	data, err := sampleCommand().AppendJSON(nil)
	require.NoError(t, err)

	var got commands.IngestEvents
	require.NoError(t, got.DecodeJSON(data))
	require.Equal(t, string(rawEvents(t, data)), string(got.RawEvents))
	require.Equal(t, len(got.RawEvents), cap(got.RawEvents))

	// The record made from the array is the one made from the events.
	envelope := events.Envelope{CorrelationID: got.CorrelationID, CausationID: got.CommandID, RecordedAt: time.Now()}
	encoded, err := events.NewMessage(events.EventsIngested{Events: got.Events}, envelope)
	require.NoError(t, err)
	require.Equal(t, string(encoded.Payload), string(events.NewEventsIngestedMessage(got.RawEvents, envelope).Payload))

	require.NoError(t, got.DecodeJSON([]byte(`{"command_id":"c","events":null}`)))
	require.Nil(t, got.RawEvents)
	require.Nil(t, got.Events)
}

func TestIngestEventsJSONNullsAndUnknownFields(t *testing.T) {
	t.Parallel()

	data := []byte(`{"command_id":"c","actor":null,"extra":[1,{"a":2}],"events":[` +
		`{"event_id":"0190b7c4-1234-7abc-8def-0123456789ab","event_type":"t","source":"s","payload":null,"x":1}]}`)

	var want, got commands.IngestEvents
	require.NoError(t, json.Unmarshal(data, &want))
	require.NoError(t, got.DecodeJSON(data))
	require.NotEmpty(t, got.RawEvents)
	got.RawEvents = nil
	require.Equal(t, want, got)
	require.Equal(t, json.RawMessage("null"), got.Events[0].Payload)
}

func TestIngestEventsJSONNilEvents(t *testing.T) {
	t.Parallel()

	cmd := &commands.IngestEvents{CommandID: "c"}
	data, err := cmd.AppendJSON(nil)
	require.NoError(t, err)

	standard, err := json.Marshal(cmd)
	require.NoError(t, err)
	require.JSONEq(t, string(standard), string(data))

	var got commands.IngestEvents
	require.NoError(t, got.DecodeJSON(data))
	require.Nil(t, got.Events)
}

func TestIngestEventsJSONRejectsBadInput(t *testing.T) {
	t.Parallel()

	for name, data := range map[string]string{
		"truncated":     `{"command_id":"c","events":[{"event_id":"0190b7c4-1234-7abc-8def-0123456789ab"`,
		"bad uuid":      `{"events":[{"event_id":"not-a-uuid"}]}`,
		"bad timestamp": `{"events":[{"timestamp":"yesterday"}]}`,
		"wrong type":    `{"command_id":42}`,
	} {
		var got commands.IngestEvents
		require.Error(t, got.DecodeJSON([]byte(data)), name)
	}
}
