package detect

import (
	"bytes"
	"cmp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/events"
)

// Defaults of Config.
const (
	// FutureToleranceDefault is how far a timestamp may be ahead of
	// received_at before the event is placed at received_at.
	FutureToleranceDefault = 5 * time.Minute
	// SampleSizeDefault is how many contributing event ids an anomaly
	// carries at most.
	SampleSizeDefault = 20
)

// Config configures an Engine.
type Config struct {
	// FutureTolerance is how far a timestamp may be ahead of received_at
	// and still be the event's time. Default: FutureToleranceDefault.
	FutureTolerance time.Duration
	// SampleSize bounds AnomalyDetected.SampleEventIDs.
	// Default: SampleSizeDefault.
	SampleSize int
}

// Stats counts what the engine saw.
type Stats struct {
	// Events is the number of events observed.
	Events int64
	// Late is the number of (rule, event) pairs skipped as late.
	Late int64
	// Anomalies is the number of anomalies returned by Observe.
	Anomalies int64
}

// Engine evaluates rules over events. It is not safe for concurrent use.
type Engine struct {
	config Config
	rules  map[uuid.UUID]*rule
	// order lists the rules by id, so anomalies of one event come out in a
	// stable order.
	order []*rule
	stats Stats
}

// NewEngine returns an engine with no rules.
func NewEngine(config Config) *Engine {
	config.FutureTolerance = cmp.Or(config.FutureTolerance, FutureToleranceDefault)
	config.SampleSize = cmp.Or(config.SampleSize, SampleSizeDefault)

	return &Engine{config: config, rules: map[uuid.UUID]*rule{}}
}

// SetRule creates or replaces a rule. A version at or below the current one
// is ignored; a new version starts with empty windows and no cooldown.
func (e *Engine) SetRule(id uuid.UUID, version int, spec events.RuleSpec) {
	if current, ok := e.rules[id]; ok && version <= current.version {
		return
	}

	e.rules[id] = newRule(id, version, spec)
	e.reorder()
}

// DeleteRule removes a rule unless it is already at a later version.
func (e *Engine) DeleteRule(id uuid.UUID, version int) {
	if current, ok := e.rules[id]; ok && version < current.version {
		return
	}

	delete(e.rules, id)
	e.reorder()
}

// Rule returns the version and spec of a rule, and whether it exists.
func (e *Engine) Rule(id uuid.UUID) (int, events.RuleSpec, bool) {
	r, ok := e.rules[id]
	if !ok {
		return 0, events.RuleSpec{}, false
	}

	return r.version, r.spec, true
}

// Stats returns the counters so far.
func (e *Engine) Stats() Stats { return e.stats }

func (e *Engine) reorder() {
	e.order = e.order[:0]
	for _, r := range e.rules {
		e.order = append(e.order, r)
	}

	slices.SortFunc(e.order, func(a, b *rule) int { return bytes.Compare(a.id[:], b.id[:]) })
}

// EventTime returns the time the engine places event at: its timestamp, or
// received_at when the timestamp is more than tolerance ahead of it.
func EventTime(event *events.IngestedEvent, tolerance time.Duration) time.Time {
	if event.Timestamp.Sub(event.ReceivedAt) > tolerance {
		return event.ReceivedAt
	}

	return event.Timestamp
}

// Observe applies one event to every enabled rule and returns the anomalies
// it raises, in rule id order.
func (e *Engine) Observe(event *events.IngestedEvent) []events.AnomalyDetected {
	return e.observe(event, true)
}

// Restore applies one event to the windows without evaluating any rule. It
// rebuilds the state an engine had, together with RecordFired.
func (e *Engine) Restore(event *events.IngestedEvent) {
	e.observe(event, false)
}

// RecordFired restores the cooldown of an anomaly fired earlier. Anomalies
// of another rule version than the current one are ignored.
func (e *Engine) RecordFired(anomaly *events.AnomalyDetected) {
	r, ok := e.rules[anomaly.RuleID]
	if !ok || r.version != anomaly.RuleVersion || !r.spec.Enabled {
		return
	}

	// Anomalies that earlier versions appended carry nanoseconds in
	// detected_at, and the cooldown starts at the cut time either way.
	at := microseconds(anomaly.DetectedAt).UnixNano()
	w := r.windowOf(anomaly.GroupKey)
	if !w.firedIn(at-1, at) {
		w.fire(at)
	}
}

func (e *Engine) observe(event *events.IngestedEvent, evaluate bool) []events.AnomalyDetected {
	e.stats.Events++
	eventAt := EventTime(event, e.config.FutureTolerance).UnixNano()
	receivedAt := event.ReceivedAt.UnixNano()
	payload := &lazyPayload{raw: event.Payload}

	var anomalies []events.AnomalyDetected
	for _, r := range e.order {
		if !r.spec.Enabled || !r.matches(event) {
			continue
		}

		// A drift rule checks the event's own timestamp, so it measures
		// lateness, its cooldown and detected_at on received_at. On the
		// event time, an event stamped far behind would be skipped as late
		// before its drift was checked.
		at := eventAt
		if r.spec.Condition.Type == events.ConditionTimestampDrift {
			at = receivedAt
		}

		if !r.admit(at, receivedAt) {
			e.stats.Late++
			continue
		}

		key := r.groupKey(event, payload)
		w := r.windowOf(key)
		if r.spec.Condition.Type == events.ConditionThreshold {
			w.add(at, event.EventID)
		}

		if evaluate {
			if anomaly, ok := e.evaluate(r, w, key, at, event, payload); ok {
				// The cooldown starts at detected_at, which is cut to
				// microseconds, so an engine that restores it with
				// RecordFired from the stored anomaly holds the same state.
				w.fire(anomaly.DetectedAt.UnixNano())
				anomalies = append(anomalies, anomaly)
			}
		}

		r.evict(w)
	}

	e.stats.Anomalies += int64(len(anomalies))

	return anomalies
}

// evaluate checks r for the event at time at and builds the anomaly when
// the condition holds and the key is out of its cooldown.
func (e *Engine) evaluate(
	r *rule, w *window, key string, at int64, event *events.IngestedEvent, payload *lazyPayload,
) (events.AnomalyDetected, bool) {
	var finding finding
	var ok bool

	switch r.spec.Condition.Type {
	case events.ConditionThreshold:
		finding, ok = e.checkThreshold(r, w, at)
	case events.ConditionRequiredFields:
		finding, ok = checkRequiredFields(r, event, payload)
		finding.windowStart = at
	case events.ConditionTimestampDrift:
		finding, ok = checkDrift(r, event)
		finding.windowStart = at
	}

	if !ok || w.firedIn(at-r.cooldown, at) {
		return events.AnomalyDetected{}, false
	}

	if finding.sample == nil {
		finding.sample = []uuid.UUID{event.EventID}
	}

	return newAnomaly(r, key, at, event.EventID, finding), true
}
