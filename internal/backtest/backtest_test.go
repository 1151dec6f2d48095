package backtest_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/backtest"
	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestMain(m *testing.M) { testapp.Main(m) }

// TestRunReadsTransactionIDsInNumericOrder appends three records of one
// event each with transaction ids 9, 10 and 11, whose text sorts 10, 11,
// 9. Read in log order, the third event finds all three in its window and
// the rule fires once.
func TestRunReadsTransactionIDsInNumericOrder(t *testing.T) {
	t.Parallel()

	ctx := context.Background()
	pool, err := database.Open(ctx, testapp.NewDatabase(t), 2)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	start := time.Now().UTC().Truncate(time.Second)
	for i, txID := range []uint64{9, 10, 11} {
		at := start.Add(time.Duration(i) * time.Second)
		record := events.EventsIngested{Events: []events.IngestedEvent{{
			EventID: uuid.Must(uuid.NewV7()), EventType: "error", Source: "web",
			Timestamp: at, ReceivedAt: at, Payload: json.RawMessage(`{}`), Metadata: json.RawMessage(`{}`),
		}}}
		msg, err := events.NewMessage(record, events.Envelope{RecordedAt: at})
		require.NoError(t, err)
		metadata, err := json.Marshal(msg.Metadata)
		require.NoError(t, err)

		_, err = pool.Exec(ctx, `INSERT INTO event_log (uuid, payload, metadata, transaction_id)
			VALUES ($1, $2, $3, $4::text::xid8)`, msg.UUID, string(msg.Payload), metadata, strconv.FormatUint(txID, 10))
		require.NoError(t, err)
	}

	three := 3.0
	result, err := backtest.Run(ctx, pool, backtest.Request{
		RuleID:      uuid.New(),
		RuleVersion: 1,
		Spec: events.RuleSpec{
			Name: "three errors", Enabled: true, Severity: "warning", WindowSeconds: 60,
			Condition: events.Condition{Type: "threshold", Metric: "count", Operator: ">=", Value: &three},
		},
		From: start.Add(-time.Minute),
		To:   start.Add(time.Minute),
	})
	require.NoError(t, err)

	require.Equal(t, int64(3), result.EventsRead)
	require.Len(t, result.Anomalies, 1)
	require.Equal(t, start.Add(2*time.Second), result.Anomalies[0].DetectedAt.UTC())
}
