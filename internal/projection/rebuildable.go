package projection

import (
	"context"
	"strings"
)

// Rebuildable is a Projector that a replay can rebuild from the log while
// the live projector keeps serving. A replay builds a copy of each table
// from Tables, applies the log to it with the projector returned by
// WithTables, and then swaps the copies in and moves the projector's
// offset in one transaction.
//
// A projector implements it by providing:
//   - Tables: every table it writes, and no other. A replay creates each
//     copy as "<table>__replay" with CREATE TABLE ... (LIKE <table>
//     INCLUDING ALL), so the tables must not be referenced by foreign keys
//     or views, which would keep pointing at the old table. Sequences owned
//     by a column move to the copy's column.
//   - WithTables: a copy of the projector whose Apply writes to
//     tables[name] for each name of Tables and touches no other table. It
//     must produce the same rows as the live projector given the same
//     records in the same order, because that is what makes a replayed
//     table equal to the live one row for row.
//
// Apply runs with IsReplay(ctx) true during a replay. A replay must cause
// no effect outside its tables: a projector that sends notifications
// either does not implement Rebuildable, or its replay copy treats every
// record as already delivered and sends nothing. A projector that appends
// records to the log (such as a detector appending AnomalyDetected) must
// append nothing when IsReplay(ctx) is true, because the log holds those
// records already.
type Rebuildable interface {
	Projector
	// Tables lists the tables the projector writes.
	Tables() []string
	// WithTables returns a copy of the projector that writes to
	// tables[name] in place of each name of Tables.
	WithTables(tables map[string]string) Projector
}

// OffsetKeeper is implemented by a Rebuildable whose live instance has an
// effect that its replay copy must not have, such as the detector appending
// AnomalyDetected records. When KeepsOffset returns true, the swap puts the
// copies in place but leaves the live projector's offset where it is, so
// the live projector still applies every record after it, with that
// effect. Its Apply must then accept records whose effect on the tables the
// replay has written already.
type OffsetKeeper interface {
	KeepsOffset() bool
}

// ProjectionName returns the name that replays and the projections API use
// for a projector's consumer group: the group without its "projection."
// prefix, so "projection.events" is "events".
func ProjectionName(consumerGroup string) string {
	return strings.TrimPrefix(consumerGroup, "projection.")
}

type replayKey struct{}

// WithReplay marks ctx as belonging to a replay.
func WithReplay(ctx context.Context) context.Context {
	return context.WithValue(ctx, replayKey{}, true)
}

// IsReplay reports whether ctx belongs to a replay, so that Apply must
// cause no effect outside the projector's tables.
func IsReplay(ctx context.Context) bool {
	replay, _ := ctx.Value(replayKey{}).(bool)

	return replay
}
