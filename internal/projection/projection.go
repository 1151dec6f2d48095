// Package projection runs projectors: Watermill handlers that read the event
// log in order, each on its own consumer group, and write their read table
// with the transaction that moves their offset, so a table advances exactly
// once per record even when a process is killed mid-batch.
//
// Each projector is active in one process at a time: the process that holds
// the projector's PostgreSQL advisory lock (see LockedSubscriber). Other
// worker processes wait as standbys and take over within seconds when the
// holder's connection ends.
package projection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/deadletter"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/telemetry"
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

// Poller is implemented by projectors that read the log at another
// interval than the subscriber's default of 25 ms (see
// eventlog.SubscriberConfig.PollInterval).
type Poller interface {
	PollInterval() time.Duration
}

// Activator is implemented by projectors that keep state in memory. Activate
// runs each time the process becomes the projector's active instance, before
// the first record is delivered, so the projector can rebuild that state
// from the database.
type Activator interface {
	Activate(ctx context.Context) error
}

// Gatherer is implemented by projectors that write the records of a batch
// together, because one statement for the whole batch costs less than one
// for each record. The live subscriber and a replay both hand each record
// to the Gathering of its transaction, and flush it before the offset
// moves past the batch. Apply remains for single records.
type Gatherer interface {
	// Gather returns an empty Gathering for the records of one
	// transaction.
	Gather() Gathering
}

// Gathering holds the records of one transaction that a Gatherer has not
// written yet.
type Gathering interface {
	// Add takes the event of a record. It sends no statement. A record
	// added again, as when it is retried, replaces what it added before.
	Add(event events.Event, meta Meta) error
	// Flush writes the records added since the last Flush with tx, with
	// the same effect as applying each of them in turn.
	Flush(ctx context.Context, tx pgx.Tx) error
}

// flushTimeout bounds the Flush at the end of a live batch.
const flushTimeout = time.Minute

// gatherBatchBytes bounds the stored payloads of a Gatherer's live batch,
// a quarter of eventlog.SubscribeBatchBytes. A Gathering keeps its batch's
// events until the batch ends, and with the default bound the worker's peak
// RSS rose from 190 to 276 MiB while it caught up on batches of 500 events.
// Records of about 40 grouped single events, about 20 KiB of text before
// compression, still come dozens at a time.
const gatherBatchBytes = eventlog.SubscribeBatchBytes / 4

// Meta describes the record an event was read from.
type Meta struct {
	// RecordID is the log record's uuid.
	RecordID string
	// Position is the record's place in log order.
	Position eventlog.Position
	events.Envelope
}

// Register adds projector to router as a handler reading the log while this
// process holds the projector's lock.
func Register(
	router *message.Router,
	pool *pgxpool.Pool,
	projector Projector,
	logger *slog.Logger,
	watermillLogger watermill.LoggerAdapter,
	options ...Option,
) error {
	handler := &handler{
		projector: projector,
		pool:      pool,
		logger:    logger.With(slog.String("projector", projector.Name())),
	}
	for _, option := range options {
		option(handler)
	}

	config := eventlog.SubscriberConfig{
		ConsumerGroup: projector.Name(),
		OmitPayloadOf: skippedNames(projector),
		SkipOmitted:   true,
	}
	if poller, ok := projector.(Poller); ok {
		config.PollInterval = poller.PollInterval()
	}
	if handler.decoded != nil {
		config.HeldRecords = handler.decoded.Held
	}
	if handler.waker != nil && !projector.Handles(events.EventsIngestedName) {
		config.Wake = handler.waker.Channel(handledNames(projector))
	}
	if _, ok := projector.(Gatherer); ok {
		config.BeforeAck = handler.flush
		config.BatchBytes = gatherBatchBytes
	}

	subscriber, err := eventlog.NewSubscriber(pool, config, watermillLogger)
	if err != nil {
		return err
	}

	lockConfig := LockConfig{
		Name:       projector.Name(),
		ConnConfig: pool.Config().ConnConfig,
		Logger:     logger,
	}
	if activator, ok := projector.(Activator); ok {
		lockConfig.OnAcquire = activator.Activate
	}

	locked, err := NewLockedSubscriber(subscriber, lockConfig)
	if err != nil {
		return err
	}

	router.AddConsumerHandler(projector.Name(), eventlog.Topic, locked, handler.handle)

	return nil
}

type handler struct {
	projector Projector
	pool      *pgxpool.Pool
	logger    *slog.Logger
	metrics   *telemetry.Metrics
	decoded   *Decoded
	waker     *eventlog.Waker

	// mu guards the fields below. The subscriber delivers one record at a
	// time, but a subscription that ends as the next starts, as when the
	// projector's lock is lost and taken again, can overlap with it.
	mu sync.Mutex
	// tx is the transaction of the last record. Holding it keeps a new
	// transaction from reusing its address.
	tx pgx.Tx
	// savepointOpen reports that the last record's savepoint in tx is open.
	savepointOpen bool
	// advanced reports that projection_status was written in tx.
	advanced bool
	// gatherings holds the records a Gatherer has not written yet, by
	// transaction. Two subscriptions that overlap have a transaction each.
	gatherings map[pgx.Tx]Gathering
	// applyThrough is the last record of a batch whose Gathering failed to
	// write. The records up to it are applied one at a time when they are
	// read again, so a record that cannot be written becomes a dead letter
	// instead of failing its batch each time.
	applyThrough eventlog.Position
}

// Option adjusts a projector's handler.
type Option func(*handler)

// WithMetrics observes how long each applied record takes.
func WithMetrics(metrics *telemetry.Metrics) Option {
	return func(h *handler) { h.metrics = metrics }
}

// WithWaker lets a projector that skips EventsIngested records wait for
// waker's announcement of a record it handles, polling the log every
// 250 ms in between, instead of polling every 25 ms. Under load the log
// grows by hundreds of EventsIngested records a second, and each of its
// polls reads and skips them in a transaction of its own.
func WithWaker(waker *eventlog.Waker) Option {
	return func(h *handler) { h.waker = waker }
}

// WithDecoded shares decoded records with the other projectors given the
// same Decoded.
func WithDecoded(decoded *Decoded) Option {
	return func(h *handler) { h.decoded = decoded }
}

// handle applies one record inside a savepoint of the subscriber's
// transaction. A failed record rolls back to the savepoint, so its retry
// starts clean and the records before it in the batch still commit.
// projection_status is written once per batch, with the first record
// applied, and commits with the batch's offset.
//
// A record that cannot be applied for a reason other than an unavailable
// dependency is skipped. It is stored as a dead letter in the transaction
// that moves the offset and logged as an Error. The records behind it still
// reach the projection, and /readyz counts the skipped one. A record
// of an event or version this build does not know is retried instead,
// because a newer build can apply it.
func (h *handler) handle(msg *message.Message) error {
	name := msg.Metadata.Get(events.MetaName)
	if !h.projector.Handles(name) {
		return nil
	}

	h.mu.Lock()
	defer h.mu.Unlock()

	ctx := msg.Context()
	start := time.Now()

	tx, err := eventlog.TxFromContext(ctx)
	if err != nil {
		return deadletter.RetryLater(err)
	}

	event, err := h.decode(ctx, tx, msg)
	if errors.Is(err, errPayloadUnread) {
		return deadletter.RetryLater(err)
	}
	if errors.Is(err, events.ErrUnknownEvent) {
		h.logger.ErrorContext(ctx, "projection: record of an unknown event; a newer build must apply it",
			slog.String("record_id", msg.UUID), slog.String("event", name), slog.Any("error", err))
		return deadletter.RetryLater(err)
	}
	if err != nil {
		return h.skip(ctx, tx, msg, err)
	}

	position, ok := eventlog.PositionOf(msg)
	if !ok {
		return fmt.Errorf("record %q carries no log position", msg.UUID)
	}

	meta := Meta{RecordID: msg.UUID, Position: position, Envelope: events.EnvelopeOf(msg)}
	ctx = logging.WithCorrelationID(ctx, meta.CorrelationID)
	if tx != h.tx {
		h.forgetGatherings(h.tx)
		h.tx, h.savepointOpen, h.advanced = tx, false, false
	}
	record := newRecordTx(tx, h.savepointOpen)

	err = h.apply(ctx, record, event, meta, position)
	if record.opened {
		h.savepointOpen = true
	}
	if err == nil {
		h.advanced = true
	} else {
		recordFailure(h.pool, h.projector.Name(), err, h.logger)
		if rollbackErr := h.rollBack(ctx, record); rollbackErr != nil {
			return deadletter.RetryLater(fmt.Errorf("error applying record %q to %q: %w",
				msg.UUID, h.projector.Name(), errors.Join(err, rollbackErr)))
		}
	}
	if err != nil && (deadletter.IsTransient(err) || ctx.Err() != nil) {
		return deadletter.RetryLater(fmt.Errorf("error applying record %q to %q: %w", msg.UUID, h.projector.Name(), err))
	}
	if err != nil {
		return h.skip(ctx, tx, msg, err)
	}

	h.metrics.ObserveProjection(h.projector.Name(), start)
	// This runs for each record that each projector applies, so the Debug
	// line is built only when Debug is on.
	if h.logger.Enabled(ctx, slog.LevelDebug) {
		h.logger.LogAttrs(ctx, slog.LevelDebug, "projection: record applied",
			slog.String("record_id", msg.UUID), slog.String("event", name),
			slog.Duration("duration", time.Since(start)))
	}

	return nil
}

// apply writes projection_status for the first record of a batch, then
// applies event with record, or adds it to the Gathering of the record's
// transaction when the projector is a Gatherer. A record is added last, so
// a record that fails adds nothing.
func (h *handler) apply(ctx context.Context, record *recordTx, event events.Event, meta Meta, position eventlog.Position) error {
	if err := h.advance(ctx, record); err != nil {
		return err
	}

	gatherer, ok := h.projector.(Gatherer)
	if !ok || !h.applyThrough.Less(position) {
		return h.projector.Apply(ctx, record, event, meta)
	}

	if h.gatherings == nil {
		h.gatherings = map[pgx.Tx]Gathering{}
	}

	gathering, ok := h.gatherings[record.Tx]
	if !ok {
		gathering = gatherer.Gather()
		h.gatherings[record.Tx] = gathering
	}

	return gathering.Add(event, meta)
}

// advance writes projection_status unless the batch did.
func (h *handler) advance(ctx context.Context, record *recordTx) error {
	if h.advanced {
		return nil
	}

	return recordAdvanced(ctx, record, h.projector.Name())
}

// forgetGatherings drops the Gatherings of transactions other than keep
// and the current one. They belong to batches that rolled back, whose
// records are read and added again.
func (h *handler) forgetGatherings(keep pgx.Tx) {
	for tx := range h.gatherings {
		if tx != keep && tx != h.tx {
			delete(h.gatherings, tx)
		}
	}
}

// flush writes the Gathering of tx at the end of its batch, whose last
// record is at last. The subscriber calls it before it moves the offset
// past the batch, in the batch's transaction. When it fails, the batch
// rolls back and is read again, and its records are then applied one at a
// time.
func (h *handler) flush(tx pgx.Tx, last eventlog.Position) error {
	h.mu.Lock()
	defer h.mu.Unlock()

	gathering, ok := h.gatherings[tx]
	if !ok {
		return nil
	}
	delete(h.gatherings, tx)

	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()

	if err := gathering.Flush(ctx, tx); err != nil {
		recordFailure(h.pool, h.projector.Name(), err, h.logger)
		h.applyThrough = last
		h.logger.Warn("projection: error writing a batch; its records are applied one at a time when read again",
			slog.Uint64("last_transaction_id", last.TransactionID), slog.Int64("last_offset", last.Offset),
			slog.Any("error", err))

		return fmt.Errorf("error writing the batch of %q: %w", h.projector.Name(), err)
	}

	return nil
}

// errPayloadUnread marks a failed read of an omitted payload, which is
// retried rather than skipped.
var errPayloadUnread = errors.New("payload of an omitted record not read")

// decode returns the event of msg. The subscriber delivers a record
// without its payload when h.decoded held it as the batch was read. If the
// record has left h.decoded since, its payload is read from the log in tx.
func (h *handler) decode(ctx context.Context, tx pgx.Tx, msg *message.Message) (events.Event, error) {
	if omitted(msg) {
		if event, ok := h.decoded.Lookup(msg.UUID); ok {
			return event, nil
		}

		if err := restorePayload(ctx, tx, msg); err != nil {
			return nil, fmt.Errorf("%w: %w", errPayloadUnread, err)
		}
	}

	return h.decoded.Decode(msg)
}

// omitted reports whether the subscriber delivered msg without its payload.
func omitted(msg *message.Message) bool {
	return len(msg.Payload) == 0 && msg.Metadata.Get(eventlog.MetaPayloadOmitted) != ""
}

// restorePayload reads the stored payload of msg, delivered without it,
// from the log in tx.
func restorePayload(ctx context.Context, tx pgx.Tx, msg *message.Message) error {
	payload, err := eventlog.ReadPayload(ctx, tx, msg)
	if err != nil {
		return err
	}

	msg.Payload = payload
	delete(msg.Metadata, eventlog.MetaPayloadOmitted)

	return nil
}

// rollBack undoes what record wrote, back to its savepoint. A record that
// sent no statement wrote nothing.
func (h *handler) rollBack(ctx context.Context, record *recordTx) error {
	var err error
	switch {
	case record.opened:
		_, err = record.Tx.Exec(ctx, rollbackToStatement)
	case record.failedOpening:
		err = errors.New("the record's savepoint was not opened")
	}
	if err != nil {
		// NOTE: the transaction is unusable now, so each retry of the
		// record fails until the subscriber's transaction ends, as when
		// its connection closes.
		h.tx = nil
	}

	return err
}

// skip records msg as a dead letter of the projector with tx, so the letter
// commits together with the offset that moves past the record.
func (h *handler) skip(ctx context.Context, tx pgx.Tx, msg *message.Message, cause error) error {
	// The letter keeps the record as stored, so a record delivered without
	// its payload gets it from the log first.
	if omitted(msg) {
		if err := restorePayload(ctx, tx, msg); err != nil {
			return deadletter.RetryLater(err)
		}
	}

	_, err := deadletter.Insert(ctx, tx, deadletter.Letter{
		MessageUUID: msg.UUID,
		Topic:       eventlog.Topic,
		Handler:     h.projector.Name(),
		Reason:      cause.Error(),
		Payload:     msg.Payload,
		Metadata:    msg.Metadata,
	})
	if err != nil {
		return deadletter.RetryLater(err)
	}

	h.logger.ErrorContext(ctx, "projection: record skipped and stored as a dead letter",
		slog.String("record_id", msg.UUID), slog.String("event", msg.Metadata.Get(events.MetaName)),
		slog.Any("error", cause))

	return nil
}
