// Package detector is the projector that finds anomalies: it feeds rule
// events and ingested events to the window engine of internal/detect in log
// order and appends each AnomalyDetected to the log in the transaction that
// moves its offset, so an anomaly is recorded exactly once.
//
// Its windows live in memory. Whenever they may not match the log up to the
// record being applied (at start, after a failed record, or when the
// subscriber delivers a record again after a rolled-back batch), the
// projector rebuilds them from the log without emitting anything; see
// rebuild.go.
package detector

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/detect"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/projection"
)

// Name is the projector's consumer group. Renaming it creates a fresh
// group, which runs the detector over the whole log again and appends every
// anomaly a second time (with the same ids).
const Name = "detector"

// Actor is the actor of the records the detector appends.
const Actor = "detector"

// Projector is the detector. Create it with New; it keeps state between
// records.
type Projector struct {
	config detect.Config
	logger *slog.Logger

	mu     sync.Mutex
	engine *detect.Engine
	// applied is the position of the last record applied to engine; valid
	// is false when engine must be rebuilt before the next record.
	applied eventlog.Position
	valid   bool
}

var _ projection.Projector = (*Projector)(nil)

// New returns a detector whose windows are built on the first record.
func New(config detect.Config, logger *slog.Logger) *Projector {
	if logger == nil {
		panic("detector: New needs a logger")
	}

	return &Projector{config: config, logger: logger.With(slog.String("projector", Name))}
}

// Name implements projection.Projector.
func (*Projector) Name() string { return Name }

// Handles implements projection.Projector.
func (*Projector) Handles(eventName string) bool {
	switch eventName {
	case events.EventsIngestedName, events.RuleCreatedName, events.RuleReplacedName,
		events.RulePatchedName, events.RuleDeletedName:
		return true
	default:
		return false
	}
}

// Apply implements projection.Projector.
func (p *Projector) Apply(ctx context.Context, tx pgx.Tx, event events.Event, meta projection.Meta) error {
	p.mu.Lock()
	defer p.mu.Unlock()

	if !p.valid || !p.applied.Less(meta.Position) {
		engine, err := rebuild(ctx, tx, p.config, meta.Position)
		if err != nil {
			return err
		}

		p.logger.DebugContext(ctx, "detector: windows rebuilt from the log",
			slog.Uint64("before_transaction_id", meta.Position.TransactionID),
			slog.Int64("before_offset", meta.Position.Offset),
			slog.Int64("num_events", engine.Stats().Events))
		p.engine = engine
	}

	// The engine changes before the append can fail; until this record is
	// applied in full, the state counts as unknown.
	p.valid = false
	if err := p.apply(ctx, tx, event, meta); err != nil {
		return err
	}

	p.applied = meta.Position
	p.valid = true

	return nil
}

func (p *Projector) apply(ctx context.Context, tx pgx.Tx, event events.Event, meta projection.Meta) error {
	if applyRuleEvent(p.engine, event) {
		return nil
	}

	ingested, ok := event.(events.EventsIngested)
	if !ok {
		return fmt.Errorf("detector: unexpected event %T", event)
	}

	late := p.engine.Stats().Late
	var msgs []*message.Message
	for i := range ingested.Events {
		for _, anomaly := range p.engine.Observe(&ingested.Events[i]) {
			msg, err := events.NewMessage(anomaly, events.Envelope{
				CorrelationID: meta.CorrelationID,
				CausationID:   meta.RecordID,
				Actor:         Actor,
				RecordedAt:    meta.RecordedAt,
			})
			if err != nil {
				return err
			}

			msgs = append(msgs, msg)
		}
	}

	numLate := p.engine.Stats().Late - late
	if len(msgs) == 0 && numLate == 0 {
		return nil
	}

	if len(msgs) > 0 {
		if err := eventlog.Append(ctx, tx, msgs...); err != nil {
			return err
		}
	}

	p.logger.InfoContext(ctx, "detector: record evaluated",
		slog.String("record_id", meta.RecordID),
		slog.Int("num_events", len(ingested.Events)),
		slog.Int("num_anomalies", len(msgs)),
		slog.Int64("num_late", numLate))

	return nil
}

// applyRuleEvent applies a rule event to engine and reports whether event
// was one.
func applyRuleEvent(engine *detect.Engine, event events.Event) bool {
	switch e := event.(type) {
	case events.RuleCreated:
		engine.SetRule(e.RuleID, e.Version, e.Spec)
	case events.RuleReplaced:
		engine.SetRule(e.RuleID, e.Version, e.Spec)
	case events.RulePatched:
		engine.SetRule(e.RuleID, e.Version, e.Spec)
	case events.RuleDeleted:
		engine.DeleteRule(e.RuleID, e.Version)
	default:
		return false
	}

	return true
}
