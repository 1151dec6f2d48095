// Package projection runs projectors: Watermill handlers that read the event
// log in order, each on its own consumer group, and write their read table
// with the transaction that moves their offset, so a table advances exactly
// once per record even when a process is killed mid-batch.
package projection

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/logging"
)

// Projector applies log records to one read model.
type Projector interface {
	// Name is the projector's consumer group. Renaming it creates a fresh
	// group, which replays the whole log into the projection.
	Name() string
	// Handles reports whether records of the named event matter to the
	// projector; the others are skipped without being decoded.
	Handles(eventName string) bool
	// Apply writes the effect of event with tx. It must be idempotent,
	// because a replay applies records again.
	Apply(ctx context.Context, tx pgx.Tx, event events.Event, meta Meta) error
}

// Meta describes the record an event was read from.
type Meta struct {
	// RecordID is the log record's uuid.
	RecordID string
	events.Envelope
}

// Register adds projector to router as a handler reading the log.
func Register(
	router *message.Router,
	pool *pgxpool.Pool,
	projector Projector,
	logger *slog.Logger,
	watermillLogger watermill.LoggerAdapter,
) error {
	subscriber, err := eventlog.NewSubscriber(pool, eventlog.SubscriberConfig{
		ConsumerGroup: projector.Name(),
	}, watermillLogger)
	if err != nil {
		return err
	}

	handler := &handler{
		projector: projector,
		pool:      pool,
		logger:    logger.With(slog.String("projector", projector.Name())),
	}
	router.AddConsumerHandler(projector.Name(), eventlog.Topic, subscriber, handler.handle)

	return nil
}

type handler struct {
	projector Projector
	pool      *pgxpool.Pool
	logger    *slog.Logger
}

// handle applies one record inside a savepoint of the subscriber's
// transaction. A failed record rolls back to the savepoint, so its retry
// starts clean and the records before it in the batch still commit.
func (h *handler) handle(msg *message.Message) error {
	name := msg.Metadata.Get(events.MetaName)
	if !h.projector.Handles(name) {
		return nil
	}

	ctx := msg.Context()
	start := time.Now()

	tx, err := eventlog.TxFromContext(ctx)
	if err != nil {
		return err
	}

	event, err := events.Decode(msg)
	if err != nil {
		return err
	}

	meta := Meta{RecordID: msg.UUID, Envelope: events.EnvelopeOf(msg)}
	ctx = logging.WithCorrelationID(ctx, meta.CorrelationID)
	err = pgx.BeginFunc(ctx, tx, func(savepoint pgx.Tx) error {
		if err := h.projector.Apply(ctx, savepoint, event, meta); err != nil {
			return err
		}

		return recordAdvanced(ctx, savepoint, h.projector.Name())
	})
	if err != nil {
		recordFailure(h.pool, h.projector.Name(), err, h.logger)
		h.logger.ErrorContext(ctx, "projection: error applying record",
			slog.String("record_id", msg.UUID), slog.String("event", name), slog.Any("error", err))
		return fmt.Errorf("error applying record %q to %q: %w", msg.UUID, h.projector.Name(), err)
	}

	h.logger.DebugContext(ctx, "projection: record applied",
		slog.String("record_id", msg.UUID), slog.String("event", name),
		slog.Duration("duration", time.Since(start)))

	return nil
}
