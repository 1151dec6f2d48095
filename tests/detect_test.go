package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// apacheRules creates the two rules of the Apache tests and returns their
// reference versions. The first fires on more than 5 errors from
// apache/apache in 60s, with a 60s cooldown. The second fires on more than
// 5 events of one log template in 60s, with a 30s cooldown and 1s of
// allowed lateness, so some of the file's out-of-order lines are late.
func apacheRules(t *testing.T, a *testapp.App) []referenceRule {
	t.Helper()

	errors := appendRuleCreated(t, a.Pool, thresholdSpec("apache error burst",
		&events.Filters{EventType: "error", Source: "apache/apache"}, nil, 5, 60, 60))

	templates := thresholdSpec("template burst", &events.Filters{Source: "apache/apache"},
		[]string{"payload.template_id"}, 5, 60, 30)
	templates.Severity = "warning"
	lateness := 1
	templates.AllowedLatenessSeconds = &lateness
	perTemplate := appendRuleCreated(t, a.Pool, templates)

	return []referenceRule{
		{ID: errors, EventType: "error", Source: "apache/apache", Value: 5,
			Window: time.Minute, Cooldown: time.Minute, Lateness: time.Minute},
		{ID: perTemplate, Source: "apache/apache", GroupPath: "template_id", Value: 5,
			Window: time.Minute, Cooldown: 30 * time.Second, Lateness: time.Second},
	}
}

func TestDetectApacheFastBatches(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rules := apacheRules(t, a)
	lines := readLines(t, "loghub-apache.ndjson")

	sendLineBatches(t, a, lines, 500, 0)
	waitForEvents(t, a, len(lines))
	waitForDetection(t, a)

	want, late := referenceAll(loggedEvents(t, a.Pool), rules...)
	require.Positive(t, late, "the lateness of the template rule skips some lines")
	apacheErrors, _ := referenceDetect(rules[0], loggedEvents(t, a.Pool))
	require.Len(t, apacheErrors, 24, "the Apache sample holds 24 error bursts")
	require.Equal(t, want, storedAnomalies(t, a.Pool))
	requireNoDuplicateRecords(t, a)

	t.Run("replay", func(t *testing.T) { requireReplayEqual(t, a) })
	t.Run("api", func(t *testing.T) { requireAnomaliesAPI(t, a, rules) })
}

func TestDetectApacheSlowInOrder(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rules := apacheRules(t, a)
	lines := readLines(t, "loghub-apache.ndjson")

	sendLineBatches(t, a, lines, 7, 2*time.Millisecond)
	waitForEvents(t, a, len(lines))
	waitForDetection(t, a)

	want, _ := referenceAll(loggedEvents(t, a.Pool), rules...)
	require.Equal(t, want, storedAnomalies(t, a.Pool))
	requireNoDuplicateRecords(t, a)
}

func TestDetectRestartMidStream(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rules := apacheRules(t, a)
	lines := readLines(t, "loghub-apache.ndjson")
	inBurst, inCooldown := restartPoints(t, lines, rules[0])

	probes := 0
	restartAt := func(n int) {
		waitForEventsWithin(t, a, n+probes, 2*time.Minute)
		waitForDetection(t, a)
		a.StopWorker()
		a.StartWorker()
		probes += probeIngest(t, a)
	}

	// The first restart leaves 5 errors in the window and the 6th after it.
	// The second falls right after a firing, with more errors to come
	// within its cooldown.
	// NOTE: each restart waits for the projectors to go idle, because
	// stopping the worker while a projector applies a record is a data race
	// in the log subscriber: it closes the connection of the transaction
	// that the handler is still using.
	sendLineBatches(t, a, lines[:inBurst], 25, time.Millisecond)
	restartAt(inBurst)
	sendLineBatches(t, a, lines[inBurst:inCooldown], 25, time.Millisecond)
	restartAt(inCooldown)
	sendLineBatches(t, a, lines[inCooldown:], 25, time.Millisecond)

	waitForEventsWithin(t, a, len(lines)+probes, 2*time.Minute)
	waitForDetection(t, a)

	want, _ := referenceAll(loggedEvents(t, a.Pool), rules...)
	require.Equal(t, want, storedAnomalies(t, a.Pool))
	requireNoDuplicateRecords(t, a)
}

// probeIngest sends one event that no rule counts until one is stored,
// and returns how many it sent. Commands sent right after a worker restart
// can stay pending in Redis until a consumer claims them (30s later),
// which would reorder the log around the restart.
func probeIngest(t *testing.T, a *testapp.App) int {
	t.Helper()

	const stored = `SELECT count(*) FROM events WHERE source = 'probe'`
	before := a.Count(stored)
	sent := 0
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		status, _, body := postJSON(t, a, "/api/v1/events", `{"event_type":"probe","source":"probe"}`)
		require.Equal(t, http.StatusAccepted, status, "body: %s", body)
		sent++

		for range 20 {
			if a.Count(stored) > before {
				return sent
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	require.FailNow(t, "no probe event stored after a worker restart")

	return sent
}

// restartPoints returns two line counts at which to restart, for the error
// rule in file order. The first ends just before the line that fires the
// third burst. The second ends just after a firing line whose next error
// comes within 10 seconds, inside the cooldown.
func restartPoints(t *testing.T, lines []string, rule referenceRule) (inBurst, inCooldown int) {
	t.Helper()

	evs := make([]events.IngestedEvent, len(lines))
	index := map[uuid.UUID]int{}
	for i, line := range lines {
		require.NoError(t, json.Unmarshal([]byte(line), &evs[i]))
		evs[i].ReceivedAt = evs[i].Timestamp
		index[evs[i].EventID] = i
	}

	fired, _ := referenceDetect(rule, evs)
	require.Greater(t, len(fired), 3)
	inBurst = index[fired[2].EventID]

	for _, f := range fired[3:] {
		i := index[f.EventID]
		for j := i + 1; j < len(evs); j++ {
			if evs[j].EventType != rule.EventType {
				continue
			}
			if evs[j].Timestamp.Sub(f.At) < 10*time.Second {
				return inBurst, i + 1
			}
			break
		}
	}

	require.FailNow(t, "no firing with an error soon after it")

	return 0, 0
}

func TestDetectHotReload(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	lines := readLines(t, "loghub-apache.ndjson")

	sendLineBatches(t, a, lines[:1000], 100, 0)
	waitForEvents(t, a, 1000)

	spec := thresholdSpec("apache error burst", &events.Filters{EventType: "error"}, nil, 5, 60, 60)
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(50 * time.Millisecond)
		appendRuleCreated(t, a.Pool, spec)
	}()
	sendLineBatches(t, a, lines[1000:], 20, time.Millisecond)
	<-done

	waitForEvents(t, a, len(lines))
	waitForDetection(t, a)

	var ruleID uuid.UUID
	var after []events.IngestedEvent
	rows, err := a.Pool.Query(background(), `SELECT metadata->>'name', payload FROM event_log
		WHERE metadata->>'name' IN ('EventsIngested', 'RuleCreated') ORDER BY transaction_id, "offset"`)
	require.NoError(t, err)
	created := false
	for rows.Next() {
		var name string
		var payload []byte
		require.NoError(t, rows.Scan(&name, &payload))
		if name == events.RuleCreatedName {
			var rule events.RuleCreated
			require.NoError(t, json.Unmarshal(payload, &rule))
			ruleID, created = rule.RuleID, true
			continue
		}

		var record events.EventsIngested
		require.NoError(t, json.Unmarshal(payload, &record))
		if created {
			after = append(after, record.Events...)
		}
	}
	require.NoError(t, rows.Err())
	require.Less(t, len(after), 1000, "the rule was created while events flowed")

	want, _ := referenceAll(after, referenceRule{
		ID: ruleID, EventType: "error", Value: 5, Window: time.Minute, Cooldown: time.Minute, Lateness: time.Minute,
	})
	require.NotEmpty(t, want)
	require.Equal(t, want, storedAnomalies(t, a.Pool))
}

func TestDetectRuleChangesApplyInLogOrder(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	spec := thresholdSpec("bursts", &events.Filters{EventType: "error"}, nil, 1, 60, 0)
	id := appendRuleCreated(t, a.Pool, spec)

	send := func(second int, n int) {
		var items []string
		for range n {
			items = append(items, fmt.Sprintf(`{"event_type":"error","source":"s","timestamp":"%s"}`,
				at(second).Value.Format(time.RFC3339)))
		}
		status, _, body := postJSON(t, a, "/api/v1/events/batch", "["+strings.Join(items, ",")+"]")
		require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	}
	settle := func(n int) {
		waitForEvents(t, a, n)
		waitForDetection(t, a)
	}

	send(1, 2)
	settle(2)
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM anomalies WHERE rule_version = 1`))

	patched := spec
	value := 3.0
	patched.Condition.Value = &value
	appendRuleEvent(t, a.Pool, id, 2, events.RulePatched{RuleID: id, Version: 2, Patch: []byte(`{}`), Spec: patched})
	send(2, 3)
	settle(5)
	require.Equal(t, 0, a.Count(`SELECT count(*) FROM anomalies WHERE rule_version = 2`),
		"version 2 starts with an empty window: 3 events are not more than 3")

	disabled := patched
	disabled.Enabled = false
	appendRuleEvent(t, a.Pool, id, 3, events.RuleReplaced{RuleID: id, Version: 3, Spec: disabled})
	send(3, 5)
	settle(10)
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM anomalies`), "a disabled rule never fires")

	appendRuleEvent(t, a.Pool, id, 4, events.RuleReplaced{RuleID: id, Version: 4, Spec: spec})
	send(4, 2)
	settle(12)
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM anomalies WHERE rule_version = 4`))

	appendRuleEvent(t, a.Pool, id, 5, events.RuleDeleted{RuleID: id, Version: 5})
	send(5, 4)
	settle(16)
	require.Equal(t, 2, a.Count(`SELECT count(*) FROM anomalies`), "a deleted rule never fires")
}

// requireReplayEqual copies the input records of a's log into an empty
// database, runs a fresh worker on it and compares the anomaly rows.
func requireReplayEqual(t *testing.T, a *testapp.App) {
	url := testapp.NewDatabase(t)
	target := newPool(t, url)

	rows, err := a.Pool.Query(background(), `SELECT "offset", uuid, created_at, payload, metadata,
		transaction_id::text AS transaction_id_text
		FROM event_log WHERE metadata->>'name' <> 'AnomalyDetected' ORDER BY event_log.transaction_id, event_log."offset"`)
	require.NoError(t, err)
	records, err := pgx.CollectRows(rows, pgx.RowToStructByPos[logRow])
	require.NoError(t, err)

	err = pgx.BeginFunc(background(), target, func(tx pgx.Tx) error {
		for _, r := range records {
			_, err := tx.Exec(background(), `INSERT INTO event_log ("offset", uuid, created_at, payload, metadata, transaction_id)
				VALUES ($1, $2, $3, $4, $5, $6::text::xid8)`, r.Offset, r.UUID, r.CreatedAt, r.Payload, r.Metadata, r.TransactionID)
			if err != nil {
				return err
			}
		}
		_, err := tx.Exec(background(), `SELECT setval('event_log_offset_seq', (SELECT max("offset") FROM event_log))`)
		return err
	})
	require.NoError(t, err)

	replay := testapp.Start(t, testapp.Options{Config: func(c *config.Config) { c.DatabaseURL = url }})
	waitForEvents(t, replay, a.Count(`SELECT count(*) FROM events`))
	waitForDetection(t, replay)

	require.Equal(t, anomalyRows(t, a), anomalyRows(t, replay))
}

type logRow struct {
	Offset        int64
	UUID          string
	CreatedAt     time.Time
	Payload       []byte
	Metadata      []byte
	TransactionID string
}

// anomalyRows returns every column of the anomalies table as text, one
// row per anomaly, ordered by id.
func anomalyRows(t *testing.T, a *testapp.App) []string {
	t.Helper()

	rows, err := a.Pool.Query(background(), `SELECT a::text FROM anomalies a ORDER BY anomaly_id`)
	require.NoError(t, err)
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NotEmpty(t, list)

	return list
}

func requireAnomaliesAPI(t *testing.T, a *testapp.App, rules []referenceRule) {
	ctx := background()
	total := a.Count(`SELECT count(*) FROM anomalies`)

	list, err := a.Client.ListAnomalies(ctx, oas.ListAnomaliesParams{})
	require.NoError(t, err)
	require.Len(t, list.Data, 20)
	require.Equal(t, oas.Pagination{Limit: 20, Offset: 0, Count: 20}, list.Pagination)
	for i := 1; i < len(list.Data); i++ {
		require.False(t, list.Data[i].DetectedAt.After(list.Data[i-1].DetectedAt), "newest first")
	}

	byRule, err := a.Client.ListAnomalies(ctx, oas.ListAnomaliesParams{
		RuleID: oas.NewOptUUID(rules[0].ID), Limit: oas.NewOptInt(100),
	})
	require.NoError(t, err)
	require.Len(t, byRule.Data, 24)
	first := byRule.Data[len(byRule.Data)-1]
	require.Equal(t, "apache error burst", first.RuleName)
	require.Equal(t, "critical", first.Severity)
	require.Equal(t, 1, first.RuleVersion)
	require.Equal(t, ">", first.Operator)
	require.Equal(t, float64(5), first.Threshold)
	require.Greater(t, first.Observed, float64(5))
	require.Equal(t, first.DetectedAt.Add(-time.Minute), first.WindowStart)
	require.Equal(t, first.DetectedAt, first.WindowEnd)
	require.Len(t, first.SampleEventIds, int(first.Observed))
	require.Equal(t, first.EventID, first.SampleEventIds[len(first.SampleEventIds)-1])
	require.Contains(t, first.Message, fmt.Sprintf("%v matching events in 60s, > 5", first.Observed))

	warning, err := a.Client.ListAnomalies(ctx, oas.ListAnomaliesParams{
		Severity: []oas.Severity{oas.SeverityWarning},
		Limit:    oas.NewOptInt(100),
	})
	require.NoError(t, err)
	require.Len(t, warning.Data, min(100, total-24))
	for _, anomaly := range warning.Data {
		require.Equal(t, rules[1].ID, anomaly.RuleID)
	}

	key := `payload.template_id="E3"`
	byKey, err := a.Client.ListAnomalies(ctx, oas.ListAnomaliesParams{GroupKey: oas.NewOptString(key), Limit: oas.NewOptInt(1000)})
	require.NoError(t, err)
	require.Equal(t, 100, byKey.Pagination.Limit, "limit is clamped to 100")
	require.Equal(t, min(100, a.Count(`SELECT count(*) FROM anomalies WHERE group_key = $1`, key)), len(byKey.Data))
	require.NotEmpty(t, byKey.Data)

	from, to := first.DetectedAt, first.DetectedAt.Add(time.Hour)
	window, err := a.Client.ListAnomalies(ctx, oas.ListAnomaliesParams{
		From: oas.NewOptDateTime(from), To: oas.NewOptDateTime(to), Limit: oas.NewOptInt(100), Offset: oas.NewOptInt(1),
	})
	require.NoError(t, err)
	require.Equal(t, a.Count(`SELECT count(*) FROM anomalies WHERE detected_at BETWEEN $1 AND $2`, from, to)-1, len(window.Data))

	one, err := a.Client.GetAnomaly(ctx, oas.GetAnomalyParams{AnomalyID: first.AnomalyID})
	require.NoError(t, err)
	require.Equal(t, first, *one)

	cases := []struct {
		path    string
		status  int
		message string
	}{
		{"/api/v1/anomalies/" + uuid.NewString(), http.StatusNotFound, "Anomaly not found"},
		{"/api/v1/anomalies/nope", http.StatusBadRequest, "anomaly_id must be a valid UUID"},
		{"/api/v1/anomalies?rule_id=nope", http.StatusBadRequest, "rule_id must be a valid UUID"},
		{"/api/v1/anomalies?limit=x", http.StatusBadRequest, "limit must be an integer"},
		{"/api/v1/anomalies?from=yesterday", http.StatusBadRequest, "from must be a valid ISO-8601 timestamp"},
		{"/api/v1/anomalies?from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z", http.StatusBadRequest, "from must not be after to"},
	}
	for _, tc := range cases {
		status, body := get(t, a, tc.path)
		require.Equal(t, tc.status, status, tc.path)
		require.JSONEq(t, fmt.Sprintf(`{"error":%q}`, tc.message), string(body), tc.path)
	}

	status, body := get(t, a, "/api/v1/anomalies?limit=0")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), `"limit":1`)
	for _, field := range []string{"anomaly_id", "event_id", "rule_id", "severity", "message", "detected_at"} {
		require.Contains(t, string(body), `"`+field+`"`)
	}
}
