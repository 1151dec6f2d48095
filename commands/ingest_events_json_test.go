package commands_test

import (
	"bytes"
	"crypto/sha256"
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

func TestIngestEventsJSONKeepsEventsArray(t *testing.T) {
	t.Parallel()

	data, err := sampleCommand().AppendJSON(nil)
	require.NoError(t, err)

	var got commands.IngestEvents
	require.NoError(t, got.DecodeJSON(data))
	require.Equal(t, string(rawEvents(t, data)), string(got.RawEvents))
	require.Equal(t, len(got.RawEvents), cap(got.RawEvents))
	require.Nil(t, got.Events, "a command with claims leaves its events to DecodeEvents")
	require.NoError(t, got.DecodeEvents())
	require.Equal(t, sampleCommand().Events, got.Events)

	// The record made from the array is the one made from the events.
	envelope := events.Envelope{CorrelationID: got.CorrelationID, CausationID: got.CommandID, RecordedAt: time.Now()}
	encoded, err := events.NewMessage(events.EventsIngested{Events: got.Events}, envelope)
	require.NoError(t, err)
	require.Equal(t, string(encoded.Payload), string(events.NewEventsIngestedMessage(got.RawEvents, envelope).Payload))

	require.NoError(t, got.DecodeJSON([]byte(`{"command_id":"c","events":null}`)))
	require.Nil(t, got.RawEvents)
	require.Nil(t, got.Events)
}

// TestIngestEventsJSONCarriesClaims checks the claims AppendJSON writes:
// each event's id and the SHA-256 of its body in the stored form, which
// json.Encoder writes for [event_type, source, payload, metadata].
func TestIngestEventsJSONCarriesClaims(t *testing.T) {
	t.Parallel()

	sent := sampleCommand()
	data, err := sent.AppendJSON(nil)
	require.NoError(t, err)

	var got commands.IngestEvents
	require.NoError(t, got.DecodeJSON(data))
	require.Len(t, got.Claims, len(sent.Events))

	for i, event := range sent.Events {
		sum := sha256.New()
		require.NoError(t, json.NewEncoder(sum).Encode([]any{event.EventType, event.Source, event.Payload, event.Metadata}))
		require.Equal(t, event.EventID, got.Claims[i].EventID)
		require.Equal(t, sum.Sum(nil), got.Claims[i].BodyHash[:], "event %d", i)
	}

	// Whitespace around the array and its items is kept out of RawEvents'
	// ends but not lost.
	var indented bytes.Buffer
	require.NoError(t, json.Indent(&indented, data, "", "\t"))
	var spaced commands.IngestEvents
	require.NoError(t, spaced.DecodeJSON(indented.Bytes()))
	require.Equal(t, byte('['), spaced.RawEvents[0])
	require.Equal(t, byte(']'), spaced.RawEvents[len(spaced.RawEvents)-1])
	require.NoError(t, spaced.DecodeEvents())
	require.Len(t, spaced.Events, len(sent.Events))
	for i, event := range spaced.Events {
		require.Equal(t, sent.Events[i].EventID, event.EventID)
		require.JSONEq(t, string(sent.Events[i].Payload), string(event.Payload))
	}

	var empty commands.IngestEvents
	require.NoError(t, empty.DecodeJSON([]byte(`{"claims":[],"events":[ ]}`)))
	require.Equal(t, "[]", string(empty.RawEvents))
	require.NoError(t, empty.DecodeEvents())
	require.Empty(t, empty.Events)

	// encoding/json skips the claims, and a command without them is
	// decoded whole.
	var standard commands.IngestEvents
	require.NoError(t, json.Unmarshal(data, &standard))
	require.Equal(t, *sent, standard)

	plain, err := json.Marshal(sent)
	require.NoError(t, err)
	var withoutClaims commands.IngestEvents
	require.NoError(t, withoutClaims.DecodeJSON(plain))
	require.Nil(t, withoutClaims.Claims)
	require.Equal(t, sent.Events, withoutClaims.Events)
}

func TestIngestEventsJSONRejectsBadClaims(t *testing.T) {
	t.Parallel()

	data, err := sampleCommand().AppendJSON(nil)
	require.NoError(t, err)

	var parts map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &parts))
	var claims []string
	require.NoError(t, json.Unmarshal(parts["claims"], &claims))

	with := func(claims []string, events string) []byte {
		encoded, err := json.Marshal(claims)
		require.NoError(t, err)

		return []byte(`{"command_id":"c","claims":` + string(encoded) + `,"events":` + events + `}`)
	}
	after := func(claims []string, events string) []byte {
		encoded, err := json.Marshal(claims)
		require.NoError(t, err)

		return []byte(`{"command_id":"c","events":` + events + `,"claims":` + string(encoded) + `}`)
	}
	events := string(parts["events"])
	swapped := []string{claims[1], claims[0]}

	for name, tc := range map[string]struct {
		data   []byte
		reason string
	}{
		"one claim short":         {with(claims[:1], events), "1 claims for 2 events"},
		"one claim too many":      {with(append(claims, claims[0]), events), "3 claims for 2 events"},
		"claims, no events":       {with(claims, "null"), "the command has 2 claims and no events"},
		"short claim":             {with([]string{claims[0][:40], claims[1]}, events), "invalid claim 0: 40 bytes long, expected 79"},
		"bad id":                  {with([]string{"x" + claims[0][1:], claims[1]}, events), "invalid claim 0: invalid UUID"},
		"bad hash":                {with([]string{claims[0][:78] + "!", claims[1]}, events), "invalid claim 0: illegal base64"},
		"claims in another order": {with(swapped, events), "claim 0 names event 0190b7c4-1234-7abc-8def-0123456789ac"},
		"event without id":        {with(claims[:1], `[{"event_type":"e"}]`), "event 0 is missing event_id"},
		"event not an object":     {with(claims[:1], `[5]`), "unexpected"},
		"event with a bad id":     {with(claims[:1], `[{"event_id":"nope"}]`), "event 0: invalid UUID"},
		"claims twice":            {[]byte(`{"claims":[],"claims":[],"events":[]}`), "the claims member is repeated"},
		"after, one claim short":  {after(claims[:1], events), "1 claims for 2 events"},
		"after, another order":    {after(swapped, events), "claim 0 names event 0190b7c4-1234-7abc-8def-0123456789ac"},
	} {
		var got commands.IngestEvents
		err := got.DecodeJSON(tc.data)
		require.ErrorContains(t, err, tc.reason, name)
	}

	// Claims after the events are checked against the decoded events.
	var got commands.IngestEvents
	require.NoError(t, got.DecodeJSON(after(claims, events)))
	require.Len(t, got.Claims, 2)
	require.Equal(t, sampleCommand().Events, got.Events)
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
