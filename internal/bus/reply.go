package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/components/requestreply"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
)

// replyStreamTTL bounds how long a reply nobody reads stays in Redis, such
// as one sent after the caller stopped waiting.
const replyStreamTTL = 5 * time.Minute

// ReplyStream returns the Redis stream that carries the reply to the
// command sent with operation id op.
func ReplyStream(prefix string, op requestreply.OperationID) string {
	return prefix + ".replies." + string(op)
}

// NewReplyBackend returns Watermill's request/reply backend over Redis
// Streams. Each command gets a reply stream of its own, which the caller
// reads from its first entry, so a reply sent before the caller started
// reading is not lost; the caller deletes the stream when it stops waiting.
//
// Commands whose handler fails are not answered: the failure is returned
// to the router, which retries, and the caller receives the reply of the
// attempt that succeeds or times out.
func NewReplyBackend[Result any](config Config) (*requestreply.PubSubBackend[Result], error) {
	config = config.withDefaults()

	publisher, err := redisstream.NewPublisher(redisstream.PublisherConfig{
		Client:     borrowedClient{config.Client},
		Marshaller: redisstream.DefaultMarshallerUnmarshaller{},
	}, config.Logger)
	if err != nil {
		return nil, fmt.Errorf("error creating reply publisher: %w", err)
	}

	backend, err := requestreply.NewPubSubBackend(requestreply.PubSubBackendConfig{
		Publisher: expiringPublisher{Publisher: publisher, client: config.Client},
		SubscriberConstructor: func(params requestreply.PubSubBackendSubscribeParams) (message.Subscriber, error) {
			// The backend stops the subscription by cancelling its
			// context. Closing the subscriber would close the shared
			// Redis client.
			return redisstream.NewSubscriber(redisstream.SubscriberConfig{
				Client:         borrowedClient{config.Client},
				Unmarshaller:   redisstream.DefaultMarshallerUnmarshaller{},
				BlockTime:      200 * time.Millisecond,
				FanOutOldestId: "0",
			}, config.Logger)
		},
		GeneratePublishTopic: func(params requestreply.PubSubBackendPublishParams) (string, error) {
			return ReplyStream(config.StreamPrefix, params.OperationID), nil
		},
		GenerateSubscribeTopic: func(params requestreply.PubSubBackendSubscribeParams) (string, error) {
			return ReplyStream(config.StreamPrefix, params.OperationID), nil
		},
		OnListenForReplyFinished: func(_ context.Context, params requestreply.PubSubBackendSubscribeParams) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			config.Client.Del(ctx, ReplyStream(config.StreamPrefix, params.OperationID))
		},
		Logger: config.Logger,
	}, requestreply.BackendPubsubJSONMarshaler[Result]{})
	if err != nil {
		return nil, fmt.Errorf("error creating request/reply backend: %w", err)
	}

	return backend, nil
}

// expiringPublisher sets a time to live on every stream it writes to.
type expiringPublisher struct {
	message.Publisher
	client redis.UniversalClient
}

func (p expiringPublisher) Publish(topic string, msgs ...*message.Message) error {
	if err := p.Publisher.Publish(topic, msgs...); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	if err := p.client.Expire(ctx, topic, replyStreamTTL).Err(); err != nil {
		return fmt.Errorf("error setting the time to live of reply stream %q: %w", topic, err)
	}

	return nil
}

// NewReplyingHandler returns a command handler that sends handle's result
// to the caller waiting on the request/reply backend. When handle fails,
// nothing is sent and the error goes back to the router, so the command is
// retried and redelivered; handle must therefore be idempotent.
func NewReplyingHandler[Command, Result any](
	name string,
	backend requestreply.Backend[Result],
	handle func(ctx context.Context, cmd *Command) (Result, error),
) cqrs.CommandHandler {
	return cqrs.NewCommandHandler(name, func(ctx context.Context, cmd *Command) error {
		result, err := handle(ctx, cmd)
		if err != nil {
			return err
		}

		original := cqrs.OriginalMessageFromCtx(ctx)
		if original == nil || original.Metadata.Get(requestreply.OperationIDMetadataKey) == "" {
			// Sent without waiting for a reply.
			return nil
		}

		return backend.OnCommandProcessed(ctx, requestreply.BackendOnCommandProcessedParams[Result]{
			Command:        cmd,
			CommandMessage: original,
			HandlerResult:  result,
		})
	})
}
