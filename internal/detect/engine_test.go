package detect

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
)

var base = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// sec returns base plus s seconds.
func sec(s float64) time.Time {
	return base.Add(time.Duration(s * float64(time.Second)))
}

func event(s float64, eventType, source string, payload string) *events.IngestedEvent {
	if payload == "" {
		payload = "{}"
	}

	return &events.IngestedEvent{
		EventID:    uuid.New(),
		EventType:  eventType,
		Source:     source,
		Timestamp:  sec(s),
		ReceivedAt: sec(s),
		Payload:    json.RawMessage(payload),
		Metadata:   json.RawMessage("{}"),
	}
}

func threshold(operator string, value float64, window, cooldown int) events.RuleSpec {
	return events.RuleSpec{
		Name:            "errors",
		Enabled:         true,
		Severity:        "critical",
		WindowSeconds:   window,
		CooldownSeconds: cooldown,
		Condition: events.Condition{
			Type:     events.ConditionThreshold,
			Metric:   "count",
			Filters:  &events.Filters{EventType: "error"},
			Operator: operator,
			Value:    &value,
		},
	}
}

// firedAt feeds error events at the given seconds and returns the seconds
// of the events that fired.
func firedAt(t *testing.T, engine *Engine, seconds ...float64) []float64 {
	t.Helper()

	fired := []float64{}
	for _, s := range seconds {
		for _, anomaly := range engine.Observe(event(s, "error", "app", "")) {
			fired = append(fired, anomaly.DetectedAt.Sub(base).Seconds())
		}
	}

	return fired
}

func TestThresholdOperatorsAtBoundary(t *testing.T) {
	t.Parallel()

	cases := []struct {
		operator string
		value    float64
		// fired lists the counts (1..5) at which the rule fires.
		fired []float64
	}{
		{">", 3, []float64{4, 5}},
		{">=", 3, []float64{3, 4, 5}},
		{"<", 3, []float64{1, 2}},
		{"<=", 3, []float64{1, 2, 3}},
		{"==", 3, []float64{3}},
		{"!=", 3, []float64{1, 2, 4, 5}},
		{"==", 0, []float64{}},
		{"<=", 0, []float64{}},
		{"<", 1, []float64{}},
		{"!=", 0, []float64{1, 2, 3, 4, 5}},
		{"~", 3, []float64{}},
	}

	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s %v", tc.operator, tc.value), func(t *testing.T) {
			t.Parallel()

			engine := NewEngine(Config{})
			engine.SetRule(uuid.New(), 1, threshold(tc.operator, tc.value, 60, 0))

			// One event per second: the nth event sees a count of n.
			require.Equal(t, tc.fired, firedAt(t, engine, 1, 2, 3, 4, 5))
		})
	}
}

func TestThresholdWindowExcludesStart(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, threshold(">", 1, 60, 0))

	require.Empty(t, firedAt(t, engine, 0, 60), "the event at 0 is outside (0, 60]")
	require.Equal(t, []float64{119.5}, firedAt(t, engine, 119.5), "60 and 119.5 are in (59.5, 119.5]")
}

func TestThresholdCountsEqualTimes(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, threshold(">=", 3, 10, 0))

	require.Equal(t, []float64{5}, firedAt(t, engine, 5, 5, 5))
}

func TestCooldownExcludesItsStart(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, threshold(">", 0, 60, 10))

	// 5 and 11 fall within 10s after a firing; 10 is exactly 10s after 0,
	// outside (0, 10].
	require.Equal(t, []float64{0, 10, 21}, firedAt(t, engine, 0, 5, 10, 11, 21))
}

func TestCooldownZeroNeverBlocks(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, threshold(">", 0, 60, 0))

	require.Equal(t, []float64{1, 1, 2}, firedAt(t, engine, 1, 1, 2))
}

func TestFiltersSkipOtherEvents(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	spec := threshold(">=", 2, 60, 0)
	spec.Condition.Filters.Source = "db"
	engine.SetRule(uuid.New(), 1, spec)

	require.Empty(t, engine.Observe(event(1, "error", "db", "")))
	require.Empty(t, engine.Observe(event(2, "error", "web", "")))
	require.Empty(t, engine.Observe(event(3, "info", "db", "")))
	require.Len(t, engine.Observe(event(4, "error", "db", "")), 1)
}

func TestGroupByKeepsKeysApart(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	spec := threshold(">=", 2, 60, 30)
	spec.Condition.GroupBy = []string{"source", "payload.host.name"}
	id := uuid.New()
	engine.SetRule(id, 1, spec)

	a := `{"host":{"name":"a"}}`
	b := `{"host":{"name":"b"}}`
	require.Empty(t, engine.Observe(event(1, "error", "web", a)))
	require.Empty(t, engine.Observe(event(2, "error", "web", b)))
	require.Empty(t, engine.Observe(event(3, "error", "db", a)))
	require.Empty(t, engine.Observe(event(4, "error", "web", `{}`)))

	fired := engine.Observe(event(5, "error", "web", a))
	require.Len(t, fired, 1)
	require.Equal(t, `source="web", payload.host.name="a"`, fired[0].GroupKey)
	require.Equal(t, float64(2), fired[0].Observed)

	fired = engine.Observe(event(6, "error", "web", b))
	require.Len(t, fired, 1, "key b has its own cooldown")
	require.Equal(t, `source="web", payload.host.name="b"`, fired[0].GroupKey)

	require.Empty(t, engine.Observe(event(7, "error", "web", a)), "key a is in its cooldown")

	fired = engine.Observe(event(8, "error", "web", `{"host":{"name":7}}`))
	require.Empty(t, fired)
	fired = engine.Observe(event(9, "error", "web", `{"host":{"name":7}}`))
	require.Len(t, fired, 1)
	require.Equal(t, `source="web", payload.host.name=7`, fired[0].GroupKey)

	fired = engine.Observe(event(10, "error", "web", `{"host":1}`))
	require.Len(t, fired, 1, "(missing) already holds the event at 4")
	require.Equal(t, `source="web", payload.host.name=(missing)`, fired[0].GroupKey)
}

func TestOutOfOrderCountsInItsWindow(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, threshold(">=", 2, 15, 0))

	first := event(10, "error", "app", "")
	second := event(30, "error", "app", "")
	third := event(20, "error", "app", "")
	require.Empty(t, engine.Observe(first))
	require.Empty(t, engine.Observe(second), "(15, 30] holds only 30")

	fired := engine.Observe(third)
	require.Len(t, fired, 1, "(5, 20] holds 10 and 20")
	require.Equal(t, float64(2), fired[0].Observed)
	require.Equal(t, sec(5), fired[0].WindowStart)
	require.Equal(t, sec(20), fired[0].WindowEnd)
	require.Equal(t, []uuid.UUID{first.EventID, third.EventID}, fired[0].SampleEventIDs)

	fired = engine.Observe(event(31, "error", "app", ""))
	require.Len(t, fired, 1, "(16, 31] holds 20, 30 and 31")
	require.Equal(t, float64(3), fired[0].Observed)
}

func TestLateEventsAreSkipped(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, threshold(">=", 1, 60, 0))

	require.Equal(t, []float64{200}, firedAt(t, engine, 200))
	require.Empty(t, firedAt(t, engine, 139.9), "more than 60s behind 200")
	require.Equal(t, int64(1), engine.Stats().Late)
	require.Equal(t, []float64{140}, firedAt(t, engine, 140), "exactly 60s behind is allowed")
	require.Equal(t, int64(1), engine.Stats().Late)
}

func TestAllowedLatenessOverridesWindow(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	spec := threshold(">=", 1, 60, 0)
	lateness := 5
	spec.AllowedLatenessSeconds = &lateness
	engine.SetRule(uuid.New(), 1, spec)

	require.Equal(t, []float64{100, 95}, firedAt(t, engine, 100, 95, 94))
	require.Equal(t, int64(1), engine.Stats().Late)

	require.Equal(t, []float64{101}, firedAt(t, engine, 101))
}

func TestLatenessIsPerRule(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	spec := threshold(">=", 1, 10, 0)
	spec.Condition.GroupBy = []string{"source"}
	engine.SetRule(uuid.New(), 1, spec)

	require.Len(t, engine.Observe(event(100, "error", "a", "")), 1)
	require.Empty(t, engine.Observe(event(50, "error", "b", "")), "newest time is kept per rule, not per key")
	require.Equal(t, int64(1), engine.Stats().Late)
}

func TestFarFutureIsCappedAtReceivedAt(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{FutureTolerance: time.Minute})
	engine.SetRule(uuid.New(), 1, threshold(">=", 2, 120, 0))

	ahead := event(100, "error", "app", "")
	ahead.Timestamp = sec(100 + 3600)
	require.Empty(t, engine.Observe(ahead))

	near := event(130, "error", "app", "")
	near.Timestamp = sec(130 + 59)
	fired := engine.Observe(near)
	require.Len(t, fired, 1, "the capped event at 100 is in (69, 189]")
	require.Equal(t, sec(189), fired[0].DetectedAt, "59s ahead is within the tolerance")
	require.Equal(t, float64(2), fired[0].Observed)
	require.Equal(t, int64(0), engine.Stats().Late, "without the cap, 189 would be late behind 3700")
}

// TestEventAheadLeavesOthersOnTime sends one event stamped 4 minutes ahead
// of its received_at, within the tolerance, and then on-time events. The
// on-time events are not late, and the early event counts once the other
// events reach its time.
func TestEventAheadLeavesOthersOnTime(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, threshold(">=", 3, 60, 0))

	ahead := event(100, "error", "skewed", "")
	ahead.Timestamp = sec(100 + 240)
	require.Empty(t, engine.Observe(ahead))

	require.Equal(t, []float64{103}, firedAt(t, engine, 101, 102, 103), "the event at 340 is not in (43, 103]")
	require.Equal(t, int64(0), engine.Stats().Late)

	require.Equal(t, []float64{340}, firedAt(t, engine, 339, 340), "(280, 340] holds 339, 340 and the event stamped 340")
	require.Equal(t, int64(0), engine.Stats().Late)
}

func TestRuleChangeMidStream(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	id := uuid.New()
	engine.SetRule(id, 1, threshold(">=", 3, 60, 0))

	require.Equal(t, []float64{3}, firedAt(t, engine, 1, 2, 3))

	engine.SetRule(id, 2, threshold(">=", 2, 60, 0))
	require.Equal(t, []float64{5}, firedAt(t, engine, 4, 5), "version 2 starts with an empty window")

	engine.SetRule(id, 2, threshold(">=", 1, 60, 0))
	engine.SetRule(id, 1, threshold(">=", 1, 60, 0))
	version, spec, ok := engine.Rule(id)
	require.True(t, ok)
	require.Equal(t, 2, version, "versions at or below the current one are ignored")
	require.Equal(t, float64(2), *spec.Condition.Value)

	disabled := threshold(">=", 1, 60, 0)
	disabled.Enabled = false
	engine.SetRule(id, 3, disabled)
	require.Empty(t, firedAt(t, engine, 6, 7, 8))

	engine.SetRule(id, 4, threshold(">=", 1, 60, 0))
	fired := engine.Observe(event(9, "error", "app", ""))
	require.Len(t, fired, 1)
	require.Equal(t, 4, fired[0].RuleVersion)
	require.Equal(t, float64(1), fired[0].Observed, "events seen while disabled are not counted")

	engine.DeleteRule(id, 5)
	require.Empty(t, firedAt(t, engine, 10, 11))
	_, _, ok = engine.Rule(id)
	require.False(t, ok)
}

func TestRequiredFields(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	id := uuid.New()
	engine.SetRule(id, 1, events.RuleSpec{
		Name: "login payload", Enabled: true, Severity: "warning", WindowSeconds: 60, CooldownSeconds: 10,
		Condition: events.Condition{
			Type: events.ConditionRequiredFields, EventType: "login", Fields: []string{"user.id", "payload.ip"},
		},
	})

	require.Empty(t, engine.Observe(event(1, "login", "auth", `{"user":{"id":1},"ip":"x"}`)))
	require.Empty(t, engine.Observe(event(2, "logout", "auth", `{}`)), "other event types are not checked")

	bad := event(3, "login", "auth", `{"user":{"name":"a"},"ip":"x"}`)
	fired := engine.Observe(bad)
	require.Len(t, fired, 1)
	require.Equal(t, bad.EventID, fired[0].EventID)
	require.Equal(t, float64(1), fired[0].Observed)
	require.Equal(t, []uuid.UUID{bad.EventID}, fired[0].SampleEventIDs)
	require.Contains(t, fired[0].Message, "lacks user.id")
	require.Equal(t, sec(3), fired[0].WindowStart)

	require.Empty(t, engine.Observe(event(4, "login", "auth", `{}`)), "cooldown until 13")
	fired = engine.Observe(event(13, "login", "auth", `{}`))
	require.Len(t, fired, 1)
	require.Equal(t, float64(2), fired[0].Observed)
}

// driftRule returns an enabled timestamp_drift rule named "clock drift"
// with a 60-second window and maxDrift seconds.
func driftRule(maxDrift float64) events.RuleSpec {
	return events.RuleSpec{
		Name: "clock drift", Enabled: true, Severity: "info", WindowSeconds: 60,
		Condition: events.Condition{Type: events.ConditionTimestampDrift, MaxDriftSeconds: &maxDrift},
	}
}

func TestTimestampDrift(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, driftRule(30.0))

	exact := event(100, "info", "app", "")
	exact.ReceivedAt = sec(130)
	require.Empty(t, engine.Observe(exact), "30s is not more than 30s")

	behind := event(101, "info", "app", "")
	behind.ReceivedAt = sec(131.5)
	fired := engine.Observe(behind)
	require.Len(t, fired, 1)
	require.Equal(t, 30.5, fired[0].Observed)
	require.Equal(t, 30.0, fired[0].Threshold)

	ahead := event(3000, "info", "app", "")
	ahead.ReceivedAt = sec(102)
	fired = engine.Observe(ahead)
	require.Len(t, fired, 1, "drift is measured on the raw timestamp")
	require.Equal(t, float64(2898), fired[0].Observed)
	require.Equal(t, sec(102), fired[0].DetectedAt, "the event time is capped at received_at")
}

// TestTimestampDriftBehindNewerEvents sends an event stamped 15 minutes
// behind the newest event time, with lateness at its default, the window.
// A threshold rule skips it as late, and a drift rule, which measures time
// on received_at, flags it.
func TestTimestampDriftBehindNewerEvents(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, driftRule(300.0))
	engine.SetRule(uuid.New(), 1, threshold(">", 100, 60, 0))

	onTime := event(1000, "error", "app", "")
	onTime.ReceivedAt = sec(1000)
	require.Empty(t, engine.Observe(onTime))

	behind := event(100, "error", "app", "")
	behind.ReceivedAt = sec(1001)
	fired := engine.Observe(behind)
	require.Len(t, fired, 1)
	require.Equal(t, "clock drift", fired[0].RuleName)
	require.Equal(t, float64(901), fired[0].Observed)
	require.Equal(t, sec(1001), fired[0].DetectedAt, "detected_at is received_at")
	require.Equal(t, int64(1), engine.Stats().Late, "the threshold rule skipped the event as late")

	again := event(200, "error", "app", "")
	again.ReceivedAt = sec(1002)
	require.Len(t, engine.Observe(again), 1, "no cooldown: each drifting event fires")
}

func TestAnomalyFields(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{SampleSize: 3})
	id := uuid.New()
	engine.SetRule(id, 7, threshold(">", 4, 60, 0))

	var last *events.IngestedEvent
	var ids []uuid.UUID
	var fired []events.AnomalyDetected
	for i := range 5 {
		last = event(float64(i), "error", "app", "")
		ids = append(ids, last.EventID)
		fired = engine.Observe(last)
	}

	require.Len(t, fired, 1)
	anomaly := fired[0]
	require.Equal(t, AnomalyID(id, 7, "", last.EventID), anomaly.AnomalyID)
	require.NotEqual(t, AnomalyID(id, 8, "", last.EventID), anomaly.AnomalyID)
	require.Equal(t, id, anomaly.RuleID)
	require.Equal(t, 7, anomaly.RuleVersion)
	require.Equal(t, "errors", anomaly.RuleName)
	require.Equal(t, "critical", anomaly.Severity)
	require.Equal(t, float64(5), anomaly.Observed)
	require.Equal(t, float64(4), anomaly.Threshold)
	require.Equal(t, ">", anomaly.Operator)
	require.Equal(t, sec(-56), anomaly.WindowStart)
	require.Equal(t, sec(4), anomaly.WindowEnd)
	require.Equal(t, sec(4), anomaly.DetectedAt)
	require.Equal(t, last.EventID, anomaly.EventID)
	require.Equal(t, ids[2:], anomaly.SampleEventIDs, "the latest SampleSize events")
	require.Equal(t, "errors: 5 matching events in 60s, > 4", anomaly.Message)
}

func TestRulesFireInIDOrder(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	low := uuid.MustParse("00000000-0000-0000-0000-000000000001")
	high := uuid.MustParse("ffffffff-0000-0000-0000-000000000001")
	engine.SetRule(high, 1, threshold(">", 0, 60, 0))
	engine.SetRule(low, 1, threshold(">", 0, 60, 0))

	fired := engine.Observe(event(1, "error", "app", ""))
	require.Len(t, fired, 2)
	require.Equal(t, low, fired[0].RuleID)
	require.Equal(t, high, fired[1].RuleID)
}

func TestRestoreRebuildsState(t *testing.T) {
	t.Parallel()

	id := uuid.New()
	spec := threshold(">=", 3, 10, 20)
	spec.Condition.GroupBy = []string{"source"}

	live := NewEngine(Config{})
	live.SetRule(id, 1, spec)
	restored := NewEngine(Config{})
	restored.SetRule(id, 1, spec)

	var history []*events.IngestedEvent
	for i := range 40 {
		history = append(history, event(float64(i)/2, "error", []string{"a", "b"}[i%3/2], ""))
	}

	for _, e := range history {
		for _, anomaly := range live.Observe(e) {
			restored.RecordFired(&anomaly)
		}
		restored.Restore(e)
	}

	for i := range 60 {
		e := event(20+float64(i)/3, "error", []string{"a", "b"}[i%2], "")
		require.Equal(t, live.Observe(e), restored.Observe(e), "event %d", i)
	}

	require.Positive(t, live.Stats().Anomalies)
}

func TestEvictionBoundsMemory(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	id := uuid.New()
	spec := threshold(">", 1000, 10, 10)
	spec.Condition.GroupBy = []string{"payload.n"}
	engine.SetRule(id, 1, spec)

	for i := range 100_000 {
		engine.Observe(event(float64(i)/100, "error", "app", fmt.Sprintf(`{"n":%d}`, i%50+i/10_000*50)))
	}

	r := engine.rules[id]
	entries := 0
	for _, w := range r.keys {
		entries += len(w.entries)
	}

	// 100 events a second for 10s of window plus 10s of lateness.
	require.LessOrEqual(t, entries, 2001)
	require.LessOrEqual(t, len(r.keys), 100, "keys idle for a window are dropped")
}

func TestAnomalyTimesCutToMicroseconds(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, threshold(">", 0, 60, 0))

	e := event(0, "error", "app", "")
	e.Timestamp = base.Add(1123456789 * time.Nanosecond)
	e.ReceivedAt = e.Timestamp
	fired := engine.Observe(e)

	require.Len(t, fired, 1)
	require.Equal(t, base.Add(1123456*time.Microsecond), fired[0].DetectedAt)
	require.Equal(t, base.Add(1123456*time.Microsecond), fired[0].WindowEnd)
	// 1.123456789s - 60s = -58.876543211s, cut down to -58.876544s.
	require.Equal(t, base.Add(-58876544*time.Microsecond), fired[0].WindowStart)
	require.Equal(t, time.UTC, fired[0].DetectedAt.Location())
}

func TestTimestampDriftMessageQuotesMicroseconds(t *testing.T) {
	t.Parallel()

	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, driftRule(60.0))

	e := event(0, "info", "app", "")
	e.Timestamp = time.Date(2099, 12, 31, 23, 59, 59, 999999999, time.UTC)
	e.ReceivedAt = base.Add(500 * time.Nanosecond)
	fired := engine.Observe(e)

	require.Len(t, fired, 1)
	require.Contains(t, fired[0].Message, "has timestamp 2099-12-31T23:59:59.999999Z, ")
	require.Contains(t, fired[0].Message, "from received_at 2024-03-01T12:00:00Z, ")
	require.NotContains(t, fired[0].Message, ".999999999")
	require.Equal(t, base, fired[0].DetectedAt, "the event time is capped at received_at, then cut")
}

// TestCooldownStartsAtCutDetectedAt fires at 500 ns past base, so the
// stored detected_at is base, and sends the next event 200 ns after the
// cooldown that starts there. An engine that restored the cooldown from
// the anomaly fires on it exactly as the live one.
func TestCooldownStartsAtCutDetectedAt(t *testing.T) {
	t.Parallel()

	id := uuid.New()
	spec := threshold(">", 0, 60, 60)
	live := NewEngine(Config{})
	live.SetRule(id, 1, spec)
	restored := NewEngine(Config{})
	restored.SetRule(id, 1, spec)

	first := event(0, "error", "app", "")
	first.Timestamp = base.Add(500 * time.Nanosecond)
	first.ReceivedAt = first.Timestamp
	fired := live.Observe(first)
	require.Len(t, fired, 1)
	require.Equal(t, base, fired[0].DetectedAt)
	restored.RecordFired(&fired[0])
	restored.Restore(first)

	next := event(0, "error", "app", "")
	next.Timestamp = base.Add(60*time.Second + 200*time.Nanosecond)
	next.ReceivedAt = next.Timestamp
	liveFired := live.Observe(next)
	require.Len(t, liveFired, 1, "the cooldown [base, base+60s) has passed")
	require.Equal(t, liveFired, restored.Observe(next))
}
