package app

import (
	"context"
	"sync"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/ingest"
	"github.com/eventpulse/eventpulse/internal/telemetry"
)

// actorBatchers keeps one ingest.Batcher per actor, because a command
// carries a single actor: events of different API keys never share one.
type actorBatchers struct {
	config     ingest.BatcherConfig
	commandBus *cqrs.CommandBus
	metrics    *telemetry.Metrics

	mu       sync.Mutex
	closed   bool
	batchers map[string]*ingest.Batcher
}

func newActorBatchers(config ingest.BatcherConfig, commandBus *cqrs.CommandBus, metrics *telemetry.Metrics) *actorBatchers {
	return &actorBatchers{config: config, commandBus: commandBus, metrics: metrics, batchers: map[string]*ingest.Batcher{}}
}

// Submit implements handlers.Submitter.
func (b *actorBatchers) Submit(ctx context.Context, batch []events.IngestedEvent) error {
	actor := auth.ActorFrom(ctx)

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ingest.ErrBatcherClosed
	}

	batcher, ok := b.batchers[actor]
	if !ok {
		batcher = ingest.NewBatcher(b.config, b.sender(actor))
		b.batchers[actor] = batcher
	}
	b.mu.Unlock()

	return batcher.Submit(ctx, batch)
}

func (b *actorBatchers) sender(actor string) ingest.SendFunc {
	return func(ctx context.Context, batch []events.IngestedEvent) error {
		id := uuid.NewString()
		err := b.commandBus.Send(ctx, &commands.IngestEvents{
			CommandID:     id,
			CorrelationID: sharedCorrelationID(batch, id),
			Actor:         actor,
			Events:        batch,
		})
		if err == nil {
			b.metrics.ObserveIngestCommand(len(batch))
		}

		return err
	}
}

// Close sends what is queued and stops every batcher.
func (b *actorBatchers) Close() {
	b.mu.Lock()
	b.closed = true
	batchers := b.batchers
	b.mu.Unlock()

	for _, batcher := range batchers {
		batcher.Close()
	}
}

// sharedCorrelationID returns the correlation id of the request behind
// batch when one request carried every event, and fallback otherwise.
func sharedCorrelationID(batch []events.IngestedEvent, fallback string) string {
	shared := batch[0].CorrelationID
	for _, event := range batch[1:] {
		if event.CorrelationID != shared {
			return fallback
		}
	}

	if shared == "" {
		return fallback
	}

	return shared
}
