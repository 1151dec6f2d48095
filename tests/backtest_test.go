package tests

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/detect"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// apacheErrorRule is "more than 5 error events from apache/apache in 60s,
// cooldown 60s".
func apacheErrorRule() oas.RuleInput {
	return oas.RuleInput{
		Name:            "apache error burst",
		Severity:        oas.SeverityCritical,
		WindowSeconds:   60,
		CooldownSeconds: oas.NewOptInt(60),
		Condition: oas.RuleCondition{
			Type:     oas.RuleConditionTypeThreshold,
			Metric:   oas.NewOptRuleConditionMetric(oas.RuleConditionMetricCount),
			Filters:  oas.NewOptRuleFilters(oas.RuleFilters{EventType: oas.NewOptString("error"), Source: oas.NewOptString("apache/apache")}),
			Operator: oas.NewOptRuleConditionOperator(oas.RuleConditionOperatorGreater),
			Value:    oas.NewOptFloat64(5),
		},
	}
}

// templateRule is "more than 5 events of one template_id from
// apache/apache in 60s, cooldown 30s, 1s of lateness".
func templateRule() oas.RuleInput {
	return oas.RuleInput{
		Name:                   "template burst",
		Severity:               oas.SeverityWarning,
		WindowSeconds:          60,
		CooldownSeconds:        oas.NewOptInt(30),
		AllowedLatenessSeconds: oas.NewOptInt(1),
		Condition: oas.RuleCondition{
			Type:     oas.RuleConditionTypeThreshold,
			Metric:   oas.NewOptRuleConditionMetric(oas.RuleConditionMetricCount),
			Filters:  oas.NewOptRuleFilters(oas.RuleFilters{Source: oas.NewOptString("apache/apache")}),
			Operator: oas.NewOptRuleConditionOperator(oas.RuleConditionOperatorGreater),
			Value:    oas.NewOptFloat64(5),
			GroupBy:  []string{"payload.template_id"},
		},
	}
}

// liveAnomalies returns every anomaly of the API for a rule, oldest first.
func liveAnomalies(t *testing.T, a *testapp.App, ruleID uuid.UUID) []oas.Anomaly {
	t.Helper()

	var all []oas.Anomaly
	for offset := 0; ; offset += 100 {
		page, err := a.Client.ListAnomalies(background(), oas.ListAnomaliesParams{
			RuleID: oas.NewOptUUID(ruleID), Limit: oas.NewOptInt(100), Offset: oas.NewOptInt(offset),
		})
		require.NoError(t, err)
		all = append(all, page.Data...)
		if len(page.Data) < 100 {
			break
		}
	}

	slices.Reverse(all)

	return all
}

func runBacktest(t *testing.T, a *testapp.App, input *oas.BacktestInput) *oas.Backtest {
	t.Helper()

	res, err := a.Client.BacktestRule(background(), input)
	require.NoError(t, err)

	result, ok := res.(*oas.Backtest)
	require.True(t, ok, "response %T: %+v", res, res)

	return result
}

// timeRange returns the earliest and latest event time in evs.
func timeRange(evs []events.IngestedEvent) (time.Time, time.Time) {
	var first, last time.Time
	for i := range evs {
		at := detect.EventTime(&evs[i], detect.FutureToleranceDefault)
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}

	return first, last
}

func foundOf(list []oas.Anomaly) []found {
	out := make([]found, len(list))
	for i, a := range list {
		out[i] = found{RuleID: a.RuleID, EventID: a.EventID, GroupKey: a.GroupKey, At: a.DetectedAt, Observed: a.Observed}
	}

	return sortFound(out)
}

func TestBacktestApache(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	input := apacheErrorRule()
	rule := createRule(t, a, &input)
	ruleID := rule.Response.RuleID

	lines := readLines(t, "loghub-apache.ndjson")
	sendLineBatches(t, a, lines, 500, 0)
	waitForEvents(t, a, len(lines))
	waitForDetection(t, a)

	live := liveAnomalies(t, a, ruleID)
	require.Len(t, live, 24, "the Apache sample holds 24 error bursts")

	logged := loggedEvents(t, a.Pool)
	first, last := timeRange(logged)
	counts := func() [3]int {
		return [3]int{
			a.Count("SELECT count(*) FROM anomalies"),
			a.Count("SELECT count(*) FROM event_log"),
			a.Count("SELECT count(*) FROM notification_deliveries"),
		}
	}
	before := counts()

	t.Run("live", func(t *testing.T) {
		result := runBacktest(t, a, &oas.BacktestInput{
			Rule: input, RuleID: oas.NewOptUUID(ruleID), From: first, To: last,
		})

		require.Equal(t, ruleID, result.RuleID)
		require.Equal(t, 1, result.RuleVersion)
		require.Equal(t, live, result.Anomalies)
		require.Equal(t, int64(len(lines)), result.EventsRead)
		require.Equal(t, int64(len(lines)), result.EventsScanned)
		require.False(t, result.Truncated)

		reference, late := referenceDetect(referenceRule{ID: ruleID, EventType: "error", Source: "apache/apache",
			Value: 5, Window: time.Minute, Cooldown: time.Minute, Lateness: time.Minute}, logged)
		require.Equal(t, sortFound(reference), foundOf(result.Anomalies))
		require.Equal(t, int64(late), result.LateEvents)
	})

	t.Run("group by", func(t *testing.T) {
		result := runBacktest(t, a, &oas.BacktestInput{Rule: templateRule(), From: first, To: last})

		require.NotEqual(t, ruleID, result.RuleID, "a new id")
		require.Equal(t, 1, result.RuleVersion)

		want, late := referenceDetect(referenceRule{ID: result.RuleID, Source: "apache/apache", GroupPath: "template_id",
			Value: 5, Window: time.Minute, Cooldown: 30 * time.Second, Lateness: time.Second}, logged)
		require.NotEmpty(t, want)
		require.Positive(t, late, "the file's out-of-order lines are late by more than 1s")
		require.Equal(t, sortFound(want), foundOf(result.Anomalies))
		require.Equal(t, int64(late), result.LateEvents)

		for _, anomaly := range result.Anomalies {
			require.Equal(t, detect.AnomalyID(result.RuleID, 1, anomaly.GroupKey, anomaly.EventID), anomaly.AnomalyID)
			require.True(t, strings.HasPrefix(anomaly.Message, "template burst ("+anomaly.GroupKey+"): "), anomaly.Message)
		}
	})

	t.Run("sub range", func(t *testing.T) {
		// The range starts at the 13th live anomaly; windows and cooldowns
		// before it come from the lead-in.
		from, to := live[12].DetectedAt, live[20].DetectedAt
		result := runBacktest(t, a, &oas.BacktestInput{
			Rule: input, RuleID: oas.NewOptUUID(ruleID), From: from, To: to,
		})

		require.Equal(t, live[12:21], result.Anomalies)
		require.Less(t, result.EventsScanned, int64(len(lines)))
		require.Equal(t, int64(len(lines)), result.EventsRead)
	})

	t.Run("truncated", func(t *testing.T) {
		result := runBacktest(t, a, &oas.BacktestInput{
			Rule: input, RuleID: oas.NewOptUUID(ruleID), From: first, To: last, MaxEvents: oas.NewOptInt(700),
		})

		require.True(t, result.Truncated)
		require.GreaterOrEqual(t, result.EventsRead, int64(700))
		require.Less(t, result.EventsRead, int64(len(lines)))

		read := map[uuid.UUID]bool{}
		for _, e := range logged[:result.EventsRead] {
			read[e.EventID] = true
		}
		var want []oas.Anomaly
		for _, anomaly := range live {
			if read[anomaly.EventID] {
				want = append(want, anomaly)
			}
		}
		require.NotEmpty(t, want)
		require.Equal(t, want, result.Anomalies)
	})

	t.Run("empty range", func(t *testing.T) {
		result := runBacktest(t, a, &oas.BacktestInput{
			Rule: input, From: last.Add(time.Hour), To: last.Add(2 * time.Hour),
		})

		require.Empty(t, result.Anomalies)
		require.Zero(t, result.EventsScanned)
	})

	require.Equal(t, before, counts(), "anomalies, event_log and notification_deliveries are unchanged")
}

func TestBacktestInvalid(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	now := time.Now().UTC().Format(time.RFC3339)
	earlier := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)

	cases := []struct {
		name, body, message string
	}{
		{"operator missing", `{"rule": {"name": "x", "severity": "info", "window_seconds": 60,
			"condition": {"type": "threshold", "metric": "count", "value": 5}}, "from": "` + earlier + `", "to": "` + now + `"}`,
			"rule.condition.operator: is required"},
		{"from after to", `{"rule": {"name": "x", "severity": "info", "window_seconds": 60,
			"condition": {"type": "threshold", "metric": "count", "operator": ">", "value": 5}}, "from": "` + now + `", "to": "` + earlier + `"}`,
			"from: must not be after to"},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := postJSON(t, a, "/api/v1/rules/backtest", c.body)
			require.Equal(t, http.StatusBadRequest, status, "body: %s", body)
			require.Contains(t, string(body), c.message)
		})
	}

	t.Run("to missing", func(t *testing.T) {
		status, _, body := postJSON(t, a, "/api/v1/rules/backtest", `{"rule": {"name": "x", "severity": "info",
			"window_seconds": 60, "condition": {"type": "threshold", "metric": "count", "operator": ">", "value": 5}}, "from": "`+earlier+`"}`)
		require.Equal(t, http.StatusBadRequest, status, "body: %s", body)
		require.Contains(t, string(body), "to: is required")
	})
}

func TestBacktestScopes(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	_, readKey := createKey(t, a, "reader", auth.ScopeRead)
	_, ingestKey := createKey(t, a, "ingester", auth.ScopeIngest)
	body := `{"rule": {"name": "x", "severity": "info", "window_seconds": 60,
		"condition": {"type": "threshold", "metric": "count", "operator": ">", "value": 5}},
		"from": "2005-12-04T00:00:00Z", "to": "2005-12-05T00:00:00Z"}`

	status, _, response := request(t, a, http.MethodPost, "/api/v1/rules/backtest", "bearer", readKey, body)
	require.Equal(t, http.StatusOK, status, "read key: %s", response)

	status, _, response = request(t, a, http.MethodPost, "/api/v1/rules/backtest", "x-api-key", readKey, body)
	require.Equal(t, http.StatusOK, status, "read key in X-API-Key: %s", response)

	status, _, response = request(t, a, http.MethodPost, "/api/v1/rules/backtest", "bearer", ingestKey, body)
	require.Equal(t, http.StatusForbidden, status, "ingest key: %s", response)
	require.Contains(t, response, `lacks the \"read\" scope`)

	status, _, response = request(t, a, http.MethodPost, "/api/v1/rules/backtest", "", "", body)
	require.Equal(t, http.StatusUnauthorized, status, "no key: %s", response)

	status, _, response = request(t, a, http.MethodPost, "/api/v1/rules/backtest", "bearer", "ep_wrong", body)
	require.Equal(t, http.StatusUnauthorized, status, "wrong key: %s", response)
}
