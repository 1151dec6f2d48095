package bus

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"
)

// ErrInvalidCommand is returned for a stream entry that no handling can
// succeed on; the poison queue stores it as a dead letter.
var ErrInvalidCommand = errors.New("invalid command")

// RejectInvalid returns a router middleware that fails, instead of handing
// to the command handler, a command that is not a Watermill message or
// whose name does not match its stream. Watermill's command processor
// acknowledges a command of another name without handling it, which would
// drop it silently. Messages of other topics pass unchanged.
func RejectInvalid(prefix string) message.HandlerMiddleware {
	marker := prefix + ".commands."

	return func(next message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			topic := message.SubscribeTopicFromCtx(msg.Context())
			expected, isCommand := strings.CutPrefix(topic, marker)
			if !isCommand {
				return next(msg)
			}

			if cause := msg.Metadata.Get(MetaUnreadable); cause != "" {
				return nil, fmt.Errorf("%w: entry of stream %q is not a Watermill message: %s", ErrInvalidCommand, topic, cause)
			}

			if name := Marshaler.NameFromMessage(msg); name != expected {
				return nil, fmt.Errorf("%w: command %q on stream %q, which carries %q", ErrInvalidCommand, name, topic, expected)
			}

			return next(msg)
		}
	}
}
