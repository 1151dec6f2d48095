// Package bus wires Watermill's CQRS command bus and command processor onto
// Redis Streams.
package bus

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"

	"github.com/eventpulse/eventpulse/internal/deadletter"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/telemetry"
)

// Defaults of Config.
const (
	StreamPrefixDefault = "eventpulse"
	// ClaimIdleDefault is how long a command may stay pending with a consumer
	// before another consumer of the group claims it. Only commands of a
	// consumer without a fresh heartbeat are claimed (see claimPolicy), so
	// the value bounds how long the commands of a stopped worker wait, not
	// how long a live worker may take.
	ClaimIdleDefault = 10 * time.Second
	// MaxDeliveriesDefault is how often a command may be delivered without
	// being acknowledged before it goes to the dead-letter store.
	MaxDeliveriesDefault = 5
)

// Config configures the command bus.
type Config struct {
	// Client is the Redis client; required.
	Client redis.UniversalClient
	// StreamPrefix starts every stream name, so several installations can
	// share one Redis. Default: StreamPrefixDefault.
	StreamPrefix string
	// Consumer names this process in the consumer groups; required for the
	// processor.
	Consumer string
	// ClaimIdle: see ClaimIdleDefault.
	ClaimIdle time.Duration
	// MaxDeliveries: see MaxDeliveriesDefault.
	MaxDeliveries int64
	// DeadLetter stores a command delivered MaxDeliveries times; required
	// for the processor.
	DeadLetter func(context.Context, deadletter.Letter) error
	// Logger receives Watermill's own logs.
	Logger watermill.LoggerAdapter
	// Metrics observes command handling; nil records nothing.
	Metrics *telemetry.Metrics
	// SlogLogger receives the bus's own logs. Default: discard.
	SlogLogger *slog.Logger
	// Lanes maps a handler name to how many of its commands this process
	// handles at once, each lane being one consumer of the handler's group
	// (see LaneConsumer). Handlers not named have one lane.
	Lanes map[string]int
}

func (c Config) withDefaults() Config {
	c.StreamPrefix = cmp.Or(c.StreamPrefix, StreamPrefixDefault)
	c.ClaimIdle = cmp.Or(c.ClaimIdle, ClaimIdleDefault)
	c.MaxDeliveries = cmp.Or(c.MaxDeliveries, MaxDeliveriesDefault)
	if c.SlogLogger == nil {
		c.SlogLogger = slog.New(slog.DiscardHandler)
	}
	if c.Logger == nil {
		c.Logger = watermill.NopLogger{}
	}

	return c
}

// CommandStream returns the Redis stream that carries commands named name.
func CommandStream(prefix, name string) string {
	return prefix + ".commands." + name
}

// NewCommandBus returns a bus whose Send returns once Redis has stored the
// command (XADD acknowledged).
func NewCommandBus(config Config) (*cqrs.CommandBus, error) {
	config = config.withDefaults()

	publisher, err := redisstream.NewPublisher(redisstream.PublisherConfig{
		Client:     borrowedClient{config.Client},
		Marshaller: redisstream.DefaultMarshallerUnmarshaller{},
	}, config.Logger)
	if err != nil {
		return nil, fmt.Errorf("error creating Redis stream publisher: %w", err)
	}

	bus, err := cqrs.NewCommandBusWithConfig(publisher, cqrs.CommandBusConfig{
		GeneratePublishTopic: func(params cqrs.CommandBusGeneratePublishTopicParams) (string, error) {
			return CommandStream(config.StreamPrefix, params.CommandName), nil
		},
		Marshaler: Marshaler,
		Logger:    config.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("error creating command bus: %w", err)
	}

	return bus, nil
}

// NewCommandProcessor returns a processor that adds one router handler per
// command handler, each reading its stream in a consumer group named after
// the handler.
func NewCommandProcessor(router *message.Router, config Config) (*cqrs.CommandProcessor, error) {
	config = config.withDefaults()
	if config.Consumer == "" || config.DeadLetter == nil {
		return nil, fmt.Errorf("error creating command processor: Consumer and DeadLetter are required")
	}

	processor, err := cqrs.NewCommandProcessorWithConfig(router, cqrs.CommandProcessorConfig{
		GenerateSubscribeTopic: func(params cqrs.CommandProcessorGenerateSubscribeTopicParams) (string, error) {
			return CommandStream(config.StreamPrefix, params.CommandName), nil
		},
		SubscriberConstructor: func(params cqrs.CommandProcessorSubscriberConstructorParams) (message.Subscriber, error) {
			stream := CommandStream(config.StreamPrefix, params.CommandName)
			unacked := newUnackedEntries()

			return newLanes(config.Lanes[params.HandlerName], func(lane int) (message.Subscriber, error) {
				return newStreamSubscriber(config, stream, params.HandlerName, LaneConsumer(config.Consumer, lane), unacked)
			})
		},
		OnHandle: func(params cqrs.CommandProcessorOnHandleParams) error {
			start := time.Now()
			ctx := params.Message.Context()
			if correlated, ok := params.Command.(interface{ Correlation() string }); ok {
				ctx = logging.WithCorrelationID(ctx, correlated.Correlation())
			}

			err := params.Handler.Handle(ctx, params.Command)
			config.Metrics.ObserveCommand(params.Handler.HandlerName(), start, err)

			return err
		},
		Marshaler: Marshaler,
		Logger:    config.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("error creating command processor: %w", err)
	}

	return processor, nil
}

// newStreamSubscriber returns a subscriber reading stream as consumer of
// group. The subscribers of every lane of stream share unacked.
func newStreamSubscriber(config Config, stream, group, consumer string, unacked *unackedEntries) (message.Subscriber, error) {
	policy := &claimPolicy{
		client:        config.Client,
		prefix:        config.StreamPrefix,
		worker:        config.Consumer,
		unacked:       unacked,
		stream:        stream,
		group:         group,
		maxDeliveries: config.MaxDeliveries,
		deadLetter:    config.DeadLetter,
		logger:        config.SlogLogger,
	}

	return redisstream.NewSubscriber(redisstream.SubscriberConfig{
		Client: trackingClient{UniversalClient: borrowedClient{config.Client}, unacked: unacked, logger: config.SlogLogger,
			ahead: &readAhead{}},
		Unmarshaller:              tolerantUnmarshaller{},
		ConsumerGroup:             group,
		Consumer:                  consumer,
		BlockTime:                 time.Second,
		ClaimInterval:             config.ClaimIdle / 3,
		MaxIdleTime:               config.ClaimIdle,
		ShouldClaimPendingMessage: policy.shouldClaim,
		NackResendSleep:           time.Second,
		OldestId:                  "0",
		// A blocking first read cannot be cancelled, which would hold up
		// shutdown.
		DisableIndefiniteInitialBlock: true,
	}, config.Logger)
}

// Ping checks that Redis answers.
func Ping(ctx context.Context, client redis.UniversalClient) error {
	return client.Ping(ctx).Err()
}
