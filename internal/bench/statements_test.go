package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/testenv"
)

func TestReportStatementsPerEvent(t *testing.T) {
	ctx := t.Context()
	env, err := testenv.Start(ctx, testenv.Options{PostgresSettings: statementSettings, Logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Close() })

	require.NoError(t, env.CreateDatabase(ctx, "statements", ""))
	pool, err := pgxpool.New(ctx, env.DatabaseURL("statements"))
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	var track string
	require.NoError(t, pool.QueryRow(ctx, `SHOW pg_stat_statements.track`).Scan(&track))
	require.Equal(t, "all", track, "the settings reach the server")

	_, err = pool.Exec(ctx, `CREATE EXTENSION pg_stat_statements`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `CREATE TABLE measured (n int)`)
	require.NoError(t, err)

	r := &runner{config: Config{WorkDir: t.TempDir()}, pool: pool, report: &Report{}}
	require.NoError(t, r.resetStatements(ctx))
	for range 4 {
		_, err = pool.Exec(ctx, `INSERT INTO measured SELECT generate_series(1, 500)`)
		require.NoError(t, err)
	}
	require.NoError(t, r.reportStatements(ctx, "single", 2000))

	written, err := os.ReadFile(filepath.Join(r.config.WorkDir, "single.statements.md"))
	require.NoError(t, err)

	var insertRow string
	for line := range strings.Lines(string(written)) {
		if strings.Contains(line, "INSERT INTO measured") {
			insertRow = line
		}
	}
	require.NotEmpty(t, insertRow, "the table lists the statement run:\n%s", written)
	// 4 calls for 2,000 events, 500 rows each.
	require.Contains(t, insertRow, "| 2.0 |", "calls per 1,000 events")
	require.Contains(t, insertRow, "| 500.0 |", "rows per call")
	require.NotContains(t, string(written), "CREATE TABLE", "statements before the reset are left out")

	require.Len(t, r.report.Notes, 1)
	require.True(t, strings.HasPrefix(r.report.Notes[0], "single run: PostgreSQL statements took "), r.report.Notes[0])
	require.Contains(t, r.report.Notes[0], "single.statements.md")
}
