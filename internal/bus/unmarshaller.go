package bus

import (
	"encoding/json"
	"fmt"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
)

// MetaUnreadable marks a stream entry that is not a Watermill message; its
// value is the decoding error. RejectInvalid turns such a message into a
// handler error, so it goes to the dead-letter store.
const MetaUnreadable = "eventpulse_unreadable"

// tolerantUnmarshaller decodes stream entries like Watermill's default and
// turns an entry it cannot decode into a marked message. The subscriber
// stops reading its stream when the unmarshaller returns an error, so one
// foreign entry would otherwise stop every command behind it.
type tolerantUnmarshaller struct {
	redisstream.DefaultMarshallerUnmarshaller
}

func (u tolerantUnmarshaller) Unmarshal(values map[string]any) (msg *message.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = unreadable(values, fmt.Errorf("%v", r)), nil
		}
	}()

	msg, err = u.DefaultMarshallerUnmarshaller.Unmarshal(values)
	if err != nil {
		return unreadable(values, err), nil
	}

	return msg, nil
}

// unreadable returns a message whose payload is the entry's fields as JSON.
func unreadable(values map[string]any, cause error) *message.Message {
	payload, err := json.Marshal(values)
	if err != nil {
		payload = fmt.Appendf(nil, "%q", fmt.Sprint(values))
	}

	id := uuid.NewString()
	if v, ok := values[redisstream.UUIDHeaderKey].(string); ok && v != "" {
		id = v
	}

	msg := message.NewMessage(id, payload)
	msg.Metadata.Set(MetaUnreadable, cause.Error())

	return msg
}
