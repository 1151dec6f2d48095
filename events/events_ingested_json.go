package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-faster/jx"
	"github.com/google/uuid"
)

// appendJSON encodes the record for NewMessage. encoding/json compacts
// every json.RawMessage it writes, which cost more than the rest of the
// ingest handler for a full command.
func (e EventsIngested) appendJSON() ([]byte, error) {
	size := 16
	for i := range e.Events {
		size += 256 + len(e.Events[i].EventType) + len(e.Events[i].Source) +
			len(e.Events[i].Payload) + len(e.Events[i].Metadata)
	}

	var encoder jx.Encoder
	encoder.SetBytes(make([]byte, 0, size))

	var err error
	encoder.Obj(func(encoder *jx.Encoder) {
		encoder.Field("events", func(encoder *jx.Encoder) {
			if e.Events == nil {
				encoder.Null()
				return
			}

			encoder.Arr(func(encoder *jx.Encoder) {
				for i := range e.Events {
					if appendErr := AppendIngestedEvent(encoder, &e.Events[i]); appendErr != nil && err == nil {
						err = appendErr
					}
				}
			})
		})
	})
	if err != nil {
		return nil, err
	}

	return encoder.Bytes(), nil
}

// maxRecordEvents is the largest capacity decodeEventsIngested reserves,
// because the API puts at most 1000 events in one command.
const maxRecordEvents = 1000

// decodeEventsIngested decodes an EventsIngested record with jx, which took
// about a third of encoding/json's time in BenchmarkDecodeEventsIngested.
// Every projector of the events decodes each record, so this is the
// worker's hottest decoding. Like encoding/json it skips unknown fields and
// leaves a field unchanged when its value is null. Unlike encoding/json it
// ignores bytes after the object, which a jsonb column never holds. The
// payloads and metadata are slices of data.
func decodeEventsIngested(data []byte) (Event, error) {
	var event EventsIngested
	d := jx.DecodeBytes(data)

	err := d.ObjBytes(func(d *jx.Decoder, key []byte) error {
		if string(key) != "events" {
			return d.Skip()
		}
		if d.Next() == jx.Null {
			event.Events = nil
			return d.Null()
		}

		// A stored event takes at least 180 bytes, and a record holds at
		// most one command's events, so this rarely grows and never
		// over-allocates by much.
		event.Events = make([]IngestedEvent, 0, min(len(data)/180, maxRecordEvents))

		return d.Arr(func(d *jx.Decoder) error {
			var e IngestedEvent
			if err := DecodeIngestedEventShared(d, &e); err != nil {
				return err
			}
			event.Events = append(event.Events, e)

			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("error decoding %s: %w", EventsIngestedName, err)
	}

	return event, nil
}

// AppendIngestedEvent writes event as a JSON object that encoding/json
// decodes to the same IngestedEvent. Payload and metadata are copied as
// they are, not compacted.
func AppendIngestedEvent(e *jx.Encoder, event *IngestedEvent) error {
	var err error
	// text holds a quoted id or time while it is written, on the stack.
	var text [64]byte

	e.Obj(func(e *jx.Encoder) {
		e.Field("event_id", func(e *jx.Encoder) { e.Raw(append(AppendUUID(append(text[:0], '"'), event.EventID), '"')) })
		e.Field("event_type", func(e *jx.Encoder) { e.Str(event.EventType) })
		e.Field("source", func(e *jx.Encoder) { e.Str(event.Source) })
		e.Field("timestamp", func(e *jx.Encoder) { err = appendTime(e, text[:0], event.Timestamp, err) })
		e.Field("received_at", func(e *jx.Encoder) { err = appendTime(e, text[:0], event.ReceivedAt, err) })
		e.Field("payload", func(e *jx.Encoder) { appendRaw(e, event.Payload) })
		e.Field("metadata", func(e *jx.Encoder) { appendRaw(e, event.Metadata) })
		if event.CorrelationID != "" {
			e.Field("correlation_id", func(e *jx.Encoder) { e.Str(event.CorrelationID) })
		}
	})

	return err
}

// appendTime writes t as time.Time.MarshalJSON does, formatting it in buf,
// and keeps the first error in err. Like MarshalJSON it fails for a year
// outside 0 to 9999 and a zone offset of a day or more.
func appendTime(e *jx.Encoder, buf []byte, t time.Time, err error) error {
	_, offset := t.Zone()
	if year := t.Year(); year < 0 || year > 9999 || offset <= -24*3600 || offset >= 24*3600 {
		e.Null()
		if err == nil {
			return fmt.Errorf("time %s cannot be written in RFC 3339: the year or the zone offset is out of range", t)
		}

		return err
	}

	// The text needs no escapes, so it goes out quoted as it is.
	e.Raw(append(t.AppendFormat(append(buf, '"'), time.RFC3339Nano), '"'))

	return err
}

// AppendUUID appends id to dst in the text form of uuid.UUID.String,
// without allocating.
func AppendUUID(dst []byte, id uuid.UUID) []byte {
	const digits = "0123456789abcdef"
	for i, b := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, digits[b>>4], digits[b&0x0f])
	}

	return dst
}

func appendRaw(e *jx.Encoder, raw json.RawMessage) {
	if raw == nil {
		e.Null()
		return
	}

	e.Raw(raw)
}

// DecodeIngestedEvent decodes one event object as encoding/json writes
// IngestedEvent. A null payload or metadata becomes the raw value null, as
// with encoding/json, and other null fields are left unchanged. Payload and
// metadata are copies, so the decoder's input may change afterwards.
func DecodeIngestedEvent(d *jx.Decoder, event *IngestedEvent) error {
	return decodeIngestedEvent(d, event, bytes.Clone)
}

// DecodeIngestedEventShared decodes as DecodeIngestedEvent does, but
// payload and metadata are slices of the decoder's input, which must not
// change while event is in use.
func DecodeIngestedEventShared(d *jx.Decoder, event *IngestedEvent) error {
	return decodeIngestedEvent(d, event, shareRaw)
}

// shareRaw caps the slice at its length, so an append to the value copies
// it instead of writing over the input that follows.
func shareRaw(raw []byte) []byte { return raw[:len(raw):len(raw)] }

func decodeIngestedEvent(d *jx.Decoder, event *IngestedEvent, keep func([]byte) []byte) error {
	return d.ObjBytes(func(d *jx.Decoder, key []byte) error {
		if d.Next() == jx.Null {
			switch string(key) {
			case "payload":
				event.Payload = json.RawMessage("null")
			case "metadata":
				event.Metadata = json.RawMessage("null")
			}

			return d.Null()
		}

		switch string(key) {
		case "event_id":
			text, err := d.StrBytes()
			if err != nil {
				return err
			}

			return event.EventID.UnmarshalText(text)
		case "event_type":
			return decodeStr(d, &event.EventType)
		case "source":
			return decodeStr(d, &event.Source)
		case "timestamp":
			return decodeTime(d, &event.Timestamp)
		case "received_at":
			return decodeTime(d, &event.ReceivedAt)
		case "payload":
			return decodeRaw(d, &event.Payload, keep)
		case "metadata":
			return decodeRaw(d, &event.Metadata, keep)
		case "correlation_id":
			return decodeStr(d, &event.CorrelationID)
		default:
			return d.Skip()
		}
	})
}

func decodeStr(d *jx.Decoder, target *string) error {
	s, err := d.Str()
	if err != nil {
		return err
	}

	*target = s

	return nil
}

func decodeTime(d *jx.Decoder, target *time.Time) error {
	text, err := d.StrBytes()
	if err != nil {
		return err
	}

	return target.UnmarshalText(text)
}

// decodeRaw stores the value as keep returns it: a copy, or the slice of
// the decoder's input.
func decodeRaw(d *jx.Decoder, target *json.RawMessage, keep func([]byte) []byte) error {
	raw, err := d.Raw()
	if err != nil {
		return err
	}

	*target = json.RawMessage(keep(raw))

	return nil
}
