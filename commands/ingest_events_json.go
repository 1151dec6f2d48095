package commands

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"github.com/go-faster/jx"
	"github.com/google/uuid"

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
	// The estimate covers the fixed fields and each event's claim, because
	// growing the buffer while writing copied it several times over for a
	// full batch.
	size := 128
	for i := range c.Events {
		size += 256 + claimLength + len(c.Events[i].EventType) + len(c.Events[i].Source) +
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
		// The claims come before the events, so DecodeJSON has them when
		// it reaches the events and can leave the events undecoded.
		if c.Events != nil {
			e.Field("claims", func(e *jx.Encoder) { appendClaims(e, claimsOf(c.Events)) })
		}
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

// claimLength is the length of one claim as AppendJSON writes it: the
// event id in its text form, then the body hash in unpadded URL-safe
// base64.
var claimLength = 36 + base64.RawURLEncoding.EncodedLen(sha256.Size)

func appendClaims(e *jx.Encoder, claims []EventClaim) {
	// A claim needs no escapes, so it is written quoted as it is.
	text := make([]byte, claimLength+2)
	text[0], text[len(text)-1] = '"', '"'

	e.Arr(func(e *jx.Encoder) {
		for _, claim := range claims {
			events.AppendUUID(text[:1], claim.EventID)
			base64.RawURLEncoding.Encode(text[37:len(text)-1], claim.BodyHash[:])
			e.Raw(text)
		}
	})
}

// DecodeJSON decodes what AppendJSON or encoding/json wrote. Like
// encoding/json it skips unknown fields and leaves a field unchanged when
// its value is null. When the command carries claims before its events,
// as AppendJSON writes it, DecodeJSON checks that the events have the
// claims' ids in the same order, keeps the events only as RawEvents and
// leaves Events nil; DecodeEvents decodes them. The payloads, the metadata
// and RawEvents are slices of data, which must therefore not change while
// c is in use.
func (c *IngestEvents) DecodeJSON(data []byte) error {
	d := jx.DecodeBytes(data)
	c.Claims = nil
	c.eventsVerbatim = false

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
		case "claims":
			return c.decodeClaims(d)
		case "events":
			return c.decodeEvents(d, data)
		default:
			return d.Skip()
		}
	})
	if err == nil {
		err = c.checkClaims()
	}
	if err != nil {
		return fmt.Errorf("error decoding IngestEvents command: %w", err)
	}

	return nil
}

// checkClaims compares claims that came after the events with the events,
// which DecodeJSON decoded in that case.
func (c *IngestEvents) checkClaims() error {
	switch {
	case c.Claims == nil || c.eventsVerbatim:
		return nil
	case c.RawEvents == nil:
		return fmt.Errorf("the command has %d claims and no events", len(c.Claims))
	case len(c.Claims) != len(c.Events):
		return fmt.Errorf("%d claims for %d events", len(c.Claims), len(c.Events))
	}

	for i := range c.Events {
		if c.Events[i].EventID != c.Claims[i].EventID {
			return claimMismatch(i, c.Claims[i].EventID, c.Events[i].EventID)
		}
	}

	return nil
}

func claimMismatch(i int, claimed, sent uuid.UUID) error {
	return fmt.Errorf("claim %d names event %s, but event %d is %s", i, claimed, i, sent)
}

func (c *IngestEvents) decodeClaims(d *jx.Decoder) error {
	if c.Claims != nil {
		return fmt.Errorf("the claims member is repeated")
	}
	c.Claims = []EventClaim{}

	return d.Arr(func(d *jx.Decoder) error {
		text, err := d.StrBytes()
		if err != nil {
			return err
		}

		var claim EventClaim
		if len(text) != claimLength {
			return fmt.Errorf("invalid claim %d: %d bytes long, expected %d", len(c.Claims), len(text), claimLength)
		}
		if claim.EventID, err = uuid.ParseBytes(text[:36]); err != nil {
			return fmt.Errorf("invalid claim %d: %w", len(c.Claims), err)
		}
		if _, err := base64.RawURLEncoding.Decode(claim.BodyHash[:], text[36:]); err != nil {
			return fmt.Errorf("invalid claim %d: %w", len(c.Claims), err)
		}
		c.Claims = append(c.Claims, claim)

		return nil
	})
}

// decodeEvents reads the events array of data, keeping its bytes in
// RawEvents. After claims, it reads only each event's id, which must be
// its claim's, and finds the array's bytes in the same pass.
// NOTE: the other members of such events are not checked here. A producer
// other than AppendJSON that writes valid claims with broken events gets
// them into the log, where the projectors store the record as a dead
// letter.
func (c *IngestEvents) decodeEvents(d *jx.Decoder, data []byte) error {
	c.Events = nil

	if c.Claims == nil {
		raw, err := d.Raw()
		if err != nil {
			return err
		}
		c.RawEvents = raw[:len(raw):len(raw)]

		return c.DecodeEvents()
	}

	// A value that d returns is a slice of data, so its offset in data is
	// the difference of their capacities.
	first, end, count := -1, -1, 0
	item := jx.GetDecoder()
	defer jx.PutDecoder(item)

	err := d.Arr(func(d *jx.Decoder) error {
		raw, err := d.Raw()
		if err != nil {
			return err
		}

		if count >= len(c.Claims) {
			// Counting goes on, so the error gives the number of events.
			count++

			return nil
		}
		item.ResetBytes(raw)
		if err := checkEventID(item, count, c.Claims[count].EventID); err != nil {
			return err
		}

		offset := cap(data) - cap(raw)
		if first < 0 {
			first = offset
		}
		end = offset + len(raw)
		count++

		return nil
	})
	if err != nil {
		return err
	}
	if count != len(c.Claims) {
		return fmt.Errorf("%d claims for %d events", len(c.Claims), count)
	}

	c.eventsVerbatim = true
	if count == 0 {
		c.RawEvents = []byte(`[]`)
		return nil
	}

	open := bytes.LastIndexByte(data[:first], '[')
	closing := bytes.IndexByte(data[end:], ']')
	if open < 0 || closing < 0 {
		return fmt.Errorf("events array not found around bytes %d to %d", first, end)
	}
	c.RawEvents = data[open : end+closing+1 : end+closing+1]

	return nil
}

// errIDFound stops the reading of an event once its id is checked.
var errIDFound = errors.New("event id found")

// checkEventID returns an error unless the i-th event, the object that d
// reads, has the claimed id. AppendIngestedEvent writes the id first, so
// this usually reads one member.
func checkEventID(d *jx.Decoder, i int, claimed uuid.UUID) error {
	err := d.ObjBytes(func(d *jx.Decoder, key []byte) error {
		if string(key) != "event_id" {
			return d.Skip()
		}

		text, err := d.StrBytes()
		if err != nil {
			return err
		}
		sent, err := uuid.ParseBytes(text)
		if err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
		if sent != claimed {
			return claimMismatch(i, claimed, sent)
		}

		return errIDFound
	})

	switch {
	case errors.Is(err, errIDFound):
		return nil
	case err != nil:
		return err
	default:
		return fmt.Errorf("event %d is missing event_id", i)
	}
}

// DecodeEvents fills Events from RawEvents when DecodeJSON left it nil.
// Payloads and metadata are slices of RawEvents.
func (c *IngestEvents) DecodeEvents() error {
	if c.Events != nil || c.RawEvents == nil {
		return nil
	}

	c.Events = []events.IngestedEvent{}

	err := jx.DecodeBytes(c.RawEvents).Arr(func(d *jx.Decoder) error {
		var event events.IngestedEvent
		if err := events.DecodeIngestedEventShared(d, &event); err != nil {
			return err
		}
		c.Events = append(c.Events, event)

		return nil
	})
	if err != nil {
		c.Events = nil
		return fmt.Errorf("error decoding the events of command %q: %w", c.CommandID, err)
	}

	return nil
}

func decodeStr(d *jx.Decoder, target *string) error {
	s, err := d.Str()
	if err != nil {
		return err
	}

	*target = s

	return nil
}
