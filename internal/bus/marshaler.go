package bus

import (
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
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
// side can read what the other wrote.
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

	payload, err := appender.AppendJSON(nil)
	if err != nil {
		return nil, err
	}

	msg := message.NewMessage(watermill.NewUUID(), payload)
	msg.Metadata.Set("name", m.Name(v))

	return msg, nil
}

func (m jsonMarshaler) Unmarshal(msg *message.Message, v any) error {
	decoder, ok := v.(JSONDecoder)
	if !ok {
		return m.JSONMarshaler.Unmarshal(msg, v)
	}

	return decoder.DecodeJSON(msg.Payload)
}
