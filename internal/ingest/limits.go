package ingest

import (
	"time"

	"github.com/eventpulse/eventpulse/events"
)

// Limits of what the API accepts. They are part of the API contract and are
// documented in openapi.yaml.
const (
	// MaxNameLength is the maximum length, in characters, of event_type and
	// source.
	MaxNameLength = events.EventNameMaxChars
	// MaxBatchEvents is the maximum number of events in one batch request.
	MaxBatchEvents = 1000
	// MaxDepth is the deepest nesting of objects and arrays allowed inside
	// payload and metadata; the payload object itself is depth 1.
	MaxDepth = 32
	// maxNumericIntegerDigits and maxNumericScale are PostgreSQL's limits
	// for a numeric value, which is how JSONB stores every JSON number:
	// 131072 digits before the decimal point and 16383 after it.
	maxNumericIntegerDigits = 131072
	maxNumericScale         = 16383
)

// Accepted event times, from MinTimestamp up to, not including,
// MaxTimestamp. Anything outside is taken for a client bug (a zero time, a
// year typed wrong) rather than a real event. The from and to of the reads
// and of a backtest are held to the same range.
var (
	MinTimestamp = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTimestamp = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// TimestampInRange reports whether t, in any zone, lies in
// [MinTimestamp, MaxTimestamp).
func TimestampInRange(t time.Time) bool {
	return !t.Before(MinTimestamp) && t.Before(MaxTimestamp)
}
