package eventstable_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/eventstable"
)

func TestMain(m *testing.M) { testapp.Main(m) }

// record returns an EventsIngested record of n events of eventType.
func record(n int, eventType string) (events.EventsIngested, projection.Meta) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	ingested := events.EventsIngested{}
	for i := range n {
		ingested.Events = append(ingested.Events, events.IngestedEvent{
			EventID: uuid.New(), EventType: eventType, Source: "gathering", Timestamp: now.Add(time.Duration(i)),
			ReceivedAt: now, Payload: json.RawMessage(`{"i": 1}`), Metadata: json.RawMessage(`{}`),
		})
	}

	return ingested, projection.Meta{RecordID: uuid.NewString()}
}

func TestGatheringWritesEveryRecord(t *testing.T) {
	t.Parallel()

	for _, bulk := range []bool{false, true} {
		ctx := t.Context()
		pool, err := database.Open(ctx, testapp.NewDatabase(t), 2)
		require.NoError(t, err)
		t.Cleanup(pool.Close)

		tx, err := pool.Begin(ctx)
		require.NoError(t, err)

		stored, storedMeta := record(3, "stored")
		require.NoError(t, eventstable.Projector{}.Apply(ctx, tx, stored, storedMeta))

		large, largeMeta := record(4500, "large")
		replaced, _ := record(2, "replaced")
		small, smallMeta := record(5, "small")

		gathering := eventstable.Projector{Bulk: bulk}.Gather()
		require.NoError(t, gathering.Add(replaced, largeMeta))
		require.NoError(t, gathering.Add(small, smallMeta))
		require.NoError(t, gathering.Add(large, largeMeta), "a record added again replaces its events")
		require.NoError(t, gathering.Add(stored, storedMeta), "events already stored are skipped")
		require.NoError(t, gathering.Flush(ctx, tx))
		require.NoError(t, gathering.Flush(ctx, tx), "a flushed gathering is empty")

		rows, err := tx.Query(ctx, `SELECT event_type, count(*) FROM events GROUP BY event_type`)
		require.NoError(t, err)
		counts := map[string]int{}
		for rows.Next() {
			var eventType string
			var n int
			require.NoError(t, rows.Scan(&eventType, &n))
			counts[eventType] = n
		}
		require.NoError(t, rows.Err())
		require.Equal(t, map[string]int{"stored": 3, "large": 4500, "small": 5}, counts, "bulk %v", bulk)

		require.NoError(t, tx.Rollback(ctx))
	}
}
