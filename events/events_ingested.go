package events

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// EventsIngestedName is the wire name of EventsIngested.
const EventsIngestedName = "EventsIngested"

// EventsIngested records the events of one ingest command that were new to
// the log, in the order the command carried them.
type EventsIngested struct {
	Events []IngestedEvent `json:"events"`
}

// IngestedEvent is one application event as accepted by the API.
type IngestedEvent struct {
	EventID   uuid.UUID `json:"event_id"`
	EventType string    `json:"event_type"`
	Source    string    `json:"source"`
	// Timestamp is the event time sent by the client, or ReceivedAt when the
	// client sent none.
	Timestamp time.Time `json:"timestamp"`
	// ReceivedAt is the API server's clock when the request arrived, in UTC.
	ReceivedAt time.Time `json:"received_at"`
	// Payload and Metadata are JSON objects kept as the client sent them.
	Payload  json.RawMessage `json:"payload"`
	Metadata json.RawMessage `json:"metadata"`
	// CorrelationID is the id of the HTTP request that carried the event.
	CorrelationID string `json:"correlation_id,omitempty"`
}

// EventName implements Event.
func (EventsIngested) EventName() string { return EventsIngestedName }

// SchemaVersion implements Event.
func (EventsIngested) SchemaVersion() int { return 1 }
