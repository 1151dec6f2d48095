package detect

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/events"
)

// anomalyNamespace is the UUIDv5 namespace of anomaly ids. Changing it
// changes the id of every anomaly found by a replay.
var anomalyNamespace = uuid.MustParse("4f7d3c2e-8b51-4e0a-9d6b-2a1c5e7f9b30")

// AnomalyID returns the id of the anomaly that a rule version fires for a
// group key on a triggering event; the same inputs give the same id.
func AnomalyID(ruleID uuid.UUID, ruleVersion int, groupKey string, eventID uuid.UUID) uuid.UUID {
	name := ruleID.String() + "\n" + strconv.Itoa(ruleVersion) + "\n" + groupKey + "\n" + eventID.String()

	return uuid.NewSHA1(anomalyNamespace, []byte(name))
}

// finding is what a check measured on one event.
type finding struct {
	observed  float64
	threshold float64
	operator  string
	// windowStart is the exclusive start of the window in Unix nanoseconds;
	// a per-event check leaves it to the caller, which sets the event time.
	windowStart int64
	sample      []uuid.UUID
	// detail completes the message after the rule name.
	detail string
}

func (e *Engine) checkThreshold(r *rule, w *window, at int64) (finding, bool) {
	condition := r.spec.Condition
	if condition.Value == nil {
		return finding{}, false
	}

	from := at - r.window
	n, _ := w.count(from, at)
	observed := float64(n)
	if !compare(observed, condition.Operator, *condition.Value) {
		return finding{}, false
	}

	return finding{
		observed:    observed,
		threshold:   *condition.Value,
		operator:    condition.Operator,
		windowStart: from,
		sample:      w.sample(from, at, e.config.SampleSize),
		detail: fmt.Sprintf("%d matching events in %ds, %s %s",
			n, r.spec.WindowSeconds, condition.Operator, formatNumber(*condition.Value)),
	}, true
}

// compare applies a rule operator; an unknown operator never holds.
func compare(observed float64, operator string, value float64) bool {
	switch operator {
	case ">":
		return observed > value
	case ">=":
		return observed >= value
	case "<":
		return observed < value
	case "<=":
		return observed <= value
	case "==":
		return observed == value
	case "!=":
		return observed != value
	default:
		return false
	}
}

func checkRequiredFields(r *rule, event *events.IngestedEvent, payload *lazyPayload) (finding, bool) {
	var missing []string
	for _, field := range r.spec.Condition.Fields {
		if _, ok := payload.lookup(strings.TrimPrefix(field, "payload.")); !ok {
			missing = append(missing, field)
		}
	}

	if len(missing) == 0 {
		return finding{}, false
	}

	return finding{
		observed:  float64(len(missing)),
		threshold: 0,
		operator:  ">",
		detail: fmt.Sprintf("%s event %s lacks %s",
			event.EventType, event.EventID, strings.Join(missing, ", ")),
	}, true
}

func checkDrift(r *rule, event *events.IngestedEvent) (finding, bool) {
	maxDrift := r.spec.Condition.MaxDriftSeconds
	if maxDrift == nil {
		return finding{}, false
	}

	drift := math.Abs(event.Timestamp.Sub(event.ReceivedAt).Seconds())
	if drift <= *maxDrift {
		return finding{}, false
	}

	// The drift is measured on the times as sent, while the message quotes
	// them as the events table stores them.
	return finding{
		observed:  drift,
		threshold: *maxDrift,
		operator:  ">",
		detail: fmt.Sprintf("event %s has timestamp %s, %ss from received_at %s, more than %ss",
			event.EventID, microseconds(event.Timestamp).Format(time.RFC3339Nano), formatNumber(drift),
			microseconds(event.ReceivedAt).Format(time.RFC3339Nano), formatNumber(*maxDrift)),
	}, true
}

// microseconds returns t in UTC cut to whole microseconds, the precision
// of PostgreSQL's timestamptz. pgx cuts times the same way when it writes
// them, so an anomaly's times and the event times its message quotes equal
// those read back from the anomalies and events tables.
func microseconds(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// newAnomaly builds the anomaly of a finding at event time at (Unix
// nanoseconds). Its times are cut to microseconds, so the anomaly that the
// detector appends to the log, a backtest's and the stored row all carry
// the same times. The anomaly id does not depend on them.
func newAnomaly(r *rule, key string, at int64, eventID uuid.UUID, f finding) events.AnomalyDetected {
	message := r.spec.Name + ": " + f.detail
	if key != "" {
		message = r.spec.Name + " (" + key + "): " + f.detail
	}

	return events.AnomalyDetected{
		AnomalyID:      AnomalyID(r.id, r.version, key, eventID),
		RuleID:         r.id,
		RuleVersion:    r.version,
		RuleName:       r.spec.Name,
		Severity:       r.spec.Severity,
		GroupKey:       key,
		Observed:       f.observed,
		Threshold:      f.threshold,
		Operator:       f.operator,
		WindowStart:    microseconds(time.Unix(0, f.windowStart)),
		WindowEnd:      microseconds(time.Unix(0, at)),
		EventID:        eventID,
		SampleEventIDs: f.sample,
		Message:        message,
		DetectedAt:     microseconds(time.Unix(0, at)),
	}
}

func formatNumber(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
