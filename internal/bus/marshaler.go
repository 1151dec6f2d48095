package bus

import (
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/klauspost/compress/s2"
)

// JSONAppender is implemented by commands that encode themselves as JSON
// without encoding/json. encoding/json re-scans the output of a MarshalJSON
// method and every json.RawMessage to compact it, which costs more than the
// encoding itself for commands carrying hundreds of raw event payloads.
type JSONAppender interface {
	AppendJSON(dst []byte) ([]byte, error)
}

// JSONDecoder is implemented by commands that decode their own JSON, for
// the same reason as JSONAppender.
type JSONDecoder interface {
	DecodeJSON(data []byte) error
}

// Marshaler encodes commands as JSON, named by their Go type. Commands that
// implement JSONAppender and JSONDecoder encode and decode themselves; the
// others go through encoding/json. Both produce standard JSON, so either
// side can read what the other wrote. A JSONAppender payload of
// compressMinBytes or more is compressed with S2: Redis then stores, sends
// and writes to its append-only file a fraction of the bytes.
var Marshaler cqrs.CommandEventMarshaler = jsonMarshaler{
	JSONMarshaler: cqrs.JSONMarshaler{GenerateName: cqrs.StructName},
}

type jsonMarshaler struct {
	cqrs.JSONMarshaler
}

func (m jsonMarshaler) Marshal(v any) (*message.Message, error) {
	appender, ok := v.(JSONAppender)
	if !ok {
		return m.JSONMarshaler.Marshal(v)
	}

	buf := jsonBuffers.Get().(*[]byte)
	payload, err := appender.AppendJSON((*buf)[:0])
	if err != nil {
		jsonBuffers.Put(buf)
		return nil, err
	}

	compressed := len(payload) >= compressMinBytes
	if compressed {
		encoded := s2.Encode(nil, payload)
		if cap(payload) <= maxPooledJSON {
			*buf = payload
			jsonBuffers.Put(buf)
		}
		payload = encoded
	}

	msg := message.NewMessage(watermill.NewUUID(), payload)
	msg.Metadata.Set("name", m.Name(v))
	if compressed {
		msg.Metadata.Set(MetaContentEncoding, EncodingS2)
	}

	return msg, nil
}

func (m jsonMarshaler) Unmarshal(msg *message.Message, v any) error {
	decoder, ok := v.(JSONDecoder)
	if !ok {
		return m.JSONMarshaler.Unmarshal(msg, v)
	}

	payload, err := DecodePayload(msg.Payload, msg.Metadata.Get(MetaContentEncoding))
	if err != nil {
		return fmt.Errorf("error reading command %q: %w", msg.UUID, err)
	}

	return decoder.DecodeJSON(payload)
}

// MetaContentEncoding is the metadata key that names the compression of a
// command's payload. A payload without it is plain JSON.
const MetaContentEncoding = "content_encoding"

// EncodingS2 is the value of MetaContentEncoding for a payload compressed
// with S2, an extension of the Snappy block format.
const EncodingS2 = "s2"

// compressMinBytes is the smallest payload that Marshal compresses.
const compressMinBytes = 1024

// jsonBuffers pools the buffers that Marshal encodes commands into before
// compressing them. A compressed command no longer needs its JSON, so its
// buffer returns to the pool. An uncompressed command keeps its buffer as
// the message's payload. Buffers above maxPooledJSON are left to the
// garbage collector.
var jsonBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledJSON = 1 << 20

// DecodePayload returns payload as JSON, decompressed according to
// encoding, the value of its MetaContentEncoding metadata.
func DecodePayload(payload []byte, encoding string) ([]byte, error) {
	switch encoding {
	case "":
		return payload, nil
	case EncodingS2:
		decoded, err := s2.Decode(nil, payload)
		if err != nil {
			return nil, fmt.Errorf("invalid %s payload: %w", encoding, err)
		}

		return decoded, nil
	default:
		return nil, fmt.Errorf("unknown content encoding %q; upgrade this worker to a version that reads it", encoding)
	}
}
