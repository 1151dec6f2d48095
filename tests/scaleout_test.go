package tests

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/detector"
	"github.com/eventpulse/eventpulse/projections/eventstable"
)

const (
	scaleOutEvents    = 100_000
	scaleOutBatchSize = 500
	scaleOutSenders   = 4
)

// cluster is two API and two worker processes sharing one PostgreSQL
// database and one Redis stream prefix.
type cluster struct {
	databaseURL string
	apiAddrs    []string
	workers     map[string]*process
}

// startCluster builds the binary, migrates a new database with
// `eventpulse migrate` and starts the processes.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	env := testapp.Env(t)
	ctx := context.Background()

	name := fmt.Sprintf("scaleout_%s", strings.ReplaceAll(uuid.NewString()[:8], "-", ""))
	require.NoError(t, env.CreateDatabase(ctx, name, ""))
	c := &cluster{databaseURL: env.DatabaseURL(name), workers: map[string]*process{}}

	binary := buildBinary(t)
	common := []string{
		"REDIS_URL=redis://" + env.RedisAddr() + "/0",
		"EVENTPULSE_STREAM_PREFIX=" + name,
		"EVENTPULSE_LOG_LEVEL=info",
	}

	output, err := runProcess(ctx, binary, append(common, "DATABASE_URL="+c.databaseURL), "migrate")
	require.NoError(t, err, output)
	require.Contains(t, output, "database at migration version")

	for i := range 2 {
		addr := freeAddr(t)
		c.apiAddrs = append(c.apiAddrs, addr)
		startProcess(t, fmt.Sprintf("api-%d", i), binary, append(common,
			"DATABASE_URL="+c.databaseURL+"&application_name=api-"+fmt.Sprint(i),
			"EVENTPULSE_HTTP_ADDR="+addr), "api")
	}

	for i := range 2 {
		worker := fmt.Sprintf("worker-%d", i)
		c.workers[worker] = startProcess(t, worker, binary, append(common,
			"DATABASE_URL="+c.databaseURL+"&application_name="+worker,
			"EVENTPULSE_CONSUMER_NAME="+worker), "worker")
	}

	for _, addr := range c.apiAddrs {
		testapp.WaitFor(t, 30*time.Second, "eventpulse healthcheck passes for "+addr, func() bool {
			_, err := runProcess(ctx, binary, []string{"EVENTPULSE_HTTP_ADDR=" + addr}, "healthcheck")
			return err == nil
		})
	}

	return c
}

func (c *cluster) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	ctx := context.Background()

	pool, err := database.Open(ctx, c.databaseURL, 4)
	require.NoError(t, err)
	defer pool.Close()

	var n int
	require.NoError(t, pool.QueryRow(ctx, query, args...).Scan(&n))

	return n
}

// projectorHolder returns the worker whose lock connection holds the
// advisory lock of the projector name, or "" when none does. Worker
// connections carry the worker's name as application_name.
func (c *cluster) projectorHolder(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()

	pool, err := database.Open(ctx, c.databaseURL, 4)
	require.NoError(t, err)
	defer pool.Close()

	var holders []string
	rows, err := pool.Query(ctx, `
		SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.database = (
			SELECT oid FROM pg_database WHERE datname = current_database())
		AND (l.classid::bigint << 32 | l.objid::bigint) =
			hashtextextended('eventpulse.projection:' || $1, 0)`, name)
	require.NoError(t, err)
	for rows.Next() {
		var holder string
		require.NoError(t, rows.Scan(&holder))
		holders = append(holders, holder)
	}
	require.NoError(t, rows.Err())
	require.LessOrEqual(t, len(holders), 1, "holders %v", holders)

	if len(holders) == 0 {
		return ""
	}

	return holders[0]
}

// TestScaleOutKillWorker runs two API and two worker processes, creates a
// rule, connects WebSocket clients to both APIs, ingests 100,000 events
// through both APIs and kills the worker running the events projector with
// SIGKILL half way. Every event is stored exactly once, and every anomaly
// of the rule is recorded once and reaches the clients of both APIs.
func TestScaleOutKillWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and ingests 100,000 events")
	}
	t.Parallel()

	c := startCluster(t)

	var holder, detecting string
	testapp.WaitFor(t, 30*time.Second, "a worker holds the events projector and detector locks", func() bool {
		holder, detecting = c.projectorHolder(t, eventstable.Name), c.projectorHolder(t, detector.Name)
		return holder != "" && detecting != ""
	})

	rule := createPairRule(t, c.apiAddrs[0])
	var clients []*wsCollector
	for _, addr := range c.apiAddrs {
		clients = append(clients, collectWS(t, "http://"+addr))
	}
	settle()

	ids := make([]uuid.UUID, scaleOutEvents)
	for i := range ids {
		ids[i] = uuid.New()
	}

	var sent atomic.Int64
	killed := make(chan error, 1)
	start := time.Now()
	go func() {
		for sent.Load() < scaleOutEvents/2 {
			time.Sleep(5 * time.Millisecond)
		}
		killed <- c.workers[holder].kill()
	}()

	sendBatches(t, c.apiAddrs, ids, &sent)
	require.NoError(t, <-killed)

	// Each client loses its connection while anomalies are still being
	// detected and gets the ones it missed through ?after=.
	for _, client := range clients {
		client.drop(t)
	}

	t.Logf("%d events accepted in %s; killed %s half way (detector in %s)",
		scaleOutEvents, time.Since(start), holder, detecting)

	survivor := "worker-0"
	if holder == survivor {
		survivor = "worker-1"
	}

	// Commands the killed worker had read but not acknowledged stay pending
	// in Redis until the survivor claims them after bus.ClaimIdleDefault.
	testapp.WaitFor(t, 3*time.Minute, "every event in the events table", func() bool {
		return c.count(t, `SELECT count(*) FROM events`) >= scaleOutEvents
	})

	t.Logf("every event stored %s after the first request", time.Since(start))
	require.Equal(t, scaleOutEvents, c.count(t, `SELECT count(*) FROM events`))
	require.Equal(t, scaleOutEvents, c.count(t, `SELECT count(*) FROM events WHERE event_id = ANY($1)`, ids))
	require.Equal(t, scaleOutEvents, c.count(t, `SELECT count(*) FROM event_claims`))
	require.Equal(t, scaleOutEvents, c.count(t,
		`SELECT coalesce(sum(json_array_length(payload -> 'events')), 0)::int FROM event_log
		WHERE metadata->>'name' = 'EventsIngested'`),
		"each event appended to the log once")
	require.Equal(t, survivor, c.projectorHolder(t, eventstable.Name), "the surviving worker took over the projector")
	require.Equal(t, survivor, c.projectorHolder(t, detector.Name), "the surviving worker runs the detector")

	testapp.WaitFor(t, 2*time.Minute, "detector and anomalies projection to reach the end of the log", func() bool {
		return c.count(t, caughtUpQuery, []string{"detector", "projection.anomalies"}) == 2
	})

	pool := newPool(t, c.databaseURL)
	want, late := referenceDetect(rule, loggedEvents(t, pool))
	require.Zero(t, late)
	require.Equal(t, expectedPairBursts(scaleOutEvents/scaleOutBatchSize), keysOf(want),
		"one anomaly per group, whatever the order of the batches in the log")
	require.Equal(t, sortFound(want), storedAnomalies(t, pool))

	wantIDs := anomalyIDs(rule, want)
	require.Equal(t, wantIDs, storedAnomalyIDs(t, pool), "each anomaly stored once under its id")
	require.Equal(t, len(want), c.count(t, `SELECT count(*) FROM event_log WHERE metadata->>'name' = 'AnomalyDetected'`))
	require.Equal(t, len(want), c.count(t, `SELECT count(DISTINCT payload->>'anomaly_id') FROM event_log
		WHERE metadata->>'name' = 'AnomalyDetected'`), "each anomaly appended to the log once")

	for i, client := range clients {
		client.waitForAll(t, wantIDs, 2*time.Minute)
		require.Equal(t, 1, client.reconnected(), "the client of api-%d connected again once", i)
		t.Logf("WebSocket client of api-%d: %s", i, client)
	}
}

// caughtUpQuery counts the consumer groups in $1 whose offset is at the
// last record of the log.
const caughtUpQuery = `SELECT count(*) FROM event_log_offsets o
	WHERE consumer_group = ANY($1)
	AND (o.last_processed_transaction_id, o.offset_acked) >= (
		SELECT transaction_id, "offset" FROM event_log
		ORDER BY transaction_id DESC, "offset" DESC LIMIT 1)`

// lastRecordQuery returns the offset of the last record in log order.
// Workers append concurrently, so the highest offset need not be the last
// record: records are ordered by transaction id first.
const lastRecordQuery = `SELECT "offset" FROM event_log ORDER BY transaction_id DESC, "offset" DESC LIMIT 1`

// sendBatches posts ids as batches of scaleOutBatchSize events over
// scaleOutSenders connections, alternating between the APIs, and adds each
// accepted batch to sent.
func sendBatches(t *testing.T, apiAddrs []string, ids []uuid.UUID, sent *atomic.Int64) {
	t.Helper()

	batches := make(chan int)
	errs := make(chan error, scaleOutSenders)
	var wg sync.WaitGroup

	for sender := range scaleOutSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := range batches {
				addr := apiAddrs[(start/scaleOutBatchSize)%len(apiAddrs)]
				if err := postBatch(addr, ids[start:start+scaleOutBatchSize], start, sender); err != nil {
					errs <- err
					return
				}
				sent.Add(scaleOutBatchSize)
			}
		}()
	}

	for start := 0; start < len(ids); start += scaleOutBatchSize {
		batches <- start
	}
	close(batches)
	wg.Wait()
	close(errs)

	for err := range errs {
		require.NoError(t, err)
	}
}

// postBatch sends ids, which start at event number first, as one batch
// from sender. The events of batch number first/scaleOutBatchSize are
// pairBatchEvent events.
func postBatch(addr string, ids []uuid.UUID, first, sender int) error {
	var body strings.Builder
	body.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			body.WriteByte(',')
		}
		eventType, group, at := pairBatchEvent(first/scaleOutBatchSize, i)
		fmt.Fprintf(&body, `{"event_id":%q,"event_type":%q,"source":"sender-%d","timestamp":%q,"payload":{"n":%d,"group":%q}}`,
			id, eventType, sender, at.Format(time.RFC3339Nano), i, group)
	}
	body.WriteByte(']')

	return postBatchBody(addr, body.String())
}

// postBatchBody sends body to the batch endpoint of the API at addr and
// retries while the API returns 503, which it does when Redis does not
// accept the command in time.
func postBatchBody(addr, body string) error {
	for attempt := 0; ; attempt++ {
		response, err := http.Post("http://"+addr+"/api/v1/events/batch", "application/json",
			strings.NewReader(body))
		if err != nil {
			return fmt.Errorf("error posting batch to %s: %w", addr, err)
		}

		data, _ := io.ReadAll(response.Body)
		_ = response.Body.Close()

		switch {
		case response.StatusCode == http.StatusAccepted:
			return nil
		case response.StatusCode == http.StatusServiceUnavailable && attempt < 10:
			time.Sleep(200 * time.Millisecond)
		default:
			return fmt.Errorf("batch to %s failed with status %d: %s", addr, response.StatusCode, data)
		}
	}
}
