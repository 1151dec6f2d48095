package bench

import (
	"context"
	"fmt"
)

// bracketed is a ceiling measured right before and right after one of our
// runs, so that it saw about the same machine load as the run.
type bracketed struct {
	before, after float64
}

func (b bracketed) mean() float64 {
	return (b.before + b.after) / 2
}

// String formats the mean with both measurements, in unit per second.
func (b bracketed) String(unit string) string {
	return fmt.Sprintf("%s (before %s, after %s)", rate(b.mean(), unit), thousands(int64(b.before)), thousands(int64(b.after)))
}

// bracket measures ceiling, runs ours, measures ceiling again, and adds a
// ceiling row named name to the report.
func (r *runner) bracket(ctx context.Context, name, unit string, ceiling func() float64, ours func()) bracketed {
	r.logf("ceiling: %s", name)
	b := bracketed{before: ceiling()}

	ours()

	if ctx.Err() == nil {
		r.logf("ceiling: %s", name)
		b.after = ceiling()
	}

	r.ceilings = append(r.ceilings, Row{Measure: "ceiling: " + name, Result: b.String(unit)})

	return b
}

// insertBracket measures the multi-row INSERT ceiling with conns
// connections around ours.
func (r *runner) insertBracket(ctx context.Context, conns int, ours func()) (bracketed, error) {
	var insertErr error
	ceiling := func() float64 {
		rowsPerSecond, err := InsertCeiling(ctx, r.env.DatabaseURL("ceiling"), r.events, conns, insertRows, batchSize)
		if err != nil && insertErr == nil {
			insertErr = err
		}

		return rowsPerSecond
	}

	name := fmt.Sprintf("multi-row INSERT into `events`, %d rows a transaction, %d connection(s)", batchSize, conns)
	b := r.bracket(ctx, name, "rows", ceiling, ours)

	return b, insertErr
}
