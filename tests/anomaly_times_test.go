package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// TestAnomalyTimesAreMicroseconds sends events whose timestamps have
// nanoseconds and checks that the anomalies of GET /api/v1/anomalies and
// of a backtest carry the same ids and the same times, cut to
// microseconds, and that a drift anomaly's message quotes the event time
// as GET /api/v1/events/{event_id} returns it.
func TestAnomalyTimesAreMicroseconds(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	burstInput := oas.RuleInput{
		Name:            "nanosecond burst",
		Severity:        oas.SeverityWarning,
		WindowSeconds:   60,
		CooldownSeconds: oas.NewOptInt(0),
		Condition: oas.RuleCondition{
			Type:     oas.RuleConditionTypeThreshold,
			Metric:   oas.NewOptRuleConditionMetric(oas.RuleConditionMetricCount),
			Filters:  oas.NewOptRuleFilters(oas.RuleFilters{Source: oas.NewOptString("nanos")}),
			Operator: oas.NewOptRuleConditionOperator(oas.RuleConditionOperatorGreater),
			Value:    oas.NewOptFloat64(2),
		},
	}
	driftInput := oas.RuleInput{
		Name:          "nanosecond drift",
		Severity:      oas.SeverityInfo,
		WindowSeconds: 60,
		Condition: oas.RuleCondition{
			Type:            oas.RuleConditionTypeTimestampDrift,
			MaxDriftSeconds: oas.NewOptFloat64(3600),
		},
	}
	burstID := createRule(t, a, &burstInput).Response.RuleID
	driftID := createRule(t, a, &driftInput).Response.RuleID

	// Five events one second apart, each 123456789 ns past its second.
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	timestamps := map[uuid.UUID]time.Time{}
	var lines []string
	for i := range 5 {
		id := uuid.New()
		at := start.Add(time.Duration(i)*time.Second + 123456789*time.Nanosecond)
		timestamps[id] = at
		lines = append(lines, `{"event_id":"`+id.String()+`","event_type":"e","source":"nanos","timestamp":"`+
			at.Format(time.RFC3339Nano)+`"}`)
	}
	driftEventID := uuid.New()
	lines = append(lines, `{"event_id":"`+driftEventID.String()+
		`","event_type":"e","source":"future","timestamp":"2099-12-31T23:59:59.999999999Z"}`)

	status, _, body := postJSON(t, a, "/api/v1/events/batch", "["+strings.Join(lines, ",")+"]")
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	waitForEvents(t, a, len(lines))
	waitForDetection(t, a)

	t.Run("threshold", func(t *testing.T) {
		live := liveAnomalies(t, a, burstID)
		require.Len(t, live, 3, "the 3rd, 4th and 5th events make more than 2")

		for _, anomaly := range live {
			at, ok := timestamps[anomaly.EventID]
			require.True(t, ok, "anomaly %s names event %s", anomaly.AnomalyID, anomaly.EventID)
			require.Equal(t, at.Truncate(time.Microsecond), anomaly.DetectedAt)
			require.Equal(t, at.Truncate(time.Microsecond), anomaly.WindowEnd)
			require.Equal(t, at.Add(-time.Minute).Truncate(time.Microsecond), anomaly.WindowStart)
		}

		result := runBacktest(t, a, &oas.BacktestInput{
			Rule: burstInput, RuleID: oas.NewOptUUID(burstID), From: start, To: start.Add(10 * time.Second),
		})
		require.Equal(t, live, result.Anomalies, "the backtest returns the stored anomalies, ids and times included")
	})

	t.Run("drift", func(t *testing.T) {
		live := liveAnomalies(t, a, driftID)
		require.Len(t, live, 1)
		require.Equal(t, driftEventID, live[0].EventID)
		require.Zero(t, live[0].DetectedAt.Nanosecond()%1000, "detected_at %s", live[0].DetectedAt)

		status, body := get(t, a, "/api/v1/events/"+driftEventID.String())
		require.Equal(t, http.StatusOK, status, "body: %s", body)
		var stored struct {
			Timestamp  string    `json:"timestamp"`
			ReceivedAt time.Time `json:"received_at"`
		}
		require.NoError(t, json.Unmarshal(body, &stored))
		require.Equal(t, "2099-12-31T23:59:59.999999Z", stored.Timestamp)

		require.Contains(t, live[0].Message, "has timestamp "+stored.Timestamp+", ")
		require.Contains(t, live[0].Message, "from received_at "+stored.ReceivedAt.UTC().Format(time.RFC3339Nano)+", ")
		require.NotContains(t, live[0].Message, ".999999999")
		require.Equal(t, stored.ReceivedAt.UTC(), live[0].DetectedAt, "the event time is capped at received_at")

		result := runBacktest(t, a, &oas.BacktestInput{
			Rule: driftInput, RuleID: oas.NewOptUUID(driftID),
			From: live[0].DetectedAt.Add(-time.Hour), To: live[0].DetectedAt.Add(time.Hour),
		})
		require.Equal(t, live, result.Anomalies)
	})
}
