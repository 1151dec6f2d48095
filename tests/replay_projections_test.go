package tests

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/app"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/detector"
)

// tableKeys orders the rows of each replayable table for tableChecksum.
var tableKeys = map[string]string{
	"events":                 "event_id",
	"api_keys":               "key_id",
	"rules":                  "rule_id",
	"anomalies":              "anomaly_id",
	"metric_rollups":         "bucket_start, event_type, source",
	"metric_rollups_records": "record_id",
	"detections":             "anomaly_id",
}

// replayable returns the projector of the catalog named name.
func replayable(t *testing.T, name string) projection.Rebuildable {
	t.Helper()

	projector, err := app.Catalog(slog.New(slog.DiscardHandler)).Rebuildable(name)
	require.NoError(t, err)

	return projector
}

// storageParameters returns the storage parameters (reloptions) of each
// table of projector, such as "fillfactor=50".
func storageParameters(t *testing.T, a *testapp.App, projector projection.Rebuildable) map[string][]string {
	t.Helper()

	parameters := map[string][]string{}
	for _, table := range projector.Tables() {
		var options []string
		require.NoError(t, a.Pool.QueryRow(background(),
			`SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = $1::regclass`, table).Scan(&options))
		parameters[table] = options
	}

	return parameters
}

// checksums returns tableChecksum of each table of projector.
func checksums(t *testing.T, a *testapp.App, projector projection.Rebuildable) map[string]string {
	t.Helper()

	sums := map[string]string{}
	for _, table := range projector.Tables() {
		key, ok := tableKeys[table]
		require.True(t, ok, "no checksum key for table %q", table)
		sums[table] = tableChecksum(t, a, table, key)
	}

	return sums
}

// handledRecords counts the records of the log that projector handles.
func handledRecords(t *testing.T, a *testapp.App, projector projection.Projector) int64 {
	t.Helper()

	rows, err := a.Pool.Query(background(), `SELECT metadata->>'name', count(*) FROM event_log GROUP BY 1`)
	require.NoError(t, err)

	var handled int64
	var name string
	var count int64
	_, err = pgx.ForEachRow(rows, []any{&name, &count}, func() error {
		if projector.Handles(name) {
			handled += count
		}
		return nil
	})
	require.NoError(t, err)

	return handled
}

// startWithHistory starts an app whose log contains the real logs, the two
// Apache rules and their anomalies, a rule replaced and then deleted, and
// waits until every replayable projector has applied all of it.
func startWithHistory(t *testing.T) *testapp.App {
	t.Helper()

	a := testapp.Start(t, testapp.Options{})
	apacheRules(t, a)
	noise := appendRuleCreated(t, a.Pool, thresholdSpec("info noise",
		&events.Filters{EventType: "info"}, nil, 1000, 10, 10))
	replaced := thresholdSpec("info noise", &events.Filters{EventType: "info"}, nil, 2000, 10, 10)
	appendRuleEvent(t, a.Pool, noise, 2, events.RuleReplaced{RuleID: noise, Version: 2, Spec: replaced})
	appendRuleEvent(t, a.Pool, noise, 3, events.RuleDeleted{RuleID: noise, Version: 3})

	ingestRealLogs(t, a, dataDir(t))
	waitForDetection(t, a)
	for _, name := range app.Catalog(slog.New(slog.DiscardHandler)).RebuildableNames() {
		waitForCaughtUp(t, a, replayable(t, name).Name())
	}

	require.Equal(t, 3, a.Count(`SELECT count(*) FROM rules`))
	require.Positive(t, a.Count(`SELECT count(*) FROM anomalies`))
	require.Equal(t, a.Count(`SELECT count(*) FROM anomalies`), a.Count(`SELECT count(*) FROM detections`))

	return a
}

// TestReplayEveryProjection replays each projection of the catalog over
// the real logs twice: once whole, with reads polled during it, and once
// interrupted after four batches and resumed. Both must swap in tables
// equal row for row to the live ones.
func TestReplayEveryProjection(t *testing.T) {
	t.Parallel()

	a := startWithHistory(t)
	anomalyRecords := a.Count(`SELECT count(*) FROM event_log WHERE metadata->>'name' = 'AnomalyDetected'`)
	records := int64(a.Count(`SELECT count(*) FROM event_log`))

	for _, name := range app.Catalog(slog.New(slog.DiscardHandler)).RebuildableNames() {
		t.Run(name, func(t *testing.T) {
			projector := replayable(t, name)
			before := checksums(t, a, projector)
			parametersBefore := storageParameters(t, a, projector)
			group := projector.Name()
			offset := fmt.Sprintf(`SELECT offset_acked FROM event_log_offsets WHERE consumer_group = '%s'`, group)
			offsetBefore := a.Count(offset)

			stop := make(chan struct{})
			statuses, polling := pollEvents(a, stop)
			whole, err := projection.Replay(context.Background(), projection.ReplayConfig{
				Pool: a.Pool, Projector: projector, BatchSize: 5,
			})
			close(stop)
			polling.Wait()
			require.NoError(t, err)
			require.Equal(t, projection.ReplayCompleted, whole.Status)
			require.Equal(t, records, whole.RecordsRead)
			require.Equal(t, handledRecords(t, a, projector), whole.RecordsApplied)
			for i, status := range statuses() {
				require.Equal(t, http.StatusOK, status, "read %d during the replay", i)
			}
			require.Equal(t, before, checksums(t, a, projector), "replayed tables equal the live ones")
			require.Equal(t, parametersBefore, storageParameters(t, a, projector),
				"replayed tables keep the storage parameters")
			require.Equal(t, offsetBefore, a.Count(offset), "the offset stays at the end of the log")

			ctx, cancel := context.WithCancel(context.Background())
			var batches atomic.Int64
			interrupted, err := projection.Replay(ctx, projection.ReplayConfig{
				Pool: a.Pool, Projector: projector, BatchSize: 3,
				Progress: func(projection.ReplayProgress) {
					if batches.Add(1) == 4 {
						cancel()
					}
				},
			})
			require.ErrorIs(t, err, context.Canceled)
			require.Equal(t, projection.ReplayInterrupted, interrupted.Status)
			require.Equal(t, int64(12), interrupted.RecordsRead)
			require.Equal(t, before, checksums(t, a, projector), "the live tables are untouched")

			resumed, err := projection.Replay(context.Background(), projection.ReplayConfig{
				Pool: a.Pool, Projector: projector, BatchSize: 7,
			})
			require.NoError(t, err)
			require.Equal(t, projection.ReplayCompleted, resumed.Status)
			require.Equal(t, records, resumed.RecordsRead, "the resumed replay reads each record once")
			require.Equal(t, before, checksums(t, a, projector), "the resumed replay gives the same tables")
			require.Zero(t, a.Count(`SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\_\_replay'`))
		})
	}

	require.Equal(t, anomalyRecords,
		a.Count(`SELECT count(*) FROM event_log WHERE metadata->>'name' = 'AnomalyDetected'`),
		"replays append nothing to the log")
	requireNoDuplicateRecords(t, a)
}

// TestReplayDetectorDuringIngest replays the detector while the second
// half of the Apache log arrives. The replay appends nothing and the live
// detector keeps its offset, so the anomalies in the log are still exactly
// the reference's, each appended once.
func TestReplayDetectorDuringIngest(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rules := apacheRules(t, a)
	lines := readLines(t, "loghub-apache.ndjson")
	half := len(lines) / 2

	sendLineBatches(t, a, lines[:half], 100, 0)
	waitForEvents(t, a, half)
	waitForDetection(t, a)
	require.Positive(t, a.Count(`SELECT count(*) FROM detections`))

	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for start := half; start < len(lines); start += 50 {
			batch := lines[start:min(start+50, len(lines))]
			body := "[" + strings.Join(batch, ",") + "]"
			response, err := http.Post(a.URL+"/api/v1/events/batch", "application/json", strings.NewReader(body))
			if err == nil {
				_ = response.Body.Close()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	progress, err := projection.Replay(context.Background(), projection.ReplayConfig{
		Pool: a.Pool, Projector: replayable(t, "detector"), BatchSize: 1,
		Progress: func(projection.ReplayProgress) { time.Sleep(5 * time.Millisecond) },
	})
	require.NoError(t, err)
	require.Equal(t, projection.ReplayCompleted, progress.Status)
	<-sent

	waitForEvents(t, a, len(lines))
	waitForDetection(t, a)

	want, _ := referenceAll(loggedEvents(t, a.Pool), rules...)
	require.Equal(t, want, storedAnomalies(t, a.Pool), "the anomalies equal the reference")
	requireNoDuplicateRecords(t, a)
	require.Equal(t, a.Count(`SELECT count(*) FROM anomalies`), a.Count(`SELECT count(*) FROM detections`))
	require.Zero(t, a.Count(`SELECT count(*) FROM anomalies a
		WHERE NOT EXISTS (SELECT 1 FROM detections d WHERE d.anomaly_id = a.anomaly_id)`))
}

// TestReplayDetectorThroughAPI replays the detector with the projections
// API and checks that it sent nothing: no record appended, no delivery.
func TestReplayDetectorThroughAPI(t *testing.T) {
	t.Parallel()

	a := startWithHistory(t)
	before := checksums(t, a, replayable(t, "detector"))
	anomalyRecords := a.Count(`SELECT count(*) FROM event_log WHERE metadata->>'name' = 'AnomalyDetected'`)
	deliveries := a.Count(`SELECT count(*) FROM notification_deliveries`)
	ctx := context.Background()

	res, err := a.Client.ReplayProjection(ctx, oas.OptReplayRequest{}, oas.ReplayProjectionParams{Name: "detector"})
	require.NoError(t, err)
	accepted, ok := res.(*oas.ReplayAccepted)
	require.True(t, ok, "response %T", res)

	testapp.WaitFor(t, 60*time.Second, "the detector replay to complete", func() bool {
		res, err := a.Client.GetProjectionReplay(ctx, oas.GetProjectionReplayParams{Name: "detector"})
		require.NoError(t, err)
		progress, ok := res.(*oas.ReplayProgress)
		return ok && progress.JobID == accepted.JobID && progress.Status == oas.ReplayProgressStatusCompleted
	})

	require.Equal(t, before, checksums(t, a, replayable(t, "detector")))
	require.Equal(t, anomalyRecords,
		a.Count(`SELECT count(*) FROM event_log WHERE metadata->>'name' = 'AnomalyDetected'`))
	require.Equal(t, deliveries, a.Count(`SELECT count(*) FROM notification_deliveries`))

	list, err := a.Client.ListProjections(ctx)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, p := range list.Data {
		names[p.Name] = p.Replayable
	}
	for _, name := range []string{"events", "api_keys", "rules", "anomalies", "metric_rollups", "detector"} {
		require.True(t, names[name], "projection %s is listed as replayable", name)
	}
	require.False(t, names["notifier"], "the notifier is never replayed")

	status, _, body := postJSON(t, a, "/api/v1/projections/notifier/replay", `{}`)
	require.Equal(t, http.StatusConflict, status, "body: %s", body)
	require.JSONEq(t, `{"error":"projection notifier cannot be replayed"}`, string(body))
}

func TestDetectionsMigrationBackfill(t *testing.T) {
	t.Parallel()

	ctx := background()
	pool, migrator := openMigrator(t)

	logger := slog.New(slog.DiscardHandler)
	require.NoError(t, migrator.DownTo(ctx, 89, logger))

	anomaly := newAnomaly("critical")
	cause := uuid.New()
	msg, err := events.NewMessage(anomaly, events.Envelope{
		CausationID: cause.String(), Actor: detector.Actor, RecordedAt: time.Now().UTC(),
	})
	require.NoError(t, err)
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return eventlog.Append(ctx, tx, msg) }))

	require.NoError(t, migrator.Up(ctx, logger))

	var got struct {
		RuleID, EventID, Cause uuid.UUID
		Version                int
		GroupKey               string
		DetectedAt             time.Time
	}
	require.NoError(t, pool.QueryRow(ctx, `SELECT rule_id, event_id, cause_record_id, rule_version, group_key, detected_at
		FROM detections WHERE anomaly_id = $1`, anomaly.AnomalyID).
		Scan(&got.RuleID, &got.EventID, &got.Cause, &got.Version, &got.GroupKey, &got.DetectedAt))
	require.Equal(t, anomaly.RuleID, got.RuleID)
	require.Equal(t, anomaly.EventID, got.EventID)
	require.Equal(t, cause, got.Cause)
	require.Equal(t, anomaly.RuleVersion, got.Version)
	require.Equal(t, anomaly.GroupKey, got.GroupKey)
	require.True(t, anomaly.DetectedAt.Equal(got.DetectedAt), "detected_at %s, want %s", got.DetectedAt, anomaly.DetectedAt)
}
