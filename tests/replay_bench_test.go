package tests

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/eventstable"
)

// replayBenchCopies is how many times the real logs are in the log: once
// ingested and the rest appended as copies with fresh event ids, so that
// one replay reads 100,000 events.
const replayBenchCopies = 10

// BenchmarkReplayEvents measures a full replay of the events projection,
// copies and swap included, and reports events replayed per second.
func BenchmarkReplayEvents(b *testing.B) {
	a := testapp.Start(b, testapp.Options{})
	ingestRealLogs(b, a, dataDir(b))
	appendCopies(b, a, replayBenchCopies-1)

	total := replayBenchCopies * 10000
	testapp.WaitFor(b, 5*time.Minute, "events table to hold every copy", func() bool {
		return a.Count("SELECT count(*) FROM events") >= total
	})

	var replayed time.Duration
	b.ResetTimer()

	for b.Loop() {
		start := time.Now()
		_, err := projection.Replay(context.Background(), projection.ReplayConfig{
			Pool:      a.Pool,
			Projector: eventstable.Projector{},
		})
		replayed += time.Since(start)
		require.NoError(b, err)
	}

	b.StopTimer()
	require.Equal(b, total, a.Count("SELECT count(*) FROM events"))
	b.ReportMetric(float64(total)*float64(b.N)/replayed.Seconds(), "events/s")
}

// appendCopies appends every EventsIngested record of the log again, n
// times, with fresh event ids.
func appendCopies(b *testing.B, a *testapp.App, n int) {
	b.Helper()
	ctx := context.Background()

	rows, err := a.Pool.Query(ctx, `SELECT payload FROM event_log
		WHERE metadata->>'name' = $1 ORDER BY transaction_id, "offset"`, events.EventsIngestedName)
	require.NoError(b, err)

	payloads, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	require.NoError(b, err)

	for range n {
		for _, payload := range payloads {
			msg, err := copyWithFreshIDs(payload)
			require.NoError(b, err)

			err = pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error { return eventlog.Append(ctx, tx, msg) })
			require.NoError(b, err)
		}
	}
}

func copyWithFreshIDs(payload []byte) (*message.Message, error) {
	var ingested events.EventsIngested
	if err := json.Unmarshal(payload, &ingested); err != nil {
		return nil, err
	}

	for i := range ingested.Events {
		ingested.Events[i].EventID = uuid.New()
	}

	return events.NewMessage(ingested, events.Envelope{Actor: events.ActorAnonymous, RecordedAt: time.Now().UTC()})
}
