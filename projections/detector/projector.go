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
//
// Every anomaly it finds is also written to the detections table, with the
// record that caused it. That table is what a replay of the detector
// rebuilds: the replay runs a fresh detector over the log, writes its
// findings to a copy of the table and appends nothing, so it never notifies.
// The swap leaves the live detector's offset alone (see KeepsOffset), so the
// live detector still appends the anomalies of every record it has not
// applied. A replayed table equal to the live one shows that detection is a
// function of the log.
package detector

import (
	"cmp"
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
	"github.com/eventpulse/eventpulse/internal/telemetry"
)

// Name is the projector's consumer group. Renaming it creates a fresh
// group, which runs the detector over the whole log again and appends every
// anomaly a second time (with the same ids).
const Name = "detector"

// Actor is the actor of the records the detector appends.
const Actor = "detector"

// Table is the detector's read table.
const Table = "detections"

// Projector is the detector. Create it with New; it keeps state between
// records.
type Projector struct {
	// Metrics, when set, counts the events the live detector skips as late.
	Metrics *telemetry.Metrics

	config detect.Config
	logger *slog.Logger
	// table is the quoted name of the detections table written.
	table string

	mu     sync.Mutex
	engine *detect.Engine
	// applied is the position of the last record applied to engine; valid
	// is false when engine must be rebuilt before the next record.
	applied eventlog.Position
	valid   bool
}

var _ projection.Rebuildable = (*Projector)(nil)

// New returns a detector whose windows are built on the first record.
func New(config detect.Config, logger *slog.Logger) *Projector {
	if logger == nil {
		panic("detector: New needs a logger")
	}

	return &Projector{
		config: config,
		logger: logger.With(slog.String("projector", Name)),
		table:  pgx.Identifier{Table}.Sanitize(),
	}
}

// Tables implements projection.Rebuildable.
func (*Projector) Tables() []string { return []string{Table} }

// KeepsOffset implements projection.OffsetKeeper: only the live detector
// appends anomalies, so it must apply every record after its own offset.
func (*Projector) KeepsOffset() bool { return true }

// WithTables implements projection.Rebuildable: the copy is a fresh
// detector that writes its findings to tables[Table].
func (p *Projector) WithTables(tables map[string]string) projection.Projector {
	copied := New(p.config, p.logger)
	copied.table = pgx.Identifier{tables[Table]}.Sanitize()

	return copied
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
		engine, err := rebuild(ctx, tx, p.config, p.table, meta.Position)
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
	var found []finding
	for i := range ingested.Events {
		event := &ingested.Events[i]
		for _, anomaly := range p.engine.Observe(event) {
			found = append(found, finding{AnomalyDetected: anomaly, correlationID: event.CorrelationID})
		}
	}

	numLate := p.engine.Stats().Late - late
	if len(found) == 0 && numLate == 0 {
		return nil
	}

	if !projection.IsReplay(ctx) {
		p.Metrics.CountLate(numLate)
	}

	if err := p.record(ctx, tx, found, meta); err != nil {
		return err
	}

	// A replay logs each record at Debug: it reads the whole log, and its
	// findings are in the log already.
	level := slog.LevelInfo
	if projection.IsReplay(ctx) {
		level = slog.LevelDebug
	}

	p.logger.Log(ctx, level, "detector: record evaluated",
		slog.String("record_id", meta.RecordID),
		slog.Int("num_events", len(ingested.Events)),
		slog.Int("num_anomalies", len(found)),
		slog.Int64("num_late", numLate))

	return nil
}

// finding is an anomaly with the correlation id of the event that made
// the rule fire.
type finding struct {
	events.AnomalyDetected
	correlationID string
}

// record writes found to the detections table and, outside a replay,
// appends them to the log as AnomalyDetected records caused by the record
// of meta. Each record carries the correlation id of its triggering event,
// which differs from the record's when the API grouped events of several
// requests into one command.
func (p *Projector) record(ctx context.Context, tx pgx.Tx, found []finding, meta projection.Meta) error {
	if len(found) == 0 {
		return nil
	}

	if err := insertDetections(ctx, tx, p.table, found, meta.RecordID); err != nil {
		return err
	}

	if projection.IsReplay(ctx) {
		return nil
	}

	msgs := make([]*message.Message, 0, len(found))
	for _, anomaly := range found {
		msg, err := events.NewMessage(anomaly.AnomalyDetected, events.Envelope{
			CorrelationID: cmp.Or(anomaly.correlationID, meta.CorrelationID),
			CausationID:   meta.RecordID,
			Actor:         Actor,
			RecordedAt:    meta.RecordedAt,
		})
		if err != nil {
			return err
		}

		msgs = append(msgs, msg)
	}

	return eventlog.Append(ctx, tx, msgs...)
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
