package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// statementSettings are the PostgreSQL settings that make the server track
// the time of each statement in pg_stat_statements.
var statementSettings = []string{
	"shared_preload_libraries=pg_stat_statements",
	"pg_stat_statements.track=all",
	"pg_stat_statements.max=1000",
	"pg_stat_statements.track_planning=on",
}

// statement is one row of pg_stat_statements.
type statement struct {
	query   string
	calls   int64
	rows    int64
	plans   int64
	totalMs float64
	planMs  float64
}

// resetStatements empties pg_stat_statements before a run.
func (r *runner) resetStatements(ctx context.Context) error {
	if _, err := r.pool.Exec(ctx, `SELECT pg_stat_statements_reset()`); err != nil {
		return fmt.Errorf("error resetting pg_stat_statements: %w", err)
	}

	return nil
}

// reportStatements writes the statements of the run called name, slowest
// first, to name.statements.md in the work directory, and notes the total
// and the three slowest per event. Statement time is wall time inside the
// backend: close to CPU time only while no backend waits for a core.
func (r *runner) reportStatements(ctx context.Context, name string, events int64) error {
	rows, err := r.pool.Query(ctx, `
		SELECT s.query, s.calls, s.rows, s.total_exec_time, s.total_plan_time, s.plans
		FROM pg_stat_statements s
		JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname = current_database()
		ORDER BY s.total_exec_time + s.total_plan_time DESC`)
	if err != nil {
		return fmt.Errorf("error reading pg_stat_statements: %w", err)
	}
	defer rows.Close()

	var statements []statement
	var totalMs float64
	for rows.Next() {
		var s statement
		if err := rows.Scan(&s.query, &s.calls, &s.rows, &s.totalMs, &s.planMs, &s.plans); err != nil {
			return fmt.Errorf("error reading pg_stat_statements: %w", err)
		}
		s.query = strings.Join(strings.Fields(s.query), " ")
		statements = append(statements, s)
		totalMs += s.totalMs + s.planMs
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("error reading pg_stat_statements: %w", err)
	}
	if events <= 0 || len(statements) == 0 {
		return nil
	}

	perEvent := func(ms float64) float64 { return ms * 1000 / float64(events) }

	var b strings.Builder
	fmt.Fprintf(&b, "Statements of the %s run, %d events accepted, %.1f µs per event in all.\n\n", name, events, perEvent(totalMs))
	b.WriteString("| µs per event, executing | planning | calls per 1,000 events | plans per 1,000 events | rows per call | statement |\n" +
		"| --- | --- | --- | --- | --- | --- |\n")
	for _, s := range statements {
		rowsPerCall := 0.0
		if s.calls > 0 {
			rowsPerCall = float64(s.rows) / float64(s.calls)
		}
		fmt.Fprintf(&b, "| %.2f | %.2f | %.1f | %.1f | %.1f | `%s` |\n", perEvent(s.totalMs), perEvent(s.planMs),
			float64(s.calls)*1000/float64(events), float64(s.plans)*1000/float64(events), rowsPerCall, truncate(s.query, 160))
	}

	path := filepath.Join(r.config.WorkDir, name+".statements.md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("error writing %q: %w", path, err)
	}

	top := make([]string, 0, 3)
	for _, s := range statements[:min(3, len(statements))] {
		top = append(top, fmt.Sprintf("%.1f µs in `%s`", perEvent(s.totalMs+s.planMs), truncate(s.query, 60)))
	}
	r.note("%s run: PostgreSQL statements took %.1f µs per event to plan and execute (wall time in the backends), of which %s; all in %s",
		name, perEvent(totalMs), strings.Join(top, ", "), filepath.Base(path))

	return nil
}

func truncate(text string, n int) string {
	runes := []rune(text)
	if len(runes) <= n {
		return text
	}

	return string(runes[:n]) + "…"
}
