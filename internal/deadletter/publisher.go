package deadletter

import (
	"context"
	"log/slog"
	"maps"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Topic is the topic the poison queue middleware publishes to. The
// Publisher stores every message published to it, whatever the topic.
const Topic = "dead_letters"

// publishTimeout bounds the insert of one batch of letters.
const publishTimeout = 10 * time.Second

// Publisher is a message.Publisher for Watermill's poison queue middleware
// that stores each message as a dead letter, taking the reason, the topic
// and the handler from the metadata that the middleware sets.
type Publisher struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher writing to pool that logs each letter
// it stores with logger.
func NewPublisher(pool *pgxpool.Pool, logger *slog.Logger) *Publisher {
	if pool == nil || logger == nil {
		panic("deadletter: NewPublisher needs a pool and a logger")
	}

	return &Publisher{pool: pool, logger: logger}
}

// Publish stores msgs. An error means none or only some were stored, so
// the caller must not acknowledge the originals.
func (p *Publisher) Publish(_ string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(msg.Context()), publishTimeout)
		letter := FromPoisoned(msg)
		added, err := Insert(ctx, p.pool, letter)
		cancel()

		if err != nil {
			return err
		}
		if added {
			LogStored(ctx, p.logger, letter)
		}
	}

	return nil
}

// Close implements message.Publisher.
func (p *Publisher) Close() error { return nil }

// poisonKeys are the metadata keys the poison queue middleware adds; they
// become columns of the letter rather than part of its metadata.
var poisonKeys = []string{
	middleware.ReasonForPoisonedKey,
	middleware.PoisonedTopicKey,
	middleware.PoisonedHandlerKey,
	middleware.PoisonedSubscriberKey,
}

// FromPoisoned turns a message marked by the poison queue middleware into
// a letter.
func FromPoisoned(msg *message.Message) Letter {
	metadata := maps.Clone(map[string]string(msg.Metadata))
	for _, key := range poisonKeys {
		delete(metadata, key)
	}

	return Letter{
		MessageUUID: msg.UUID,
		Topic:       msg.Metadata.Get(middleware.PoisonedTopicKey),
		Handler:     msg.Metadata.Get(middleware.PoisonedHandlerKey),
		Reason:      msg.Metadata.Get(middleware.ReasonForPoisonedKey),
		Payload:     msg.Payload,
		Metadata:    metadata,
	}
}

// LogStored logs letter, just stored, as an Error: the message it holds is
// acknowledged and is not handled again unless it is requeued.
func LogStored(ctx context.Context, logger *slog.Logger, letter Letter) {
	logger.ErrorContext(ctx, "dead letter: message stored and acknowledged; requeue it after fixing the cause",
		slog.String("message_uuid", letter.MessageUUID), slog.String("topic", letter.Topic),
		slog.String("handler", letter.Handler), slog.Int("deliveries", letter.Deliveries),
		slog.String("reason", letter.Reason))
}
