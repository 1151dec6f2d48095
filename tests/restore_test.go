package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/internal/testenv"
)

// sourceEpoch is the transaction id epoch of the cluster a dump comes from,
// standing in for a cluster that has run longer than the restore target.
const sourceEpoch = 5

// TestRestoreIntoAnotherCluster runs the procedure of docs/operations.md: a
// dump from a cluster whose transaction ids are ahead is restored into a
// fresh cluster, the worker refuses to start, and after pg_resetwal -e it
// starts and projects new events after the restored ones.
func TestRestoreIntoAnotherCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two more PostgreSQL clusters")
	}
	t.Parallel()

	ctx := context.Background()
	binary := buildBinary(t)

	source := startEnv(t)
	restartWithEpoch(t, source, sourceEpoch)
	require.NoError(t, source.CreateDatabase(ctx, "eventpulse", ""))
	sourceVars, sourceAddr := processVars(t, source)
	output, err := runProcess(ctx, binary, sourceVars, "migrate")
	require.NoError(t, err, output)

	sourceRun := startProcess(t, "source-run", binary, sourceVars, "run")
	ingestAndWait(t, binary, source, sourceAddr, "before", 10, 10)
	sourceRun.stop(t)

	dump := filepath.Join(t.TempDir(), "eventpulse.dump")
	output, err = runProcess(ctx, source.PostgresBinary("pg_dump"), nil,
		"--format=custom", "--file="+dump, source.DatabaseURL("eventpulse"))
	require.NoError(t, err, output)

	target := startEnv(t)
	require.NoError(t, target.CreateDatabase(ctx, "eventpulse", ""))
	output, err = runProcess(ctx, target.PostgresBinary("pg_restore"), nil,
		"--no-owner", "--dbname="+target.DatabaseURL("eventpulse"), dump)
	require.NoError(t, err, output)

	targetVars, targetAddr := processVars(t, target)
	workerCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	output, err = runProcess(workerCtx, binary, targetVars, "worker")
	require.Error(t, err, "the worker must refuse a log from a cluster ahead")
	require.Contains(t, output, "event log is ahead of the PostgreSQL transaction counter")

	epoch := queryInt(t, target, `SELECT ((greatest(
		(SELECT max(transaction_id::text::bigint) FROM event_log),
		(SELECT max(last_processed_transaction_id::text::bigint) FROM event_log_offsets)) >> 32) + 1)::int`)
	require.Equal(t, sourceEpoch+1, epoch)
	restartWithEpoch(t, target, int64(epoch))

	startProcess(t, "target-run", binary, targetVars, "run")
	ingestAndWait(t, binary, target, targetAddr, "after", 5, 15)
	require.Equal(t, 10, queryInt(t, target, `SELECT count(*)::int FROM events WHERE source = 'before'`))
	require.Equal(t, 2, queryInt(t, target, `SELECT offset_acked::int FROM event_log_offsets WHERE consumer_group = 'projection.events'`),
		"the projector applied the restored record and the new one")
}

// startEnv starts a PostgreSQL and Redis pair of its own for t.
func startEnv(t *testing.T) *testenv.Env {
	t.Helper()

	env, err := testenv.Start(context.Background(), testenv.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, env.Close()) })

	return env
}

func restartWithEpoch(t *testing.T, env *testenv.Env, epoch int64) {
	t.Helper()

	require.NoError(t, env.StopPostgres())
	require.NoError(t, env.ResetEpoch(context.Background(), epoch))
	require.NoError(t, env.StartPostgres())
}

// processVars returns the environment of an eventpulse process using env's
// eventpulse database and Redis, and the free address its API listens on.
func processVars(t *testing.T, env *testenv.Env) ([]string, string) {
	t.Helper()

	addr := freeAddr(t)

	return []string{
		"DATABASE_URL=" + env.DatabaseURL("eventpulse"),
		"REDIS_URL=redis://" + env.RedisAddr() + "/0",
		"EVENTPULSE_HTTP_ADDR=" + addr,
		"EVENTPULSE_LOG_LEVEL=info",
	}, addr
}

// ingestAndWait sends n events with the given source to the API at addr and
// waits until the events table of env holds total rows.
func ingestAndWait(t *testing.T, binary string, env *testenv.Env, addr, source string, n, total int) {
	t.Helper()
	ctx := context.Background()
	vars := []string{"EVENTPULSE_HTTP_ADDR=" + addr}

	testapp.WaitFor(t, 30*time.Second, "API at "+addr+" healthy", func() bool {
		_, err := runProcess(ctx, binary, vars, "healthcheck")
		return err == nil
	})

	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.New()
	}
	body := strings.Builder{}
	body.WriteString("[")
	for i, id := range ids {
		if i > 0 {
			body.WriteString(",")
		}
		fmt.Fprintf(&body, `{"event_id":%q,"event_type":"restore","source":%q}`, id, source)
	}
	body.WriteString("]")
	require.NoError(t, postBatchBody(addr, body.String()))

	testapp.WaitFor(t, 30*time.Second, fmt.Sprintf("%d events stored", total), func() bool {
		return queryInt(t, env, `SELECT count(*)::int FROM events`) >= total
	})
	require.Equal(t, total, queryInt(t, env, `SELECT count(*)::int FROM events`))
}

func queryInt(t *testing.T, env *testenv.Env, query string) int {
	t.Helper()
	ctx := context.Background()

	pool, err := database.Open(ctx, env.DatabaseURL("eventpulse"), 4)
	require.NoError(t, err)
	defer pool.Close()

	var n int
	require.NoError(t, pool.QueryRow(ctx, query).Scan(&n))

	return n
}
