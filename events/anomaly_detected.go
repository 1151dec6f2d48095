package events

import (
	"time"

	"github.com/google/uuid"
)

// AnomalyDetectedName is the wire name of AnomalyDetected.
const AnomalyDetectedName = "AnomalyDetected"

// AnomalyDetected records that a rule fired. The detector derives every
// field from the log alone, so a replay produces the same record.
type AnomalyDetected struct {
	// AnomalyID is derived from the rule, its version, the group key and
	// the triggering event, so it is the same after any replay.
	AnomalyID   uuid.UUID `json:"anomaly_id"`
	RuleID      uuid.UUID `json:"rule_id"`
	RuleVersion int       `json:"rule_version"`
	RuleName    string    `json:"rule_name"`
	Severity    string    `json:"severity"`
	// GroupKey identifies the group_by values the rule fired for; empty
	// for rules without group_by.
	GroupKey  string  `json:"group_key"`
	Observed  float64 `json:"observed"`
	Threshold float64 `json:"threshold"`
	Operator  string  `json:"operator"`
	// WindowStart is exclusive and WindowEnd inclusive, in event time.
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// EventID is the event that made the rule fire.
	EventID uuid.UUID `json:"event_id"`
	// SampleEventIDs are some of the events counted, at most a few dozen.
	SampleEventIDs []uuid.UUID `json:"sample_event_ids"`
	Message        string      `json:"message"`
	// DetectedAt is the event time at which the rule fired.
	DetectedAt time.Time `json:"detected_at"`
}

// EventName implements Event.
func (AnomalyDetected) EventName() string { return AnomalyDetectedName }

// SchemaVersion implements Event.
func (AnomalyDetected) SchemaVersion() int { return 1 }
