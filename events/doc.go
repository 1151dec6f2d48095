// Package events defines the domain events that EventPulse appends to its
// log. Each event is a plain past-tense struct with a stable wire name and a
// schema version, so stored records outlive refactors of the Go types: an
// old version is upcast when read and a stored record is never rewritten.
package events
