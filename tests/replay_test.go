package tests

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/eventlog"

	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/ingestclient"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/apikeys"
	"github.com/eventpulse/eventpulse/projections/eventstable"
)

// ingestRealLogs sends every real log sample and waits until the events
// projector has applied the whole log.
func ingestRealLogs(t testing.TB, a *testapp.App, dir string) {
	t.Helper()

	files, err := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	require.NoError(t, err)
	require.Len(t, files, 5)

	summary, err := ingestclient.Run(context.Background(), ingestclient.Options{URL: a.URL, Files: files})
	require.NoError(t, err)
	require.Equal(t, 10000, summary.Accepted)

	testapp.WaitFor(t, 60*time.Second, "events table to hold the real logs", func() bool {
		return a.Count("SELECT count(*) FROM events") >= 10000
	})
	waitForCaughtUp(t, a, eventstable.Name)
	require.Equal(t, 10000, a.Count("SELECT count(*) FROM events"))
}

// waitForCaughtUp waits until group has applied the newest log record.
func waitForCaughtUp(t testing.TB, a *testapp.App, group string) {
	t.Helper()

	testapp.WaitFor(t, 60*time.Second, group+" to apply the whole log", func() bool {
		return a.Count(caughtUpQuery, []string{group}) == 1
	})
}

// tableChecksum returns an md5 over every row of table ordered by key.
func tableChecksum(t testing.TB, a *testapp.App, table, key string) string {
	t.Helper()

	var sum string
	query := fmt.Sprintf(`SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY %s)), 'no rows') FROM %s t`, key, table)
	require.NoError(t, a.Pool.QueryRow(context.Background(), query).Scan(&sum))

	return sum
}

func tableOID(t testing.TB, a *testapp.App, table string) uint32 {
	t.Helper()

	var oid uint32
	require.NoError(t, a.Pool.QueryRow(context.Background(), `SELECT $1::regclass::oid`, table).Scan(&oid))

	return oid
}

func indexNames(t testing.TB, a *testapp.App, table string) []string {
	t.Helper()

	rows, err := a.Pool.Query(context.Background(),
		`SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname`, table)
	require.NoError(t, err)

	var names []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		names = append(names, name)
	}
	require.NoError(t, rows.Err())

	return names
}

// pollEvents reads GET /api/v1/events until stop is closed and returns
// the statuses seen.
func pollEvents(a *testapp.App, stop <-chan struct{}) (func() []int, *sync.WaitGroup) {
	var mu sync.Mutex
	var statuses []int
	var wg sync.WaitGroup

	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}

			status := http.StatusServiceUnavailable
			response, err := http.Get(a.URL + "/api/v1/events?limit=5")
			if err == nil {
				status = response.StatusCode
				_ = response.Body.Close()
			}

			mu.Lock()
			statuses = append(statuses, status)
			mu.Unlock()
		}
	})

	return func() []int {
		mu.Lock()
		defer mu.Unlock()

		return append([]int(nil), statuses...)
	}, &wg
}

func TestReplayEventsRowForRow(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ingestRealLogs(t, a, dataDir(t))

	before := tableChecksum(t, a, "events", "event_id")
	oidBefore := tableOID(t, a, "events")
	indexesBefore := indexNames(t, a, "events")

	stop := make(chan struct{})
	statuses, polling := pollEvents(a, stop)

	var batches atomic.Int64
	progress, err := projection.Replay(context.Background(), projection.ReplayConfig{
		Pool:      a.Pool,
		Projector: eventstable.Projector{},
		BatchSize: 2,
		Progress: func(projection.ReplayProgress) {
			batches.Add(1)
			time.Sleep(20 * time.Millisecond) // leaves room for reads between batches
		},
	})
	close(stop)
	polling.Wait()
	require.NoError(t, err)

	seen := statuses()
	require.NotEmpty(t, seen, "reads during the replay")
	for i, status := range seen {
		require.Equal(t, http.StatusOK, status, "read %d of %d during the replay", i, len(seen))
	}

	require.Equal(t, before, tableChecksum(t, a, "events", "event_id"), "replayed table equals the live one")
	require.NotEqual(t, oidBefore, tableOID(t, a, "events"), "the table was rebuilt")
	require.Equal(t, indexesBefore, indexNames(t, a, "events"), "index names are kept")
	require.Zero(t, a.Count(`SELECT count(*) FROM pg_tables WHERE tablename LIKE 'events\_\_%'`))

	records := a.Count("SELECT count(*) FROM event_log")
	ingested := a.Count(`SELECT count(*) FROM event_log WHERE metadata->>'name' = 'EventsIngested'`)
	require.Equal(t, projection.ReplayCompleted, progress.Status)
	require.Equal(t, int64(records), progress.RecordsRead)
	require.Equal(t, int64(ingested), progress.RecordsApplied)
	require.Greater(t, batches.Load(), int64(records/2-1))
	require.Equal(t, a.Count(lastRecordQuery), int(progress.Position.Offset))
	require.Equal(t, int(progress.Position.Offset), a.Count(fmt.Sprintf(
		`SELECT offset_acked FROM event_log_offsets WHERE consumer_group = '%s'`, eventstable.Name)))

	status, _, body := postJSON(t, a, "/api/v1/events", `{"event_type":"info","source":"after-replay"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	waitForEvents(t, a, 10001)
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM events WHERE source = 'after-replay'`))
}

func TestReplayResumesAfterInterrupt(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ingestRealLogs(t, a, dataDir(t))
	before := tableChecksum(t, a, "events", "event_id")

	ctx, cancel := context.WithCancel(context.Background())
	var batches atomic.Int64
	interrupted, err := projection.Replay(ctx, projection.ReplayConfig{
		Pool:      a.Pool,
		Projector: eventstable.Projector{},
		BatchSize: 2,
		Progress: func(projection.ReplayProgress) {
			if batches.Add(1) == 4 {
				cancel()
			}
		},
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, projection.ReplayInterrupted, interrupted.Status)
	require.Equal(t, int64(8), interrupted.RecordsRead, "four batches of two records committed")

	partial := a.Count("SELECT count(*) FROM events__replay")
	require.Positive(t, partial)
	require.Less(t, partial, 10000)
	require.Equal(t, 10000, a.Count("SELECT count(*) FROM events"), "the live table keeps its rows")

	state, found, err := projection.LoadReplayState(context.Background(), a.Pool, "events")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, projection.ReplayInterrupted, state.Status)
	require.Equal(t, interrupted.Position, state.Position)

	resumed, err := projection.Replay(context.Background(), projection.ReplayConfig{
		Pool:      a.Pool,
		Projector: eventstable.Projector{},
		BatchSize: 50,
	})
	require.NoError(t, err)
	require.Equal(t, projection.ReplayCompleted, resumed.Status)
	require.Equal(t, int64(a.Count("SELECT count(*) FROM event_log")), resumed.RecordsRead,
		"the resumed replay reads each record once")
	require.Equal(t, before, tableChecksum(t, a, "events", "event_id"))
}

func TestReplayRejectsSecondRun(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	for i := range 3 {
		status, _, body := postJSON(t, a, "/api/v1/events/batch",
			fmt.Sprintf(`[{"event_type":"info","source":"s%d"}]`, i))
		require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	}
	waitForEvents(t, a, 3)

	var second error
	var once sync.Once
	_, err := projection.Replay(context.Background(), projection.ReplayConfig{
		Pool:      a.Pool,
		Projector: eventstable.Projector{},
		BatchSize: 1,
		Progress: func(projection.ReplayProgress) {
			once.Do(func() {
				_, second = projection.Replay(context.Background(), projection.ReplayConfig{
					Pool: a.Pool, Projector: eventstable.Projector{},
				})
			})
		},
	})
	require.NoError(t, err)
	require.ErrorIs(t, second, projection.ErrReplayRunning)
}

func TestReplayFromOffset(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ingestRealLogs(t, a, dataDir(t))

	from := int64(a.Count(`SELECT "offset" FROM event_log ORDER BY transaction_id, "offset" OFFSET 9 LIMIT 1`))
	expected := a.Count(fmt.Sprintf(`SELECT coalesce(sum(json_array_length(payload->'events')), 0)
		FROM event_log WHERE "offset" > %d AND metadata->>'name' = 'EventsIngested'`, from))
	require.Positive(t, expected)
	require.Less(t, expected, 10000)

	progress, err := projection.Replay(context.Background(), projection.ReplayConfig{
		Pool: a.Pool, Projector: eventstable.Projector{}, From: &from,
	})
	require.NoError(t, err)
	require.Equal(t, from, progress.FromOffset)
	require.Equal(t, expected, a.Count("SELECT count(*) FROM events"), "only records above --from are applied")
}

func TestReplayAPIKeysRowForRow(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := context.Background()

	var ids []uuid.UUID
	for i := range 4 {
		id, _, err := auth.CreateKey(ctx, a.Pool, fmt.Sprintf("key-%d", i), []auth.Scope{auth.ScopeRead}, "test")
		require.NoError(t, err)
		ids = append(ids, id)
	}
	require.NoError(t, auth.RevokeKey(ctx, a.Pool, ids[1], "test"))

	waitForCaughtUp(t, a, apikeys.Name)
	require.Equal(t, 4, a.Count("SELECT count(*) FROM api_keys"))
	require.Equal(t, 1, a.Count("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL"))
	before := tableChecksum(t, a, "api_keys", "key_id")
	oidBefore := tableOID(t, a, "api_keys")

	progress, err := projection.Replay(ctx, projection.ReplayConfig{Pool: a.Pool, Projector: apikeys.Projector{}})
	require.NoError(t, err)
	require.Equal(t, int64(5), progress.RecordsApplied)
	require.Equal(t, before, tableChecksum(t, a, "api_keys", "key_id"))
	require.NotEqual(t, oidBefore, tableOID(t, a, "api_keys"))
}

func TestReplayThroughAPI(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ingestRealLogs(t, a, dataDir(t))
	before := tableChecksum(t, a, "events", "event_id")
	oidBefore := tableOID(t, a, "events")
	ctx := context.Background()

	res, err := a.Client.ReplayProjection(ctx, oas.OptReplayRequest{}, oas.ReplayProjectionParams{Name: "events"})
	require.NoError(t, err)
	accepted, ok := res.(*oas.ReplayAccepted)
	require.True(t, ok, "response %T", res)
	require.Equal(t, "events", accepted.Projection)
	require.Equal(t, oas.ReplayAcceptedStatusRunning, accepted.Status)

	var last *oas.ReplayProgress
	testapp.WaitFor(t, 60*time.Second, "the replay job to complete", func() bool {
		res, err := a.Client.GetProjectionReplay(ctx, oas.GetProjectionReplayParams{Name: "events"})
		require.NoError(t, err)
		progress, ok := res.(*oas.ReplayProgress)
		if !ok {
			return false // 404 until the job stores its first state
		}
		last = progress

		return progress.JobID == accepted.JobID && progress.Status == oas.ReplayProgressStatusCompleted
	})
	records := int64(a.Count("SELECT count(*) FROM event_log"))
	require.Equal(t, records, last.RecordsRead)
	require.Equal(t, records, last.RecordsTotal)
	require.True(t, last.FinishedAt.Set)
	require.Equal(t, before, tableChecksum(t, a, "events", "event_id"))
	require.NotEqual(t, oidBefore, tableOID(t, a, "events"))

	list, err := a.Client.ListProjections(ctx)
	require.NoError(t, err)
	byName := map[string]oas.Projection{}
	for _, p := range list.Data {
		byName[p.Name] = p
	}
	require.Contains(t, byName, "api_keys")
	events := byName["events"]
	require.Equal(t, eventstable.Name, events.ConsumerGroup)
	require.True(t, events.Replayable)
	require.Equal(t, oas.ProjectionStateRunning, events.State)
	require.Equal(t, events.Head, events.Position)
	require.Zero(t, events.LagRecords)
	require.Zero(t, events.LagSeconds)
	require.True(t, events.LastAdvancedAt.Set)
	require.False(t, events.LastError.Set)

	status, _, body := postJSON(t, a, "/api/v1/projections/nothing/replay", `{}`)
	require.Equal(t, http.StatusNotFound, status, "body: %s", body)
	require.JSONEq(t, `{"error":"Projection not found: nothing"}`, string(body))

	status, _, body = postJSON(t, a, "/api/v1/projections/events/replay", `{"from":-1}`)
	require.Equal(t, http.StatusBadRequest, status, "body: %s", body)
}

func TestProjectionsReportLag(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	status, _, body := postJSON(t, a, "/api/v1/events", `{"event_type":"info","source":"one"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	waitForEvents(t, a, 1)
	a.StopWorker()

	ctx := context.Background()
	msg, err := events.NewMessage(events.EventsIngested{Events: []events.IngestedEvent{{
		EventID: uuid.New(), EventType: "info", Source: "late", Timestamp: time.Now().UTC(),
		ReceivedAt: time.Now().UTC(), Payload: []byte(`{}`), Metadata: []byte(`{}`),
	}}}, events.Envelope{Actor: events.ActorAnonymous, RecordedAt: time.Now().UTC()})
	require.NoError(t, err)
	require.NoError(t, pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error { return eventlog.Append(ctx, tx, msg) }))
	time.Sleep(1100 * time.Millisecond)

	list, err := a.Client.ListProjections(ctx)
	require.NoError(t, err)
	byName := map[string]oas.Projection{}
	for _, p := range list.Data {
		byName[p.Name] = p
	}
	lagging := byName["events"]
	require.Equal(t, int64(1), lagging.LagRecords)
	require.GreaterOrEqual(t, lagging.LagSeconds, 1.0)
	require.Equal(t, lagging.Head, lagging.Position+1)
	require.Equal(t, oas.ProjectionStateRunning, lagging.State)

	a.StartWorker()
	waitForEvents(t, a, 2)
	waitForCaughtUp(t, a, eventstable.Name)
	waitForCaughtUp(t, a, apikeys.Name)

	// The other projectors, such as the detector, catch up on their own.
	testapp.WaitFor(t, 30*time.Second, "every projection to catch up", func() bool {
		list, err := a.Client.ListProjections(ctx)
		require.NoError(t, err)
		for _, p := range list.Data {
			if p.LagRecords != 0 || p.LagSeconds != 0 {
				return false
			}
		}
		return true
	})
}

func TestReplayDuringIngest(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	files, err := filepath.Glob(filepath.Join(dataDir(t), "*.ndjson"))
	require.NoError(t, err)

	ingested := make(chan error, 1)
	go func() {
		summary, err := ingestclient.Run(context.Background(), ingestclient.Options{
			URL: a.URL, Files: files, BatchSize: 100, Concurrency: 1,
		})
		if err == nil && summary.Accepted != 10000 {
			err = fmt.Errorf("%d events accepted, expected 10000", summary.Accepted)
		}
		ingested <- err
	}()

	testapp.WaitFor(t, 60*time.Second, "ingestion to begin", func() bool {
		return a.Count("SELECT count(*) FROM events") >= 500
	})

	recordsAtStart := int64(a.Count("SELECT count(*) FROM event_log"))
	progress, err := projection.Replay(context.Background(), projection.ReplayConfig{
		Pool:      a.Pool,
		Projector: eventstable.Projector{},
		BatchSize: 1,
		Progress:  func(projection.ReplayProgress) { time.Sleep(5 * time.Millisecond) },
	})
	require.NoError(t, err)
	require.NoError(t, <-ingested)
	require.Greater(t, progress.RecordsRead, recordsAtStart, "ingestion went on during the replay")

	testapp.WaitFor(t, 60*time.Second, "events table to hold the real logs", func() bool {
		return a.Count("SELECT count(*) FROM events") >= 10000
	})
	waitForCaughtUp(t, a, eventstable.Name)
	require.Equal(t, 10000, a.Count("SELECT count(*) FROM events"), "no record lost or doubled at the swap")
	afterSwap := tableChecksum(t, a, "events", "event_id")

	_, err = projection.Replay(context.Background(), projection.ReplayConfig{
		Pool: a.Pool, Projector: eventstable.Projector{},
	})
	require.NoError(t, err)
	require.Equal(t, afterSwap, tableChecksum(t, a, "events", "event_id"), "a quiet replay builds the same table")
}

func TestEventsBulkApplyIsIdempotent(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	record := events.EventsIngested{Events: []events.IngestedEvent{
		{EventID: uuid.New(), EventType: "info", Source: "a", Timestamp: now, ReceivedAt: now,
			Payload: []byte(`{"n":1}`), Metadata: []byte(`{}`)},
		{EventID: uuid.New(), EventType: "warn", Source: "b", Timestamp: now, ReceivedAt: now,
			Payload: []byte(`{"n":2}`), Metadata: []byte(`{"k":"v"}`)},
	}}
	bulk := eventstable.Projector{}.WithTables(map[string]string{"events": "events"})

	for range 2 {
		err := pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
			return bulk.Apply(ctx, tx, record, projection.Meta{})
		})
		require.NoError(t, err, "a second COPY of the same events falls back to the INSERT")
	}

	require.Equal(t, 2, a.Count("SELECT count(*) FROM events"))
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM events WHERE payload::jsonb = '{"n":2}' AND metadata::jsonb = '{"k":"v"}'`))
}

func TestReplayNeedsAdminScope(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	_, readKey := createKey(t, a, "reader", auth.ScopeRead)
	_, adminKey := createKey(t, a, "admin", auth.ScopeAdmin)

	status, _, body := request(t, a, http.MethodPost, "/api/v1/projections/events/replay", "bearer", readKey, "")
	require.Equal(t, http.StatusForbidden, status, "body: %s", body)

	status, _, body = request(t, a, http.MethodPost, "/api/v1/projections/events/replay", "", "", "")
	require.Equal(t, http.StatusUnauthorized, status, "body: %s", body)

	status, _, body = request(t, a, http.MethodGet, "/api/v1/projections", "x-api-key", readKey, "")
	require.Equal(t, http.StatusOK, status, "body: %s", body)

	status, _, body = request(t, a, http.MethodPost, "/api/v1/projections/api_keys/replay", "bearer", adminKey, "")
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	testapp.WaitFor(t, 30*time.Second, "the api_keys replay to complete", func() bool {
		return a.Count(`SELECT count(*) FROM projection_replays
			WHERE projection = 'api_keys' AND status = 'completed'`) == 1
	})
	require.Equal(t, 2, a.Count("SELECT count(*) FROM api_keys"))

	status, _, body = request(t, a, http.MethodGet, "/api/v1/events", "bearer", adminKey, "")
	require.Equal(t, http.StatusOK, status, "keys keep working after their table is swapped: %s", body)
}

func TestProjectionsReportFailure(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := context.Background()
	_, err := a.Pool.Exec(ctx, `ALTER TABLE events ADD CONSTRAINT events_not_bad CHECK (source <> 'bad')`)
	require.NoError(t, err)

	status, _, body := postJSON(t, a, "/api/v1/events", `{"event_type":"info","source":"bad"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	projectionNamed := func(name string) oas.Projection {
		list, err := a.Client.ListProjections(ctx)
		require.NoError(t, err)
		for _, p := range list.Data {
			if p.Name == name {
				return p
			}
		}
		require.FailNow(t, "projection missing", name)

		return oas.Projection{}
	}

	testapp.WaitFor(t, 30*time.Second, "the events projection to fail", func() bool {
		return projectionNamed("events").State == oas.ProjectionStateFailed
	})
	// The batch's write fails first, and the batch is then read again and
	// applied one record at a time, which makes the record a dead letter.
	testapp.WaitFor(t, 30*time.Second, "the record to become a dead letter", func() bool {
		return a.Count(`SELECT count(*) FROM dead_letters WHERE handler = 'projection.events'`) == 1
	})
	failed := projectionNamed("events")
	require.Contains(t, failed.LastError.Value, "events_not_bad")
	require.True(t, failed.LastErrorAt.Set)
	require.Zero(t, failed.LagRecords, "a record that cannot be applied is skipped as a dead letter")
	require.Equal(t, 0, a.Count("SELECT count(*) FROM events"))

	// Once the cause is fixed, a replay applies the skipped record.
	_, err = a.Pool.Exec(ctx, `ALTER TABLE events DROP CONSTRAINT events_not_bad`)
	require.NoError(t, err)

	res, err := a.Client.ReplayProjection(ctx, oas.OptReplayRequest{}, oas.ReplayProjectionParams{Name: "events"})
	require.NoError(t, err)
	_, ok := res.(*oas.ReplayAccepted)
	require.True(t, ok, "response %T", res)
	waitForEvents(t, a, 1)

	status, _, body = postJSON(t, a, "/api/v1/events", `{"event_type":"info","source":"good"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	waitForEvents(t, a, 2)

	testapp.WaitFor(t, 30*time.Second, "the events projection to recover", func() bool {
		return projectionNamed("events").State == oas.ProjectionStateRunning
	})
	recovered := projectionNamed("events")
	require.Zero(t, recovered.LagRecords)
	require.False(t, recovered.LastErrorAt.Value.After(recovered.LastAdvancedAt.Value),
		"advanced %s, failed %s (whole seconds in JSON)", recovered.LastAdvancedAt.Value, recovered.LastErrorAt.Value)
	require.Equal(t, failed.LastError, recovered.LastError, "the last error stays on record")
}
