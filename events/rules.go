package events

import (
	"encoding/json"

	"github.com/google/uuid"
)

// Wire names of rule events.
const (
	RuleCreatedName  = "RuleCreated"
	RuleReplacedName = "RuleReplaced"
	RulePatchedName  = "RulePatched"
	RuleDeletedName  = "RuleDeleted"
)

// Condition types.
const (
	ConditionThreshold      = "threshold"
	ConditionRequiredFields = "required_fields"
	ConditionTimestampDrift = "timestamp_drift"
)

// RuleSpec is the user-editable body of a detection rule.
type RuleSpec struct {
	Name            string `json:"name"`
	Enabled         bool   `json:"enabled"`
	Severity        string `json:"severity"`
	WindowSeconds   int    `json:"window_seconds"`
	CooldownSeconds int    `json:"cooldown_seconds"`
	// AllowedLatenessSeconds is how far behind the newest event time seen
	// by the rule an event may arrive and still be counted; nil means
	// WindowSeconds.
	AllowedLatenessSeconds *int      `json:"allowed_lateness_seconds,omitempty"`
	Condition              Condition `json:"condition"`
}

// Condition says what makes an event anomalous. Type selects which of the
// other fields apply.
type Condition struct {
	Type string `json:"type"`

	// Threshold: Metric (always "count") of events matching Filters in the
	// window, per distinct GroupBy key, compared with Operator and Value.
	Metric  string   `json:"metric,omitempty"`
	Filters *Filters `json:"filters,omitempty"`
	// Operator is one of >, >=, <, <=, ==, !=.
	Operator string   `json:"operator,omitempty"`
	Value    *float64 `json:"value,omitempty"`
	// GroupBy lists keys among "source", "event_type" and payload paths
	// such as "payload.rhost".
	GroupBy []string `json:"group_by,omitempty"`

	// RequiredFields: an event of EventType whose payload lacks any of
	// Fields (dotted paths).
	EventType string   `json:"event_type,omitempty"`
	Fields    []string `json:"fields,omitempty"`

	// TimestampDrift: an event whose timestamp differs from received_at by
	// more than MaxDriftSeconds.
	MaxDriftSeconds *float64 `json:"max_drift_seconds,omitempty"`
}

// Filters select the events a threshold rule counts; empty fields match
// every event.
type Filters struct {
	EventType string `json:"event_type,omitempty"`
	Source    string `json:"source,omitempty"`
}

// RuleCreated records a new rule at version 1.
type RuleCreated struct {
	RuleID  uuid.UUID `json:"rule_id"`
	Version int       `json:"version"`
	Spec    RuleSpec  `json:"spec"`
}

// RuleReplaced records a full replacement (PUT) of a rule's spec.
type RuleReplaced struct {
	RuleID  uuid.UUID `json:"rule_id"`
	Version int       `json:"version"`
	Spec    RuleSpec  `json:"spec"`
}

// RulePatched records a JSON merge patch applied to a rule. Spec is the
// state after the patch, so readers never re-apply patches.
type RulePatched struct {
	RuleID  uuid.UUID       `json:"rule_id"`
	Version int             `json:"version"`
	Patch   json.RawMessage `json:"patch"`
	Spec    RuleSpec        `json:"spec"`
}

// RuleDeleted records the deletion of a rule.
type RuleDeleted struct {
	RuleID  uuid.UUID `json:"rule_id"`
	Version int       `json:"version"`
}

// EventName implements Event.
func (RuleCreated) EventName() string { return RuleCreatedName }

// SchemaVersion implements Event.
func (RuleCreated) SchemaVersion() int { return 1 }

// EventName implements Event.
func (RuleReplaced) EventName() string { return RuleReplacedName }

// SchemaVersion implements Event.
func (RuleReplaced) SchemaVersion() int { return 1 }

// EventName implements Event.
func (RulePatched) EventName() string { return RulePatchedName }

// SchemaVersion implements Event.
func (RulePatched) SchemaVersion() int { return 1 }

// EventName implements Event.
func (RuleDeleted) EventName() string { return RuleDeletedName }

// SchemaVersion implements Event.
func (RuleDeleted) SchemaVersion() int { return 1 }
