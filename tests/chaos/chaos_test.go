package chaos

import (
	"context"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/internal/bus"
)

// outcome is what a run leaves in the read tables. Two runs over the same
// input must leave equal outcomes however often a process was killed.
type outcome struct {
	events         int
	distinctEvents int
	// anomalies are the rows of the anomalies table as group key, time
	// and count, sorted.
	anomalies []string
	// anomalyRecords counts the AnomalyDetected records in the log, and
	// distinctAnomalyRecords their distinct anomaly ids.
	anomalyRecords         int
	distinctAnomalyRecords int
}

func (inst *installation) outcome() outcome {
	return outcome{
		events:         inst.count("SELECT count(*) FROM events"),
		distinctEvents: inst.count("SELECT count(DISTINCT event_id) FROM events"),
		anomalies:      inst.storedAnomalies(),
		anomalyRecords: inst.count("SELECT count(*) FROM event_log WHERE metadata->>'name' = 'AnomalyDetected'"),
		distinctAnomalyRecords: inst.count(`SELECT count(DISTINCT payload->>'anomaly_id') FROM event_log
			WHERE metadata->>'name' = 'AnomalyDetected'`),
	}
}

// waitForEvents waits until the events table holds n rows and the command
// stream has nothing pending.
func (inst *installation) waitForEvents(n int, timeout time.Duration) {
	inst.t.Helper()

	waitFor(inst.t, timeout, "events table to hold every accepted event", func() bool {
		return inst.count("SELECT count(*) FROM events") >= n
	})
	waitFor(inst.t, timeout, "no command pending", func() bool {
		return inst.pending("") == 0
	})
}

// pending counts the ingest commands delivered and not acknowledged, of
// consumer or, when consumer is "", of the whole group.
func (inst *installation) pending(consumer string) int64 {
	stream := bus.CommandStream(inst.name, commands.IngestEventsHandlerName)
	entries, err := inst.redis.XPendingExt(context.Background(), &redis.XPendingExtArgs{
		Stream: stream, Group: commands.IngestEventsHandlerName,
		Start: "-", End: "+", Count: 10_000, Consumer: consumer,
	}).Result()
	if err != nil {
		return -1
	}

	return int64(len(entries))
}

// storedOnce asserts that every id is in the events table exactly once.
func (inst *installation) storedOnce(ids []uuid.UUID) {
	inst.t.Helper()

	require.Equal(inst.t, len(ids), inst.count("SELECT count(*) FROM events WHERE event_id = ANY($1)", ids),
		"every accepted event stored")
	require.Equal(inst.t, inst.count("SELECT count(*) FROM events"), inst.count("SELECT count(DISTINCT event_id) FROM events"),
		"no event stored twice")
}

func TestWorkerKilledDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos tests are slow")
	}

	const batches, batchSize = 100, 500
	inst := newInstallation(t)
	inst.startAPI()
	worker := inst.start("worker-1", "worker")
	rule := inst.createPairRule()

	traffic := newLoad(inst.apiURL, batchSize)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		traffic.sendPairBatches(batches, 4, "kill")
	}()

	waitFor(t, 60*time.Second, "a fifth of the events stored", func() bool {
		return inst.count("SELECT count(*) FROM events") >= batches*batchSize/5
	})
	pendingAtKill := inst.killHolding(worker, "worker-1")
	stoppedAt := inst.count("SELECT count(*) FROM events")

	inst.start("worker-2", "worker")
	<-sent
	require.Equal(t, map[int]int{http.StatusAccepted: batches}, traffic.statuses, "the API stays up")

	inst.waitForEvents(batches*batchSize, 2*time.Minute)
	t.Logf("worker killed at %d events stored with %d commands pending; %s", stoppedAt, pendingAtKill, traffic)

	inst.waitForDetection(time.Minute)

	anomalies := batches / 2 * pairGroups
	require.Equal(t, outcome{
		events: batches * batchSize, distinctEvents: batches * batchSize,
		anomalies: expectedPairAnomalies(batches), anomalyRecords: anomalies, distinctAnomalyRecords: anomalies,
	}, inst.outcome())
	inst.storedOnce(traffic.acceptedIDs())
	require.Zero(t, inst.count("SELECT count(*) FROM dead_letters"))

	// The ids name the event that triggered each anomaly, which depends on
	// the order of the batches in the log.
	want := inst.pairAnomalyIDs(rule)
	require.Len(t, want, anomalies)
	require.Equal(t, want, inst.ids("SELECT anomaly_id FROM anomalies"))
	require.Equal(t, want, inst.ids(`SELECT (payload->>'anomaly_id')::uuid FROM event_log
		WHERE metadata->>'name' = 'AnomalyDetected'`))
}

func TestRedisAndPostgresRestartDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos tests are slow")
	}

	inst := newInstallation(t)
	inst.startAPI()
	inst.start("worker-1", "worker")

	traffic := newLoad(inst.apiURL, 100)
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for {
			select {
			case <-stop:
				return
			default:
				traffic.sendBatch("restart")
			}
		}
	}()

	waitFor(t, 30*time.Second, "events flowing", func() bool { return inst.count("SELECT count(*) FROM events") > 1000 })

	require.NoError(t, env.StopRedis())
	waitFor(t, 10*time.Second, "503 while Redis is down", func() bool {
		return traffic.statusCount(http.StatusServiceUnavailable) > 0
	})
	inst.checkUnavailable("/readyz", "redis")
	require.NoError(t, env.StartRedis())

	acceptedAfterRedis := traffic.statusCount(http.StatusAccepted)
	waitFor(t, 30*time.Second, "ingestion resumed after Redis came back", func() bool {
		return traffic.statusCount(http.StatusAccepted) > acceptedAfterRedis+10
	})

	require.NoError(t, env.StopPostgres())
	inst.checkUnavailable("/api/v1/events?limit=1", "")
	inst.checkUnavailable("/readyz", "postgres")
	inst.checkWorkerDegraded()
	time.Sleep(2 * time.Second)
	require.NoError(t, env.StartPostgres())

	acceptedAfterPostgres := traffic.statusCount(http.StatusAccepted)
	waitFor(t, 30*time.Second, "ingestion goes on after PostgreSQL came back", func() bool {
		return traffic.statusCount(http.StatusAccepted) > acceptedAfterPostgres+10
	})
	close(stop)
	<-sent

	accepted := traffic.acceptedIDs()
	inst.waitForEvents(len(accepted), 2*time.Minute)
	t.Log(traffic)

	for status := range traffic.statuses {
		require.Contains(t, []int{http.StatusAccepted, http.StatusServiceUnavailable}, status, "%s", traffic)
	}
	require.Zero(t, traffic.retryAfterMissing, "every 503 has Retry-After")
	inst.storedOnce(accepted)
	require.Zero(t, inst.count("SELECT count(*) FROM dead_letters"), "an outage sends nothing to the dead-letter store")
}

// checkWorkerDegraded asserts that the ingest health endpoint, which older
// clients read, keeps accepting (200, status ok) and shows the worker as
// degraded while PostgreSQL is down.
func (inst *installation) checkWorkerDegraded() {
	inst.t.Helper()

	var status int
	var body []byte
	waitFor(inst.t, 10*time.Second, "the worker shown as degraded", func() bool {
		response, err := http.Get(inst.apiURL + "/api/v1/events/health")
		if err != nil {
			return false
		}
		defer response.Body.Close()

		status = response.StatusCode
		body, _ = io.ReadAll(response.Body)

		return strings.Contains(string(body), `"worker":"degraded"`)
	})

	require.Equal(inst.t, http.StatusOK, status, "body: %s", body)
	require.Contains(inst.t, string(body), `"status":"ok"`)
}

// checkUnavailable asserts that path responds 503 with Retry-After and,
// unless field is "", a body naming field.
func (inst *installation) checkUnavailable(path, field string) {
	inst.t.Helper()

	var status int
	var body []byte
	var retryAfter string

	waitFor(inst.t, 10*time.Second, path+" answers 503", func() bool {
		response, err := http.Get(inst.apiURL + path)
		if err != nil {
			return false
		}
		defer response.Body.Close()

		status = response.StatusCode
		retryAfter = response.Header.Get("Retry-After")
		body, _ = io.ReadAll(response.Body)

		return status == http.StatusServiceUnavailable
	})

	require.NotEmpty(inst.t, retryAfter, "%s: Retry-After", path)
	if field != "" {
		require.Contains(inst.t, string(body), `"status":"degraded"`, path)
		require.NotContains(inst.t, string(body), `"`+field+`":"ok"`, "%s names %s as down: %s", path, field, body)
	}
}

func TestTwoWorkersOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos tests are slow")
	}

	inst := newInstallation(t)
	inst.startAPI()
	victim := inst.start("worker-a", "worker")
	inst.start("worker-b", "worker")

	traffic := newLoad(inst.apiURL, 500)
	stop := make(chan struct{})
	sent := traffic.sendUntilClosed(stop, 4, "pair")

	waitFor(t, 60*time.Second, "both workers in the group and events stored", func() bool {
		return inst.joined("worker-a") && inst.joined("worker-b") &&
			inst.count("SELECT count(*) FROM events") >= 5000
	})
	pendingAtKill := inst.killHolding(victim, "worker-a")
	time.Sleep(time.Second)
	close(stop)
	<-sent
	require.Positive(t, pendingAtKill, "worker-a was killed while handling a command")

	accepted := traffic.acceptedIDs()
	inst.waitForEvents(len(accepted), 2*time.Minute)
	t.Logf("worker-a killed with %d commands pending; %s", pendingAtKill, traffic)

	require.Equal(t, outcome{events: len(accepted), distinctEvents: len(accepted)}, inst.outcome())
	inst.storedOnce(accepted)
	require.Zero(t, inst.pending("worker-a"), "worker-b finished the commands worker-a left pending")
	require.Equal(t, map[int]int{http.StatusAccepted: len(accepted) / 500}, traffic.statuses, "the API stays up")
}

// killHolding kills p with SIGKILL while it holds a command it has not
// acknowledged, if it can catch it so within a few seconds, and returns how
// many it held. It freezes p with SIGSTOP to look at its pending commands,
// and lets it go on when it holds none.
func (inst *installation) killHolding(p *process, consumer string) int64 {
	inst.t.Helper()

	var caught int64
	for range 2000 {
		require.NoError(inst.t, p.cmd.Process.Signal(syscall.SIGSTOP))

		caught = inst.pending(consumer)
		if caught > 0 {
			break
		}

		require.NoError(inst.t, p.cmd.Process.Signal(syscall.SIGCONT))
		time.Sleep(5 * time.Millisecond)
	}

	p.stop(syscall.SIGKILL)

	return caught
}

// joined reports whether consumer has read from the ingest stream's group.
func (inst *installation) joined(consumer string) bool {
	stream := bus.CommandStream(inst.name, commands.IngestEventsHandlerName)
	consumers, err := inst.redis.XInfoConsumers(context.Background(), stream, commands.IngestEventsHandlerName).Result()
	if err != nil {
		return false
	}

	for _, c := range consumers {
		if c.Name == consumer {
			return true
		}
	}

	return false
}
