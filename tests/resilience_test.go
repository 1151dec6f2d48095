package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// TestIngestRedisDownAnswers503 stops the shared Redis, so it must not run
// in parallel with other tests.
func TestIngestRedisDownAnswers503(t *testing.T) {
	logs := &lockedBuffer{}
	a := testapp.Start(t, testapp.Options{Log: logs})
	env := testapp.Env(t)

	require.NoError(t, env.StopRedis())
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			require.NoError(t, env.StartRedis())
		}
	})

	status, header, body := postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"outage"}`)
	require.Equal(t, http.StatusServiceUnavailable, status, "body: %s", body)
	require.Equal(t, "1", header.Get("Retry-After"))
	require.JSONEq(t, `{"error":"the event bus is unavailable; nothing was accepted, retry later"}`, string(body),
		"a refused connection proves that nothing was sent")

	status, header, body = postJSON(t, a, "/api/v1/events/batch", `[{"event_type":"e","source":"outage"}]`)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.NotEmpty(t, header.Get("Retry-After"))
	require.JSONEq(t, `{"error":"the event bus is unavailable; nothing was accepted, retry later"}`, string(body))

	healthStatus, healthBody := get(t, a, "/api/v1/events/health")
	require.Equal(t, http.StatusServiceUnavailable, healthStatus)
	require.JSONEq(t, `{"status":"degraded","redis":"unreachable","worker":"unknown"}`, string(healthBody))

	require.NoError(t, env.StartRedis())
	restarted = true

	testapp.WaitFor(t, 30*time.Second, "ingestion to accept events again", func() bool {
		status, _, _ := postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"after"}`)
		return status == http.StatusAccepted
	})
	testapp.WaitFor(t, 30*time.Second, "event accepted after the outage to be stored", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'after'") >= 1
	})
	require.Equal(t, 0, a.Count("SELECT count(*) FROM events WHERE source = 'outage'"))

	// The first 503 of the outage is a Warn line, the next ones Debug,
	// and the first 202 after it an Info line.
	var levels []string
	for _, line := range logs.lines(t) {
		switch line["msg"] {
		case "ingest: command bus unavailable, answering 503", "ingest: command bus available again":
			levels = append(levels, line["level"].(string))
		}
	}
	require.GreaterOrEqual(t, len(levels), 3, "levels %v", levels)
	require.Equal(t, "WARN", levels[0])
	require.Equal(t, "INFO", levels[len(levels)-1])
	for _, level := range levels[1 : len(levels)-1] {
		require.Equal(t, "DEBUG", level)
	}
}

// TestIngestRedisFullAnswers503 lowers the shared Redis's maxmemory, so it
// must not run in parallel with other tests.
func TestIngestRedisFullAnswers503(t *testing.T) {
	a := testapp.Start(t, testapp.Options{})
	ctx := context.Background()

	policy, err := a.Deps.Redis.ConfigGet(ctx, "maxmemory-policy").Result()
	require.NoError(t, err)
	require.Equal(t, "noeviction", policy["maxmemory-policy"])

	// The worker records its first heartbeat after it starts; with Redis
	// full, that write would fail and the worker would read as unknown.
	testapp.WaitFor(t, 10*time.Second, "the worker's first heartbeat", func() bool {
		_, body := get(t, a, "/api/v1/events/health")
		return strings.Contains(string(body), `"worker":"ok"`)
	})

	limit, err := a.Deps.Redis.ConfigGet(ctx, "maxmemory").Result()
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, a.Deps.Redis.ConfigSet(context.Background(), "maxmemory", limit["maxmemory"]).Err())
	})

	// One byte is below what any Redis uses, so every command that may
	// grow its memory gets an OOM error reply.
	require.NoError(t, a.Deps.Redis.ConfigSet(ctx, "maxmemory", "1").Err())

	status, header, body := postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"full"}`)
	require.Equal(t, http.StatusServiceUnavailable, status, "body: %s", body)
	require.Equal(t, "1", header.Get("Retry-After"))
	require.JSONEq(t, `{"error":"the event bus is unavailable; nothing was accepted, retry later"}`, string(body),
		"an error reply proves that Redis did not store the command")

	status, _, body = postJSON(t, a, "/api/v1/events/batch", `[{"event_type":"e","source":"full"},{"event_type":"e","source":"full"}]`)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.JSONEq(t, `{"error":"the event bus is unavailable; nothing was accepted, retry later"}`, string(body))

	healthStatus, healthBody := get(t, a, "/api/v1/events/health")
	require.Equal(t, http.StatusServiceUnavailable, healthStatus, "body: %s", healthBody)
	require.JSONEq(t, `{"status":"degraded","redis":"full","worker":"ok","commands_waiting":0}`, string(healthBody))

	require.NoError(t, a.Deps.Redis.ConfigSet(ctx, "maxmemory", limit["maxmemory"]).Err())

	healthStatus, healthBody = get(t, a, "/api/v1/events/health")
	require.Equal(t, http.StatusOK, healthStatus, "body: %s", healthBody)

	status, _, body = postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"after-full"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	testapp.WaitFor(t, 30*time.Second, "event accepted after Redis had room to be stored", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'after-full'") == 1
	})
	require.Equal(t, 0, a.Count("SELECT count(*) FROM events WHERE source = 'full'"))
}

func TestIngestRefusedWhileBacklogFull(t *testing.T) {
	t.Parallel()

	logs := &lockedBuffer{}
	a := testapp.Start(t, testapp.Options{NoWorker: true, Log: logs, Config: func(c *config.Config) {
		c.IngestMaxBacklog = 2
	}})

	// Without a worker every command waits. Requests sent one after
	// another are one command each.
	for i := range 3 {
		status, _, body := postJSON(t, a, "/api/v1/events", fmt.Sprintf(`{"event_type":"e","source":"before","payload":{"i":%d}}`, i))
		require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	}

	testapp.WaitFor(t, 10*time.Second, "the API to count the waiting commands", func() bool {
		return metricValue(t, a, "eventpulse_ingest_commands_waiting") == "3"
	})

	message := `{"error":"ingestion is paused: 3 commands wait for the worker, more than the limit of 2; nothing was accepted, retry later"}`
	status, header, body := postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"refused"}`)
	require.Equal(t, http.StatusServiceUnavailable, status, "body: %s", body)
	require.Equal(t, "5", header.Get("Retry-After"))
	require.JSONEq(t, message, string(body))

	status, _, body = postJSON(t, a, "/api/v1/events/batch", `[{"event_type":"e","source":"refused"},{"event_type":"e","source":"refused"}]`)
	require.Equal(t, http.StatusServiceUnavailable, status, "body: %s", body)
	require.JSONEq(t, message, string(body))
	require.Equal(t, "3", metricValue(t, a, `eventpulse_ingest_events_total{outcome="backlog_full"}`))

	healthStatus, healthBody := get(t, a, "/api/v1/events/health")
	require.Equal(t, http.StatusServiceUnavailable, healthStatus, "body: %s", healthBody)
	require.JSONEq(t, `{"status":"degraded","redis":"PONG","worker":"unknown","commands_waiting":3}`, string(healthBody))

	a.StartWorker()
	testapp.WaitFor(t, 30*time.Second, "the worker to take the waiting commands", func() bool {
		return metricValue(t, a, "eventpulse_ingest_commands_waiting") == "0"
	})

	healthStatus, healthBody = get(t, a, "/api/v1/events/health")
	require.Equal(t, http.StatusOK, healthStatus, "body: %s", healthBody)
	require.JSONEq(t, `{"status":"ok","redis":"PONG","worker":"ok","commands_waiting":0}`, string(healthBody))

	status, _, body = postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"after"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	testapp.WaitFor(t, 30*time.Second, "the events accepted before and after to be stored", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source IN ('before', 'after')") == 4
	})
	require.Equal(t, 0, a.Count("SELECT count(*) FROM events WHERE source = 'refused'"))

	// The backlog logs when it fills and when it drains. The refused
	// requests are logged at Debug only, not as server errors.
	var over, under, refused int
	for _, line := range logs.lines(t) {
		msg, _ := line["msg"].(string)
		switch {
		case strings.Contains(msg, "command backlog over its limit"):
			over++
		case strings.Contains(msg, "command backlog back under its limit"):
			under++
		case msg == "api: request" && line["status"] == float64(http.StatusServiceUnavailable):
			refused++
			require.Equal(t, "DEBUG", line["level"], "line %v", line)
		}
		require.NotEqual(t, "ERROR", line["level"], "line %v", line)
	}
	require.Equal(t, 1, over)
	require.Equal(t, 1, under)
	require.Equal(t, 3, refused, "two ingest requests and the health check")
}

func TestWorkerRecreatesLostConsumerGroup(t *testing.T) {
	t.Parallel()

	logs := &lockedBuffer{}
	a := testapp.Start(t, testapp.Options{Log: logs})
	stream := bus.CommandStream(a.Config.StreamPrefix, commands.IngestEventsHandlerName)

	status, _, body := postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"before-loss"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	testapp.WaitFor(t, 30*time.Second, "the event sent before the loss to be stored", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'before-loss'") == 1
	})

	// Deleting the stream takes its consumer group with it, as when Redis
	// restarts without its data. The next XADD creates the stream alone.
	require.NoError(t, a.Deps.Redis.Del(context.Background(), stream).Err())

	status, _, body = postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"after-loss"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	testapp.WaitFor(t, 30*time.Second, "the event sent after the loss to be stored", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'after-loss'") == 1
	})

	created := 0
	for _, line := range logs.lines(t) {
		if line["msg"] == "bus: consumer group was missing and is created again; "+
			"if Redis lost its data, commands accepted before the loss are gone" && line["stream"] == stream {
			created++
		}
	}
	require.Equal(t, 1, created)
}

func TestIngestBacklogSpendsNoRateTokens(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true, Config: func(c *config.Config) {
		c.IngestMaxBacklog = 1
		c.IngestRate = 1
		c.IngestBurst = 1000
	}})
	_, key := createKeyNoWorker(t, a, "producer", auth.ScopeIngest)
	single := `{"event_type":"e","source":"probe"}`

	for range 2 {
		status, _, body := request(t, a, http.MethodPost, "/api/v1/events", "bearer", key, single)
		require.Equal(t, http.StatusAccepted, status, body)
	}
	testapp.WaitFor(t, 10*time.Second, "ingestion to pause", func() bool {
		status, _, _ := request(t, a, http.MethodPost, "/api/v1/events", "bearer", key, single)
		return status == http.StatusServiceUnavailable
	})

	// The bucket holds more than 500 tokens but less than 1,000, so a
	// second batch of 500 would get 429 if the first had spent any.
	batch := "[" + repeatJoin(`{"event_type":"e","source":"batch"}`, 500) + "]"
	for range 2 {
		status, header, body := request(t, a, http.MethodPost, "/api/v1/events/batch", "bearer", key, batch)
		require.Equal(t, http.StatusServiceUnavailable, status, body)
		require.Equal(t, "5", header.Get("Retry-After"))
		require.Contains(t, body, "ingestion is paused")
	}

	a.StartWorker()
	testapp.WaitFor(t, 30*time.Second, "ingestion to take events again", func() bool {
		status, _, _ := request(t, a, http.MethodPost, "/api/v1/events", "bearer", key, single)
		return status == http.StatusAccepted
	})

	status, _, body := request(t, a, http.MethodPost, "/api/v1/events/batch", "bearer", key, batch)
	require.Equal(t, http.StatusAccepted, status, body)
}

func TestIngestSurvivesWorkerRestart(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	var mu sync.Mutex
	var accepted []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var wg sync.WaitGroup
	for client := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				id := uuid.NewString()
				body := fmt.Sprintf(`{"event_id":%q,"event_type":"tick","source":"client-%d","payload":{"i":%d}}`, id, client, i)
				status, _, _ := postJSON(t, a, "/api/v1/events", body)
				if status == http.StatusAccepted {
					mu.Lock()
					accepted = append(accepted, id)
					mu.Unlock()
				}
			}
		}()
	}

	time.Sleep(300 * time.Millisecond)
	a.StopWorker()
	time.Sleep(500 * time.Millisecond)
	a.StartWorker()
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()

	require.NotEmpty(t, accepted)
	waitForEvents(t, a, len(accepted))
	require.Equal(t, len(accepted), a.Count("SELECT count(*) FROM events WHERE event_id = ANY($1::uuid[])", accepted))
}

func TestIngestCommandRedeliveryAppendsNothing(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	handler := commands.NewIngestEventsHandler(a.Pool, a.Deps.Logger)
	now := time.Now().UTC()
	cmd := &commands.IngestEvents{
		CommandID: uuid.NewString(),
		Actor:     events.ActorAnonymous,
		Events: []events.IngestedEvent{
			{EventID: uuid.New(), EventType: "e", Source: "s", Timestamp: now, ReceivedAt: now, Payload: []byte(`{}`), Metadata: []byte(`{}`)},
			{EventID: uuid.New(), EventType: "e", Source: "s", Timestamp: now, ReceivedAt: now, Payload: []byte(`{"a":1}`), Metadata: []byte(`{}`)},
		},
	}

	for range 3 {
		require.NoError(t, handler.Handle(background(), cmd))
	}

	require.Equal(t, 1, a.Count("SELECT count(*) FROM event_log"))
	require.Equal(t, 2, a.Count("SELECT count(*) FROM event_claims"))
	require.Equal(t, 2, a.Count(`SELECT json_array_length(payload->'events') FROM event_log`))
}

// TestIngestClaimsMixedBatches sends commands that the plain claim cannot
// take whole: one repeating an id inside itself, one mixing a claimed id
// with new ones. Each new id is appended once, in command order, with the
// first body.
func TestIngestClaimsMixedBatches(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	handler := commands.NewIngestEventsHandler(a.Pool, a.Deps.Logger)
	now := time.Now().UTC()
	event := func(id uuid.UUID, payload string) events.IngestedEvent {
		return events.IngestedEvent{EventID: id, EventType: "e", Source: "s", Timestamp: now, ReceivedAt: now,
			Payload: []byte(payload), Metadata: []byte(`{}`)}
	}
	first, second, third := uuid.New(), uuid.New(), uuid.New()

	// Both commands go through the bus's encoding, as from Redis, so they
	// carry the events array they were decoded from.
	repeated := throughBus(t, &commands.IngestEvents{CommandID: uuid.NewString(), Actor: events.ActorAnonymous,
		Events: []events.IngestedEvent{event(first, `{"n":1}`), event(first, `{"n":2}`)}})
	require.NoError(t, handler.Handle(background(), repeated))

	mixed := throughBus(t, &commands.IngestEvents{CommandID: uuid.NewString(), Actor: events.ActorAnonymous,
		Events: []events.IngestedEvent{event(third, `{"n":3}`), event(first, `{"n":4}`), event(second, `{"n":5}`)}})
	require.NoError(t, handler.Handle(background(), mixed))

	require.Equal(t, 3, a.Count("SELECT count(*) FROM event_claims"))
	require.Equal(t, 2, a.Count("SELECT count(*) FROM event_log"))

	var appended []string
	rows, err := a.Pool.Query(background(), `SELECT e->>'event_id' || ' ' || (e->'payload')::text
		FROM event_log l, json_array_elements(l.payload->'events') e ORDER BY l."offset"`)
	require.NoError(t, err)
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		appended = append(appended, line)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{
		first.String() + ` {"n":1}`,
		third.String() + ` {"n":3}`,
		second.String() + ` {"n":5}`,
	}, appended)
}

// throughBus returns cmd as the worker decodes it from its message.
func throughBus(t *testing.T, cmd *commands.IngestEvents) *commands.IngestEvents {
	t.Helper()

	msg, err := bus.Marshaler.Marshal(cmd)
	require.NoError(t, err)

	var decoded commands.IngestEvents
	require.NoError(t, bus.Marshaler.Unmarshal(msg, &decoded))
	require.NotEmpty(t, decoded.RawEvents)

	return &decoded
}

func TestIngestBatchIsOneLogRecord(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	items := make([]string, 250)
	for i := range items {
		items[i] = fmt.Sprintf(`{"event_type":"e","source":"s","payload":{"i":%d}}`, i)
	}

	status, _, body := postJSON(t, a, "/api/v1/events/batch", "["+strings.Join(items, ",")+"]")
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	waitForEvents(t, a, 250)
	require.Equal(t, 1, a.Count("SELECT count(*) FROM event_log"))
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM event_log WHERE metadata->>'name' = 'EventsIngested'`))
}
