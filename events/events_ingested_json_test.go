package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/go-faster/jx"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
)

// ingestedRecord returns a message holding an EventsIngested record whose
// payload is data, as a log subscriber delivers it.
func ingestedRecord(t testing.TB, data string) *message.Message {
	t.Helper()

	msg, err := events.NewMessage(events.EventsIngested{}, events.Envelope{RecordedAt: time.Now()})
	require.NoError(t, err)
	msg.Payload = []byte(data)

	return msg
}

// jsonbRecord is a record as PostgreSQL prints a jsonb value: a space after
// each colon and comma, keys of one object ordered by length.
const jsonbRecord = `{"events": [{"source": "ünïcode/<html>&amp;\u2028", "payload": {"n": null, "nested": {"t": true, "list": [1, 2.5e3, "x"]}}, "event_id": "0190b7c4-1234-7abc-8def-0123456789ab", "metadata": {}, "timestamp": "2026-03-04T05:06:07.890123Z", "event_type": "quote \" and \\ backslash", "received_at": "2026-03-04T05:06:08.890123Z", "correlation_id": "req-1"}, {"source": "web", "payload": {"big": 123456789012345678901234567890}, "event_id": "0190b7c4-1234-7abc-8def-0123456789ac", "metadata": {"k": "v"}, "timestamp": "1970-01-01T00:00:00Z", "event_type": "tab\there", "received_at": "2026-03-04T05:06:07+02:00"}]}`

func TestDecodeEventsIngestedMatchesEncodingJSON(t *testing.T) {
	t.Parallel()

	for name, data := range map[string]string{
		"jsonb":          jsonbRecord,
		"null fields":    `{"events": [{"event_id": "0190b7c4-1234-7abc-8def-0123456789ab", "source": null, "payload": null, "metadata": null, "timestamp": null}]}`,
		"unknown fields": `{"version": 3, "events": [{"extra": {"a": [1, {"b": 2}]}, "event_type": "x"}], "more": "y"}`,
		"null events":    `{"events": null}`,
		"no events":      `{"events": []}`,
		"empty":          `{}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			var want events.EventsIngested
			require.NoError(t, json.Unmarshal([]byte(data), &want))

			got, err := events.Decode(ingestedRecord(t, data))
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

func TestDecodeEventsIngestedValues(t *testing.T) {
	t.Parallel()

	got, err := events.Decode(ingestedRecord(t, jsonbRecord))
	require.NoError(t, err)

	batch := got.(events.EventsIngested).Events
	require.Len(t, batch, 2)
	require.Equal(t, uuid.MustParse("0190b7c4-1234-7abc-8def-0123456789ac"), batch[1].EventID)
	require.Equal(t, `quote " and \ backslash`, batch[0].EventType)
	require.Equal(t, "ünïcode/<html>&amp;\u2028", batch[0].Source)
	require.Equal(t, "req-1", batch[0].CorrelationID)
	require.True(t, batch[1].ReceivedAt.Equal(time.Date(2026, 3, 4, 3, 6, 7, 0, time.UTC)))
	require.JSONEq(t, `{"big": 123456789012345678901234567890}`, string(batch[1].Payload))
}

func TestDecodeEventsIngestedRejectsBadInput(t *testing.T) {
	t.Parallel()

	for name, data := range map[string]string{
		"not an object":  `[1]`,
		"events scalar":  `{"events": 5}`,
		"bad event id":   `{"events": [{"event_id": "nope"}]}`,
		"bad timestamp":  `{"events": [{"timestamp": "yesterday"}]}`,
		"number as type": `{"events": [{"event_type": 7}]}`,
		"truncated":      `{"events": [{"payload": {"a": 1`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			var want events.EventsIngested
			require.Error(t, json.Unmarshal([]byte(data), &want), "encoding/json rejects it too")

			_, err := events.Decode(ingestedRecord(t, data))
			require.Error(t, err)
		})
	}
}

func TestNewMessageEventsIngestedRoundTrip(t *testing.T) {
	t.Parallel()

	var want events.EventsIngested
	require.NoError(t, json.Unmarshal([]byte(jsonbRecord), &want))

	msg, err := events.NewMessage(want, events.Envelope{RecordedAt: time.Now()})
	require.NoError(t, err)

	var got events.EventsIngested
	require.NoError(t, json.Unmarshal(msg.Payload, &got), "encoding/json reads the record")
	require.Equal(t, want, got)
	require.Contains(t, string(msg.Payload), `{"n": null, "nested": {"t": true`, "payload copied, not compacted")

	decoded, err := events.Decode(msg)
	require.NoError(t, err)
	require.Equal(t, want, decoded)
}

func TestRawRecordMatchesEncodedRecord(t *testing.T) {
	t.Parallel()

	var want events.EventsIngested
	require.NoError(t, json.Unmarshal([]byte(jsonbRecord), &want))
	envelope := events.Envelope{CorrelationID: "req-1", CausationID: "cmd-1", Actor: "key:1", RecordedAt: time.Now()}

	encoded, err := events.NewMessage(want, envelope)
	require.NoError(t, err)

	var parts struct {
		Events json.RawMessage `json:"events"`
	}
	require.NoError(t, json.Unmarshal(encoded.Payload, &parts))

	msg := events.NewEventsIngestedMessage(parts.Events, envelope)
	require.Equal(t, string(encoded.Payload), string(msg.Payload))
	require.Equal(t, encoded.Metadata, msg.Metadata)
	require.NotEqual(t, encoded.UUID, msg.UUID)

	decoded, err := events.Decode(msg)
	require.NoError(t, err)
	require.Equal(t, want, decoded)
	require.Equal(t, events.EnvelopeOf(encoded), events.EnvelopeOf(msg))
}

func TestRawRecordCopiesInput(t *testing.T) {
	t.Parallel()

	raw := []byte(`[{"event_id":"0190b7c4-1234-7abc-8def-0123456789ab","payload":{"a":1}}]`)
	msg := events.NewEventsIngestedMessage(raw, events.Envelope{RecordedAt: time.Now()})
	copy(raw, bytes.Repeat([]byte(" "), len(raw)))

	decoded, err := events.Decode(msg)
	require.NoError(t, err)
	require.Equal(t, `{"a":1}`, string(decoded.(events.EventsIngested).Events[0].Payload))
}

// TestDecodedEventsShareRecord checks that decoded payloads are slices
// of the record, capped so that appending to one leaves the record whole.
func TestDecodedEventsShareRecord(t *testing.T) {
	t.Parallel()

	msg := ingestedRecord(t, `{"events":[{"payload":{"a":1},"metadata":{"m":2}},{"payload":{"b":3}}]}`)
	decoded, err := events.Decode(msg)
	require.NoError(t, err)

	batch := decoded.(events.EventsIngested).Events
	start := bytes.Index(msg.Payload, []byte(`{"a":1}`))
	require.Same(t, &msg.Payload[start], &batch[0].Payload[0])
	require.Equal(t, len(batch[0].Payload), cap(batch[0].Payload))

	before := string(msg.Payload)
	batch[0].Payload = append(batch[0].Payload, `,"x"`...)
	batch[0].Metadata = append(batch[0].Metadata, `,"y"`...)
	require.Equal(t, before, string(msg.Payload))
	require.Equal(t, `{"b":3}`, string(batch[1].Payload))
}

func TestNewMessageEventsIngestedNull(t *testing.T) {
	t.Parallel()

	msg, err := events.NewMessage(events.EventsIngested{}, events.Envelope{RecordedAt: time.Now()})
	require.NoError(t, err)
	require.JSONEq(t, `{"events": null}`, string(msg.Payload))
}

// BenchmarkDecodeEventsIngested decodes a record of 500 events in the
// form PostgreSQL prints jsonb, as every projector of the events does.
func BenchmarkDecodeEventsIngested(b *testing.B) {
	var data []byte
	data = append(data, `{"events": [`...)
	for i := range 500 {
		if i > 0 {
			data = append(data, ", "...)
		}
		data = fmt.Appendf(data, `{"source": "host-%d", "payload": {"line": "session opened for user root by (uid=0)", "pid": %d}, "event_id": "%s", "metadata": {"file": "auth.log"}, "timestamp": "2026-03-04T05:06:07.890123Z", "event_type": "sshd", "received_at": "2026-03-04T05:06:08.890123Z"}`,
			i%7, i, uuid.New())
	}
	data = append(data, "]}"...)

	msg := ingestedRecord(b, string(data))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()

	for b.Loop() {
		if _, err := events.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAppendUUIDMatchesString(t *testing.T) {
	t.Parallel()

	for _, id := range []uuid.UUID{uuid.Nil, uuid.Max, uuid.New(), uuid.Must(uuid.NewV7())} {
		require.Equal(t, id.String(), string(events.AppendUUID([]byte("x"), id))[1:])
	}
}

// TestAppendIngestedEventTimes checks that times are written as
// time.Time.MarshalText writes them, and that a year MarshalText rejects
// is an error here too.
func TestAppendIngestedEventTimes(t *testing.T) {
	t.Parallel()

	for _, at := range []time.Time{
		time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", 2*3600+30*60)),
	} {
		var e jx.Encoder
		require.NoError(t, events.AppendIngestedEvent(&e, &events.IngestedEvent{Timestamp: at, ReceivedAt: at}))

		want, err := at.MarshalText()
		require.NoError(t, err)
		require.Contains(t, e.String(), `"timestamp":"`+string(want)+`"`)
		require.Contains(t, e.String(), `"received_at":"`+string(want)+`"`)
	}

	for _, bad := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", -25*3600)),
	} {
		var e jx.Encoder
		_, marshalErr := bad.MarshalText()
		require.Error(t, marshalErr)
		require.Error(t, events.AppendIngestedEvent(&e, &events.IngestedEvent{Timestamp: bad}), bad.String())
	}
}
