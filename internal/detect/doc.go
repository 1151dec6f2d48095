// Package detect is the window engine of the detector: it turns a sequence
// of rule changes and ingested events into anomalies. It is a pure function
// of its input and never reads the clock, so feeding it the log in order
// always produces the same anomalies.
//
// # Event time
//
// The time of an event is its timestamp, except when the timestamp is more
// than Config.FutureTolerance ahead of received_at: such an event is placed
// at received_at, so one client with a wrong clock cannot push a rule's
// windows into the future.
//
// # Threshold rules
//
// When an event with time t matches a rule's filters, the observed value is
// the number of matching events of the same group key already seen, this
// one included, whose time is in (t - window_seconds, t]. If the comparison
// with the rule's operator and value holds and the rule fired for that key
// at no time in (t - cooldown_seconds, t], the rule fires at t. A cooldown
// of 0 never blocks. Events that arrive later with an earlier time count in
// the windows evaluated after them, not in windows already evaluated.
//
// Rules are evaluated only when a matching event arrives, so the observed
// count is always at least 1. An operator that can hold with zero events
// therefore fires only on the events that keep the count low: "< 3" fires
// on each matching event that finds fewer than 3 in its window (a sparse
// stream), "!= 5" on each event that finds any other count, and "== 0",
// "<= 0" and "< 1" never fire. Silence (no matching event at all) is never
// detected, because detecting it would need a clock.
//
// # Late events
//
// Each rule keeps the newest event time among the events matching its
// filters, over every group key. A matching event whose time is more than
// allowed_lateness_seconds (default: window_seconds) behind that newest time
// is late: it is counted in Stats.Late and skipped, with no effect on any
// window. Because no accepted event can be earlier than newest - lateness,
// window entries at or before newest - lateness - window_seconds and fired
// times at or before newest - lateness - cooldown_seconds can never be
// counted again, and the engine evicts them, which bounds its memory by the
// event rate times (window + lateness) per rule.
//
// # Per-event rules
//
// A required_fields rule fires on an event of its event_type whose payload
// lacks any of its dotted paths; a timestamp_drift rule fires on an event
// whose timestamp differs from received_at by more than max_drift_seconds
// (the raw timestamp, before the cap above). Both honour the rule's
// filters, group_by, lateness and cooldown as threshold rules do.
//
// # Rule changes
//
// SetRule with a higher version replaces a rule and starts it with empty
// windows and no cooldown; a disabled rule keeps its version but holds no
// state and never fires; DeleteRule removes it. Versions at or below the
// current one are ignored, so applying a rule event twice changes nothing.
//
// # Group keys
//
// group_by lists "source", "event_type" or payload paths such as
// "payload.rhost". The group key is "name=value" for each of them, joined by
// ", ", where a string value is quoted, any other JSON value is written as
// compact JSON and a missing path is written as (missing). A rule without
// group_by has the empty key.
package detect
