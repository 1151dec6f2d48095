package commands

import (
	"fmt"
	"slices"

	"github.com/go-faster/jx"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/bus"
)

var (
	_ bus.JSONAppender = (*IngestEvents)(nil)
	_ bus.JSONDecoder  = (*IngestEvents)(nil)
)

// AppendJSON appends the command to dst as the JSON that encoding/json
// writes for it, except that payloads and metadata are copied as they are
// instead of compacted. The API validated them when it decoded the request.
func (c *IngestEvents) AppendJSON(dst []byte) ([]byte, error) {
	// Growing the buffer while writing copied it several times over for a
	// full batch; this estimate covers the fixed fields.
	size := 128
	for i := range c.Events {
		size += 256 + len(c.Events[i].EventType) + len(c.Events[i].Source) +
			len(c.Events[i].Payload) + len(c.Events[i].Metadata)
	}
	dst = slices.Grow(dst, size)

	var e jx.Encoder
	e.SetBytes(dst)

	var err error
	e.Obj(func(e *jx.Encoder) {
		e.Field("command_id", func(e *jx.Encoder) { e.Str(c.CommandID) })
		e.Field("correlation_id", func(e *jx.Encoder) { e.Str(c.CorrelationID) })
		e.Field("actor", func(e *jx.Encoder) { e.Str(c.Actor) })
		e.Field("events", func(e *jx.Encoder) {
			if c.Events == nil {
				e.Null()
				return
			}

			e.Arr(func(e *jx.Encoder) {
				for i := range c.Events {
					if appendErr := events.AppendIngestedEvent(e, &c.Events[i]); appendErr != nil && err == nil {
						err = appendErr
					}
				}
			})
		})
	})

	if err != nil {
		return nil, fmt.Errorf("error encoding command %q: %w", c.CommandID, err)
	}

	return e.Bytes(), nil
}

// DecodeJSON decodes what AppendJSON or encoding/json wrote. Like
// encoding/json it skips unknown fields and leaves a field unchanged when
// its value is null. The payloads, the metadata and RawEvents are slices
// of data, which must therefore not change while c is in use.
func (c *IngestEvents) DecodeJSON(data []byte) error {
	d := jx.DecodeBytes(data)

	err := d.ObjBytes(func(d *jx.Decoder, key []byte) error {
		if d.Next() == jx.Null {
			if string(key) == "events" {
				c.Events = nil
				c.RawEvents = nil
			}

			return d.Null()
		}

		switch string(key) {
		case "command_id":
			return decodeStr(d, &c.CommandID)
		case "correlation_id":
			return decodeStr(d, &c.CorrelationID)
		case "actor":
			return decodeStr(d, &c.Actor)
		case "events":
			return c.decodeEvents(d)
		default:
			return d.Skip()
		}
	})
	if err != nil {
		return fmt.Errorf("error decoding IngestEvents command: %w", err)
	}

	return nil
}

// decodeEvents reads the events array, keeping its bytes in RawEvents.
func (c *IngestEvents) decodeEvents(d *jx.Decoder) error {
	raw, err := d.Raw()
	if err != nil {
		return err
	}

	c.Events = c.Events[:0]
	c.RawEvents = raw[:len(raw):len(raw)]

	return jx.DecodeBytes(raw).Arr(func(d *jx.Decoder) error {
		var event events.IngestedEvent
		if err := events.DecodeIngestedEventShared(d, &event); err != nil {
			return err
		}
		c.Events = append(c.Events, event)

		return nil
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
