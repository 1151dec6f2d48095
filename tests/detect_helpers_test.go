package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// appendRuleEvent appends a rule event to the log as the rule command
// handlers do: one record in the rule's stream at version.
func appendRuleEvent(t *testing.T, pool *pgxpool.Pool, ruleID uuid.UUID, version int, event events.Event) {
	t.Helper()

	msg, err := events.NewMessage(event, events.Envelope{
		CorrelationID: uuid.NewString(),
		CausationID:   uuid.NewString(),
		Actor:         events.ActorAnonymous,
		RecordedAt:    time.Now().UTC(),
		StreamID:      ruleID.String(),
		StreamVersion: version,
	})
	require.NoError(t, err)

	err = pgx.BeginFunc(background(), pool, func(tx pgx.Tx) error {
		return eventlog.Append(background(), tx, msg)
	})
	require.NoError(t, err)
}

// appendRuleCreated appends RuleCreated for spec and returns the rule id.
func appendRuleCreated(t *testing.T, pool *pgxpool.Pool, spec events.RuleSpec) uuid.UUID {
	t.Helper()

	id := uuid.New()
	appendRuleEvent(t, pool, id, 1, events.RuleCreated{RuleID: id, Version: 1, Spec: spec})

	return id
}

func thresholdSpec(name string, filters *events.Filters, groupBy []string, value float64, window, cooldown int) events.RuleSpec {
	return events.RuleSpec{
		Name:            name,
		Enabled:         true,
		Severity:        "critical",
		WindowSeconds:   window,
		CooldownSeconds: cooldown,
		Condition: events.Condition{
			Type:     events.ConditionThreshold,
			Metric:   "count",
			Filters:  filters,
			Operator: ">",
			Value:    &value,
			GroupBy:  groupBy,
		},
	}
}

// readLines returns the lines of a data file, one JSON event each.
func readLines(t *testing.T, name string) []string {
	t.Helper()

	file, err := os.Open(filepath.Join(dataDir(t), name))
	require.NoError(t, err)
	defer file.Close()

	var lines []string
	scanner := bufio.NewScanner(file)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		if line := strings.TrimSpace(scanner.Text()); line != "" {
			lines = append(lines, line)
		}
	}
	require.NoError(t, scanner.Err())

	return lines
}

// sendLineBatches posts lines in order, size events per request, waiting pause
// between requests.
func sendLineBatches(t *testing.T, a *testapp.App, lines []string, size int, pause time.Duration) {
	t.Helper()

	for start := 0; start < len(lines); start += size {
		batch := lines[start:min(start+size, len(lines))]
		status, _, body := postJSON(t, a, "/api/v1/events/batch", "["+strings.Join(batch, ",")+"]")
		require.Equal(t, http.StatusAccepted, status, "body: %s", body)
		time.Sleep(pause)
	}
}

// waitForEventsWithin waits up to timeout until the events table holds n
// rows.
func waitForEventsWithin(t *testing.T, a *testapp.App, n int, timeout time.Duration) {
	t.Helper()

	testapp.WaitFor(t, timeout, "events table to hold the accepted events", func() bool {
		return a.Count("SELECT count(*) FROM events") >= n
	})
	require.Equal(t, n, a.Count("SELECT count(*) FROM events"))
}

// waitForDetection waits until the detector and the anomalies projection
// have read the whole log.
func waitForDetection(t *testing.T, a *testapp.App) {
	t.Helper()

	testapp.WaitFor(t, 60*time.Second, "detector and anomalies projection to reach the end of the log", func() bool {
		return a.Count(`SELECT count(*) FROM event_log_offsets o
			WHERE consumer_group IN ('detector', 'projection.anomalies')
			AND (o.last_processed_transaction_id, o.offset_acked) >= (
				SELECT transaction_id, "offset" FROM event_log
				ORDER BY transaction_id DESC, "offset" DESC LIMIT 1)`) == 2
	})
}

// loggedEvents returns the ingested events in log order.
func loggedEvents(t *testing.T, pool *pgxpool.Pool) []events.IngestedEvent {
	t.Helper()

	rows, err := pool.Query(background(), `SELECT payload FROM event_log
		WHERE metadata->>'name' = 'EventsIngested' ORDER BY transaction_id, "offset"`)
	require.NoError(t, err)

	payloads, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	require.NoError(t, err)

	var all []events.IngestedEvent
	for _, payload := range payloads {
		var record events.EventsIngested
		require.NoError(t, json.Unmarshal(payload, &record))
		all = append(all, record.Events...)
	}

	return all
}

// found is an anomaly reduced to what the reference computes.
type found struct {
	RuleID   uuid.UUID
	EventID  uuid.UUID
	GroupKey string
	At       time.Time
	Observed float64
}

// storedAnomalies returns the rows of the anomalies table as found values,
// sorted.
func storedAnomalies(t *testing.T, pool *pgxpool.Pool) []found {
	t.Helper()

	rows, err := pool.Query(background(), `SELECT rule_id, event_id, group_key, detected_at, observed FROM anomalies`)
	require.NoError(t, err)

	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (found, error) {
		var f found
		err := row.Scan(&f.RuleID, &f.EventID, &f.GroupKey, &f.At, &f.Observed)
		f.At = f.At.UTC()
		return f, err
	})
	require.NoError(t, err)

	return sortFound(list)
}

func sortFound(list []found) []found {
	slices.SortFunc(list, func(a, b found) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if c := strings.Compare(a.RuleID.String(), b.RuleID.String()); c != 0 {
			return c
		}
		return strings.Compare(a.EventID.String(), b.EventID.String())
	})

	return list
}

// requireNoDuplicateRecords checks that the log holds one AnomalyDetected
// record per anomaly id.
func requireNoDuplicateRecords(t *testing.T, a *testapp.App) {
	t.Helper()

	records := a.Count(`SELECT count(*) FROM event_log WHERE metadata->>'name' = 'AnomalyDetected'`)
	distinct := a.Count(`SELECT count(DISTINCT payload->>'anomaly_id') FROM event_log
		WHERE metadata->>'name' = 'AnomalyDetected'`)
	require.Equal(t, distinct, records, "an anomaly was appended twice")
	require.Equal(t, records, a.Count(`SELECT count(*) FROM anomalies`))
}

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()

	pool, err := pgxpool.New(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	return pool
}
