package tests

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// commandOf encodes an ingest command carrying batch the way the API sends
// it.
func commandOf(t *testing.T, batch []events.IngestedEvent) map[string]any {
	t.Helper()

	msg, err := bus.Marshaler.Marshal(&commands.IngestEvents{CommandID: uuid.NewString(), Events: batch})
	require.NoError(t, err)

	values, err := redisstream.DefaultMarshallerUnmarshaller{}.Marshal("", msg)
	require.NoError(t, err)

	return values
}

func newEvents(source string, n int) []events.IngestedEvent {
	batch := make([]events.IngestedEvent, n)
	now := time.Now().UTC()
	for i := range batch {
		batch[i] = events.IngestedEvent{
			EventID: uuid.New(), EventType: "info", Source: source,
			Timestamp: now, ReceivedAt: now,
			Payload: json.RawMessage(`{}`), Metadata: json.RawMessage(`{}`),
		}
	}

	return batch
}

func TestLanesReadAsSeveralConsumers(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{Config: func(c *config.Config) { c.IngestLanes = 3 }})

	batch := newEvents("lanes", 100)
	for i := range 30 {
		_, err := a.Deps.Redis.XAdd(background(), &redis.XAddArgs{
			Stream: ingestStream(a), Values: commandOf(t, batch[i*3:i*3+3]),
		}).Result()
		require.NoError(t, err)
	}

	testapp.WaitFor(t, 30*time.Second, "every command stored", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'lanes'") == 90
	})

	consumers, err := a.Deps.Redis.XInfoConsumers(background(), ingestStream(a), commands.IngestEventsHandlerName).Result()
	require.NoError(t, err)

	names := make([]string, 0, len(consumers))
	for _, c := range consumers {
		names = append(names, c.Name)
	}
	worker := a.Config.ConsumerName + "-1" // testapp numbers each worker start
	require.ElementsMatch(t, []string{
		bus.LaneConsumer(worker, 0),
		bus.LaneConsumer(worker, 1),
		bus.LaneConsumer(worker, 2),
	}, names)
}

// Commands sharing event ids, handled on several lanes at once, must store
// each event once and must not deadlock: each claims its ids in the same
// order.
func TestLanesOverlappingCommands(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true, Config: func(c *config.Config) { c.IngestLanes = 4 }})

	shared := newEvents("overlap", 1000)
	var wg sync.WaitGroup
	for i := range 16 {
		// Each command carries every shared event, reversed in every
		// other one, so unordered claims would lock them in opposite
		// orders.
		batch := append([]events.IngestedEvent(nil), shared...)
		if i%2 == 1 {
			for l, r := 0, len(batch)-1; l < r; l, r = l+1, r-1 {
				batch[l], batch[r] = batch[r], batch[l]
			}
		}

		values := commandOf(t, batch)
		wg.Go(func() {
			_ = a.Deps.Redis.XAdd(background(), &redis.XAddArgs{Stream: ingestStream(a), Values: values}).Err()
		})
	}
	wg.Wait()

	// Started after the commands are queued, each lane reads one at once.
	a.StartWorker()

	testapp.WaitFor(t, 30*time.Second, "every command acknowledged", func() bool {
		groups, err := a.Deps.Redis.XInfoGroups(background(), ingestStream(a)).Result()

		return err == nil && len(groups) == 1 && groups[0].EntriesRead == 16 && groups[0].Pending == 0
	})
	testapp.WaitFor(t, 30*time.Second, "events projected", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'overlap'") == len(shared)
	})

	require.Equal(t, 1, a.Count(`SELECT count(*) FROM event_log WHERE metadata->>'name' = 'EventsIngested'
		AND payload->'events'->0->>'source' = 'overlap'`), "one record holds the shared events")
	require.Equal(t, 0, a.Count("SELECT count(*) FROM dead_letters"), "no command failed")
	require.Equal(t, 0, a.Count("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"),
		"no transaction was rolled back as a deadlock and retried")
}

func TestPendingCommandOfLiveWorkersLane(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true, Config: func(c *config.Config) {
		c.ClaimIdle = 500 * time.Millisecond
	}})
	ctx := background()
	stream := ingestStream(a)

	require.NoError(t, a.Deps.Redis.XGroupCreateMkStream(ctx, stream, commands.IngestEventsHandlerName, "0").Err())
	addAndDeliver(t, a, bus.LaneConsumer("busy", 2), "kept", 1)
	addAndDeliver(t, a, bus.LaneConsumer("gone", 2), "taken", 1)
	require.NoError(t, a.Deps.Redis.ZAdd(ctx, bus.WorkersKey(a.Config.StreamPrefix),
		redis.Z{Score: float64(time.Now().Unix()), Member: "busy"}).Err())

	a.StartWorker()

	testapp.WaitFor(t, 30*time.Second, "pending command of the stopped worker's lane handled", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'taken'") == 1
	})

	pending, err := a.Deps.Redis.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: stream, Group: commands.IngestEventsHandlerName, Start: "-", End: "+", Count: 10,
	}).Result()
	require.NoError(t, err)
	require.Len(t, pending, 1, "the live worker's command stays pending")
	require.Equal(t, bus.LaneConsumer("busy", 2), pending[0].Consumer)
	require.Equal(t, 0, a.Count("SELECT count(*) FROM events WHERE source = 'kept'"))
}
