package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/deadletter"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/eventstable"
)

func ingestStream(a *testapp.App) string {
	return bus.CommandStream(a.Config.StreamPrefix, commands.IngestEventsHandlerName)
}

// ingestCommand encodes a command the way the API sends it.
func ingestCommand(t *testing.T, source string, n int) map[string]any {
	t.Helper()

	batch := make([]events.IngestedEvent, n)
	for i := range batch {
		now := time.Now().UTC()
		batch[i] = events.IngestedEvent{
			EventID: uuid.New(), EventType: "info", Source: source,
			Timestamp: now, ReceivedAt: now,
			Payload: json.RawMessage(`{}`), Metadata: json.RawMessage(`{}`),
		}
	}

	msg, err := bus.Marshaler.Marshal(&commands.IngestEvents{CommandID: uuid.NewString(), Events: batch})
	require.NoError(t, err)

	values, err := redisstream.DefaultMarshallerUnmarshaller{}.Marshal("", msg)
	require.NoError(t, err)

	return values
}

func listDeadLetters(t *testing.T, a *testapp.App) []oas.DeadLetter {
	t.Helper()

	list, err := a.Client.ListDeadLetters(background(), oas.ListDeadLettersParams{})
	require.NoError(t, err)

	return list.Data
}

func TestDeadLetterUnreadableCommand(t *testing.T) {
	t.Parallel()

	logs := &lockedBuffer{}
	a := testapp.Start(t, testapp.Options{Log: logs})
	ctx := background()

	err := a.Deps.Redis.XAdd(ctx, &redis.XAddArgs{
		Stream: ingestStream(a),
		Values: map[string]any{"garbage": "not a watermill message"},
	}).Err()
	require.NoError(t, err)

	status, _, body := postJSON(t, a, "/api/v1/events", `{"event_type":"info","source":"behind"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	waitForEvents(t, a, 1)

	testapp.WaitFor(t, 10*time.Second, "dead letter recorded", func() bool {
		return a.Count("SELECT count(*) FROM dead_letters") == 1
	})

	letters := listDeadLetters(t, a)
	require.Len(t, letters, 1)
	require.Equal(t, ingestStream(a), letters[0].Topic)
	require.Equal(t, commands.IngestEventsHandlerName, letters[0].Handler)
	require.Contains(t, letters[0].Reason, "not a Watermill message")
	require.JSONEq(t, `{"garbage":"not a watermill message"}`, letters[0].Payload)

	var logged []map[string]any
	for _, line := range logs.lines(t) {
		if strings.HasPrefix(fmt.Sprint(line["msg"]), "dead letter: message stored") {
			logged = append(logged, line)
		}
	}
	require.Len(t, logged, 1, "the stored letter is logged once")
	require.Equal(t, "ERROR", logged[0]["level"])
	require.Equal(t, letters[0].MessageUUID, logged[0]["message_uuid"])
	require.Equal(t, commands.IngestEventsHandlerName, logged[0]["handler"])
	require.Contains(t, logged[0]["reason"], "not a Watermill message")

	status, body = postEmpty(t, a, "/api/v1/dead-letters/"+strconv.FormatInt(letters[0].ID, 10)+"/requeue")
	require.Equal(t, http.StatusConflict, status, "body: %s", body)
}

func TestDeadLetterWrongCommandName(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	values := ingestCommand(t, "misnamed", 1)
	msg, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(stringValues(values))
	require.NoError(t, err)
	msg.Metadata.Set("name", "SomethingElse")
	values, err = redisstream.DefaultMarshallerUnmarshaller{}.Marshal("", msg)
	require.NoError(t, err)

	require.NoError(t, a.Deps.Redis.XAdd(background(), &redis.XAddArgs{Stream: ingestStream(a), Values: values}).Err())

	testapp.WaitFor(t, 10*time.Second, "dead letter recorded", func() bool {
		return a.Count("SELECT count(*) FROM dead_letters") == 1
	})
	letters := listDeadLetters(t, a)
	require.Contains(t, letters[0].Reason, `"SomethingElse"`)
	require.Equal(t, 0, a.Count("SELECT count(*) FROM events"))
}

func TestDeadLetterClaimsMismatch(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	values := ingestCommand(t, "short of claims", 2)
	msg, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(stringValues(values))
	require.NoError(t, err)
	require.Empty(t, msg.Metadata.Get(bus.MetaContentEncoding), "two empty events stay below the compression size")

	var command map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(msg.Payload, &command))
	var claims []string
	require.NoError(t, json.Unmarshal(command["claims"], &claims))
	require.Len(t, claims, 2)
	command["claims"], err = json.Marshal(claims[:1])
	require.NoError(t, err)
	msg.Payload, err = json.Marshal(command)
	require.NoError(t, err)

	values, err = redisstream.DefaultMarshallerUnmarshaller{}.Marshal("", msg)
	require.NoError(t, err)
	require.NoError(t, a.Deps.Redis.XAdd(background(), &redis.XAddArgs{Stream: ingestStream(a), Values: values}).Err())

	testapp.WaitFor(t, 30*time.Second, "dead letter recorded after the retries", func() bool {
		return a.Count("SELECT count(*) FROM dead_letters") == 1
	})
	letters := listDeadLetters(t, a)
	require.Contains(t, letters[0].Reason, "1 claims for 2 events")
	require.Equal(t, 0, a.Count("SELECT count(*) FROM events"))
	require.Equal(t, 0, a.Count("SELECT count(*) FROM event_claims"))
}

func TestDeadLetterFailedCommandRequeue(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()

	_, err := a.Pool.Exec(ctx, "ALTER TABLE event_claims RENAME TO event_claims_away")
	require.NoError(t, err)

	status, _, body := postJSON(t, a, "/api/v1/events", `{"event_type":"info","source":"requeued"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	testapp.WaitFor(t, 30*time.Second, "dead letter recorded after the retries", func() bool {
		return a.Count("SELECT count(*) FROM dead_letters") == 1
	})

	letters := listDeadLetters(t, a)
	require.Len(t, letters, 1)
	require.Contains(t, letters[0].Reason, "event_claims")
	require.False(t, letters[0].RequeuedAt.Set)
	require.Equal(t, "IngestEvents", letters[0].Metadata["name"], "original metadata kept")

	status, _, body = postJSON(t, a, "/api/v1/events", `{"event_type":"info","source":"behind"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	testapp.WaitFor(t, 30*time.Second, "second command dead too", func() bool {
		return a.Count("SELECT count(*) FROM dead_letters") == 2
	})

	_, err = a.Pool.Exec(ctx, "ALTER TABLE event_claims_away RENAME TO event_claims")
	require.NoError(t, err)

	res, err := a.Client.RequeueDeadLetter(ctx, oas.RequeueDeadLetterParams{ID: letters[0].ID})
	require.NoError(t, err)
	requeued, ok := res.(*oas.DeadLetter)
	require.True(t, ok, "response %T", res)
	require.True(t, requeued.RequeuedAt.Set)

	testapp.WaitFor(t, 30*time.Second, "requeued event stored", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'requeued'") == 1
	})
	require.Equal(t, 0, a.Count("SELECT count(*) FROM events WHERE source = 'behind'"))

	status, body = postEmpty(t, a, "/api/v1/dead-letters/"+strconv.FormatInt(letters[0].ID, 10)+"/requeue")
	require.Equal(t, http.StatusConflict, status, "body: %s", body)

	status, body = postEmpty(t, a, "/api/v1/dead-letters/999999/requeue")
	require.Equal(t, http.StatusNotFound, status, "body: %s", body)
}

func TestDeadLetterCompressedCommandListedAsJSON(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()

	_, err := a.Pool.Exec(ctx, "ALTER TABLE event_claims RENAME TO event_claims_away")
	require.NoError(t, err)

	items := make([]string, 30)
	for i := range items {
		items[i] = fmt.Sprintf(`{"event_type":"info","source":"compressed","payload":{"line":%d,"text":"disk usage above the warning level"}}`, i)
	}
	status, _, body := postJSON(t, a, "/api/v1/events/batch", "["+strings.Join(items, ",")+"]")
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	testapp.WaitFor(t, 30*time.Second, "dead letter recorded after the retries", func() bool {
		return a.Count("SELECT count(*) FROM dead_letters") == 1
	})

	letters := listDeadLetters(t, a)
	require.Len(t, letters, 1)
	require.Equal(t, bus.EncodingS2, letters[0].Metadata[bus.MetaContentEncoding])

	var command commands.IngestEvents
	require.NoError(t, json.Unmarshal([]byte(letters[0].Payload), &command), "payload: %.200s", letters[0].Payload)
	require.Len(t, command.Events, 30)
	require.Equal(t, "compressed", command.Events[29].Source)

	_, err = a.Pool.Exec(ctx, "ALTER TABLE event_claims_away RENAME TO event_claims")
	require.NoError(t, err)

	_, err = a.Client.RequeueDeadLetter(ctx, oas.RequeueDeadLetterParams{ID: letters[0].ID})
	require.NoError(t, err)

	testapp.WaitFor(t, 30*time.Second, "requeued events stored", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'compressed'") == 30
	})
}

func TestPendingCommandOfDeadConsumer(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true, Config: func(c *config.Config) {
		c.ClaimIdle = 500 * time.Millisecond
		c.MaxDeliveries = 3
	}})
	ctx := background()
	stream := ingestStream(a)

	require.NoError(t, a.Deps.Redis.XGroupCreateMkStream(ctx, stream, commands.IngestEventsHandlerName, "0").Err())
	claimedID := addAndDeliver(t, a, "ghost", "claimed", 1)
	buriedID := addAndDeliver(t, a, "ghost", "buried", 3)

	a.StartWorker()

	testapp.WaitFor(t, 30*time.Second, "pending command of the dead consumer handled", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'claimed'") == 1
	})
	testapp.WaitFor(t, 30*time.Second, "command delivered too often buried", func() bool {
		return a.Count("SELECT count(*) FROM dead_letters") == 1
	})

	letters := listDeadLetters(t, a)
	require.Contains(t, letters[0].Reason, "delivered 3 times")
	require.Equal(t, 3, letters[0].Deliveries)
	require.Equal(t, 0, a.Count("SELECT count(*) FROM events WHERE source = 'buried'"))

	pending, err := a.Deps.Redis.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: stream, Group: commands.IngestEventsHandlerName, Start: "-", End: "+", Count: 10,
	}).Result()
	require.NoError(t, err)
	require.Empty(t, pending, "both commands acknowledged: %s and %s", claimedID, buriedID)
}

func TestPendingCommandOfSameNamedConsumer(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true, Config: func(c *config.Config) {
		c.ClaimIdle = 500 * time.Millisecond
	}})

	require.NoError(t, a.Deps.Redis.XGroupCreateMkStream(background(), ingestStream(a), commands.IngestEventsHandlerName, "0").Err())
	// StartWorker names its first worker ConsumerName-1. A consumer of
	// another name has no heartbeat, which is a different case.
	addAndDeliver(t, a, a.Config.ConsumerName+"-1", "restarted", 1)
	time.Sleep(600 * time.Millisecond)

	a.StartWorker()

	testapp.WaitFor(t, 30*time.Second, "command left by an earlier process of the same name handled", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'restarted'") == 1
	})
}

// TestPendingCommandOfLostDelivery delivers a command to the running
// worker's own consumer in a reply that the worker never reads, as when
// Redis stops after serving XREADGROUP and before sending the reply. The
// worker must claim it, although its heartbeat is fresh.
func TestPendingCommandOfLostDelivery(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true, Config: func(c *config.Config) {
		c.ClaimIdle = 500 * time.Millisecond
	}})
	ctx := background()
	stream := ingestStream(a)

	require.NoError(t, a.Deps.Redis.XGroupCreateMkStream(ctx, stream, commands.IngestEventsHandlerName, "0").Err())
	a.StartWorker()
	worker := a.Config.ConsumerName + "-1" // testapp numbers each worker start

	// In one MULTI, the worker's blocked XREADGROUP cannot take the entry
	// between the XADD and the read made in its name.
	_, err := a.Deps.Redis.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: ingestCommand(t, "lost", 1)})
		pipe.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: commands.IngestEventsHandlerName, Consumer: worker, Streams: []string{stream, ">"}, Count: 1,
		})

		return nil
	})
	require.NoError(t, err)

	testapp.WaitFor(t, 30*time.Second, "command of the lost delivery handled", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'lost'") == 1
	})
	testapp.WaitFor(t, 10*time.Second, "command acknowledged", func() bool {
		pending, err := a.Deps.Redis.XPending(ctx, stream, commands.IngestEventsHandlerName).Result()
		return err == nil && pending.Count == 0
	})
}

// TestPendingCommandInHandlingKept holds the handling of a command for
// several claim idle times. The worker handling it must not claim it from
// itself, which would count a second delivery.
func TestPendingCommandInHandlingKept(t *testing.T) {
	t.Parallel()

	const claimIdle = 500 * time.Millisecond
	a := testapp.Start(t, testapp.Options{Config: func(c *config.Config) { c.ClaimIdle = claimIdle }})
	ctx := background()
	stream := ingestStream(a)

	// The ingest handler waits for this lock to insert its event claims.
	tx, err := a.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()

	_, err = tx.Exec(ctx, `LOCK TABLE event_claims IN EXCLUSIVE MODE`)
	require.NoError(t, err)

	_, err = a.Deps.Redis.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: ingestCommand(t, "held", 1)}).Result()
	require.NoError(t, err)

	var pending []redis.XPendingExt
	testapp.WaitFor(t, 10*time.Second, "command delivered", func() bool {
		pending, err = a.Deps.Redis.XPendingExt(ctx, &redis.XPendingExtArgs{
			Stream: stream, Group: commands.IngestEventsHandlerName, Start: "-", End: "+", Count: 10,
		}).Result()
		return err == nil && len(pending) == 1
	})
	time.Sleep(5 * claimIdle)

	pending, err = a.Deps.Redis.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: stream, Group: commands.IngestEventsHandlerName, Start: "-", End: "+", Count: 10,
	}).Result()
	require.NoError(t, err)
	require.Len(t, pending, 1)
	require.Equal(t, int64(1), pending[0].RetryCount, "the worker handling the command did not claim it")
	require.GreaterOrEqual(t, pending[0].Idle, 4*claimIdle, "no claim reset the idle time")

	require.NoError(t, tx.Rollback(ctx))
	testapp.WaitFor(t, 30*time.Second, "command handled once the lock is gone", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'held'") == 1
	})
}

// addAndDeliver adds a command and reads it as consumer, which never
// acknowledges it, with the delivery counter set to deliveries.
func addAndDeliver(t *testing.T, a *testapp.App, consumer, source string, deliveries int) string {
	t.Helper()
	ctx := background()
	stream := ingestStream(a)

	id, err := a.Deps.Redis.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: ingestCommand(t, source, 1)}).Result()
	require.NoError(t, err)

	_, err = a.Deps.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: commands.IngestEventsHandlerName, Consumer: consumer, Streams: []string{stream, ">"}, Count: 1,
	}).Result()
	require.NoError(t, err)

	err = a.Deps.Redis.Do(ctx, "XCLAIM", stream, commands.IngestEventsHandlerName, consumer, 0, id,
		"RETRYCOUNT", deliveries).Err()
	require.NoError(t, err)

	return id
}

// TestCommandDeadLettersCounted stores two commands of IngestEvents as dead
// letters, an unreadable entry and a command delivered too often, and
// reads their count from /readyz and /metrics before and after the second
// is requeued.
func TestCommandDeadLettersCounted(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true, Config: func(c *config.Config) {
		c.ClaimIdle = 500 * time.Millisecond
		c.MaxDeliveries = 3
	}})
	ctx := background()
	stream := ingestStream(a)

	series := `eventpulse_command_dead_letters{handler="IngestEvents",stream="` + stream + `"}`
	require.Equal(t, zeroCommands(a), readyCommands(t, a), "no dead letter yet")
	require.Equal(t, "0", metricValue(t, a, series), "no dead letter yet, and the series exists from the start")

	require.NoError(t, a.Deps.Redis.XGroupCreateMkStream(ctx, stream, commands.IngestEventsHandlerName, "0").Err())
	addAndDeliver(t, a, "ghost", "buried", 3)
	require.NoError(t, a.Deps.Redis.XAdd(ctx, &redis.XAddArgs{
		Stream: stream,
		Values: map[string]any{"garbage": "not a watermill message"},
	}).Err())

	a.StartWorker()
	testapp.WaitFor(t, 30*time.Second, "both commands stored as dead letters", func() bool {
		return a.Count("SELECT count(*) FROM dead_letters") == 2
	})

	want := zeroCommands(a)
	ingest := slices.IndexFunc(want, func(c oas.CommandDeadLetters) bool { return c.Handler == commands.IngestEventsHandlerName })
	require.Equal(t, stream, want[ingest].Stream)
	want[ingest].DeadLetters = 2
	require.Equal(t, want, readyCommands(t, a))
	require.Equal(t, "2", metricValue(t, a, series))

	var buried oas.DeadLetter
	for _, letter := range listDeadLetters(t, a) {
		if strings.Contains(letter.Reason, "delivered 3 times") {
			buried = letter
		}
	}
	require.NotZero(t, buried.ID, "letter of the command delivered too often")

	status, body := postEmpty(t, a, "/api/v1/dead-letters/"+strconv.FormatInt(buried.ID, 10)+"/requeue")
	require.Equal(t, http.StatusOK, status, "body: %s", body)
	testapp.WaitFor(t, 30*time.Second, "requeued command handled", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'buried'") == 1
	})

	want[ingest].DeadLetters = 1
	require.Equal(t, want, readyCommands(t, a), "the requeued letter no longer counts")
	require.Equal(t, "1", metricValue(t, a, series), "the requeued letter no longer counts")

	var unreadable oas.DeadLetter
	for _, letter := range listDeadLetters(t, a) {
		if letter.RequeuedAt.IsSet() {
			continue
		}
		unreadable = letter
	}
	require.NotZero(t, unreadable.ID, "letter of the unreadable entry")

	path := "/api/v1/dead-letters/" + strconv.FormatInt(unreadable.ID, 10)
	status, _, deleted := request(t, a, http.MethodDelete, path, "", "", "")
	require.Equal(t, http.StatusNoContent, status, "body: %s", deleted)

	want[ingest].DeadLetters = 0
	require.Equal(t, want, readyCommands(t, a), "the deleted letter no longer counts")
	require.Equal(t, "0", metricValue(t, a, series), "the deleted letter no longer counts")
	for _, letter := range listDeadLetters(t, a) {
		require.NotEqual(t, unreadable.ID, letter.ID, "the deleted letter is not listed")
	}

	status, _, missing := request(t, a, http.MethodDelete, path, "", "", "")
	require.Equal(t, http.StatusNotFound, status, "body: %s", missing)
	require.JSONEq(t, `{"error":"Dead letter not found"}`, missing)
}

// metricValue returns the value of series in the text that /metrics
// serves, or "" when it has no such series.
func metricValue(t *testing.T, a *testapp.App, series string) string {
	t.Helper()

	status, body := get(t, a, "/metrics")
	require.Equal(t, http.StatusOK, status, "body: %s", body)

	for line := range strings.Lines(string(body)) {
		if value, ok := strings.CutPrefix(line, series+" "); ok {
			return strings.TrimSpace(value)
		}
	}

	return ""
}

// zeroCommands returns the commands entry of /readyz without dead letters:
// each command handler with its stream at 0, sorted by handler.
func zeroCommands(a *testapp.App) []oas.CommandDeadLetters {
	handlers := []string{
		commands.CreateRuleHandlerName,
		commands.DeleteRuleHandlerName,
		commands.IngestEventsHandlerName,
		commands.PatchRuleHandlerName,
		commands.ReplaceRuleHandlerName,
	}

	zero := make([]oas.CommandDeadLetters, 0, len(handlers))
	for _, handler := range handlers {
		zero = append(zero, oas.CommandDeadLetters{Handler: handler, Stream: bus.CommandStream(a.Config.StreamPrefix, handler)})
	}

	return zero
}

// readyCommands returns the command dead letters that /readyz reports.
func readyCommands(t *testing.T, a *testapp.App) []oas.CommandDeadLetters {
	t.Helper()

	res, err := a.Client.Readyz(background())
	require.NoError(t, err)
	ready, ok := res.(*oas.ReadyzOK)
	require.True(t, ok, "response %T", res)

	return ready.Commands
}

func TestProjectionSkipsPoisonRecord(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()

	poison := message.NewMessage(uuid.NewString(), []byte(`{"events":"not a list"}`))
	poison.Metadata.Set(events.MetaName, events.EventsIngestedName)
	poison.Metadata.Set(events.MetaSchemaVersion, "1")
	require.NoError(t, pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, poison)
	}))

	status, _, body := postJSON(t, a, "/api/v1/events", `{"event_type":"info","source":"after"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	waitForEvents(t, a, 1)

	// Every projector that reads EventsIngested stores its own dead letter
	// for the record; the events projector's is checked here.
	var letters []oas.DeadLetter
	for _, letter := range listDeadLetters(t, a) {
		if letter.Handler == eventstable.Name {
			letters = append(letters, letter)
		}
	}
	require.Len(t, letters, 1)
	require.Equal(t, eventlog.Topic, letters[0].Topic)
	require.Equal(t, eventstable.Name, letters[0].Handler)
	require.Equal(t, poison.UUID, letters[0].MessageUUID)
	require.JSONEq(t, `{"events":"not a list"}`, letters[0].Payload)

	res, err := a.Client.Readyz(ctx)
	require.NoError(t, err)
	ready, ok := res.(*oas.ReadyzOK)
	require.True(t, ok, "response %T", res)
	require.Contains(t, ready.Projections, oas.ProjectionLag{
		Name:        eventstable.Name,
		LagRecords:  0,
		LagEvents:   0, //nolint:staticcheck // The deprecated field is still sent, with the value of LagRecords.
		DeadLetters: oas.NewOptInt64(1),
	})
	require.Equal(t, zeroCommands(a), ready.Commands, "a skipped log record is not a command dead letter")

	status, body = postEmpty(t, a, fmt.Sprintf("/api/v1/dead-letters/%d/requeue", letters[0].ID))
	require.Equal(t, http.StatusConflict, status, "body: %s", body)
	require.Contains(t, string(body), "rebuild the projection")
}

func stringValues(values map[string]any) map[string]any {
	out := make(map[string]any, len(values))
	for key, value := range values {
		switch v := value.(type) {
		case []byte:
			out[key] = string(v)
		default:
			out[key] = v
		}
	}

	return out
}

func postEmpty(t *testing.T, a *testapp.App, path string) (int, []byte) {
	t.Helper()

	status, _, body := post(t, a, path, "application/json", nil)

	return status, body
}

func TestDeadLetterExpiredRuleChangeNotRequeued(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()

	expiredAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	payload, err := json.Marshal(commands.RuleCommand{
		CommandID: uuid.NewString(), RuleID: uuid.New(), ExpiresAt: expiredAt,
	})
	require.NoError(t, err)

	added, err := deadletter.Insert(ctx, a.Pool, deadletter.Letter{
		MessageUUID: uuid.NewString(),
		Topic:       bus.CommandStream(a.Config.StreamPrefix, commands.PatchRuleHandlerName),
		Handler:     commands.PatchRuleHandlerName,
		Reason:      "invalid byte sequence for encoding UTF8",
		Payload:     payload,
		Metadata:    map[string]string{"name": commands.PatchRuleHandlerName},
		Deliveries:  5,
	})
	require.NoError(t, err)
	require.True(t, added)

	letters := listDeadLetters(t, a)
	require.Len(t, letters, 1)

	status, body := postEmpty(t, a, "/api/v1/dead-letters/"+strconv.FormatInt(letters[0].ID, 10)+"/requeue")
	require.Equal(t, http.StatusConflict, status, "body: %s", body)
	require.JSONEq(t, `{"error":"dead letter `+strconv.FormatInt(letters[0].ID, 10)+` is a rule change whose request `+
		`expired at 2026-01-02T03:04:05Z, and the worker skips an expired change; send the change again, or delete the letter"}`,
		string(body))

	letters = listDeadLetters(t, a)
	require.Len(t, letters, 1)
	require.False(t, letters[0].RequeuedAt.Set, "the letter still waits")

	length, err := a.Deps.Redis.XLen(ctx, bus.CommandStream(a.Config.StreamPrefix, commands.PatchRuleHandlerName)).Result()
	require.NoError(t, err)
	require.Zero(t, length, "nothing was sent to the stream")
}
