package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const (
	metricsQueries    = 200
	webSocketTriggers = 50
	backgroundRate    = 1000
)

// metricsLatency is the result of measureMetrics at one data size.
type metricsLatency struct {
	events   int64
	p50, p95 time.Duration
	// row is set instead when the endpoint is missing or failed.
	row *Row
}

const metricsMeasure = "metrics query latency"

func (r *runner) measureMetrics(ctx context.Context) metricsLatency {
	events, err := r.countEvents(ctx)
	if err != nil {
		row := Failed(metricsMeasure, targetMetrics, err)
		return metricsLatency{row: &row}
	}

	url := r.server.URL + "/api/v1/metrics?window_seconds=3600&group_by=event_type"
	status, body, err := probe(ctx, url)

	switch {
	case err != nil:
		row := Failed(metricsMeasure, targetMetrics, err)
		return metricsLatency{row: &row}
	case status == http.StatusNotFound:
		row := NotBuilt(metricsMeasure, targetMetrics, "GET /api/v1/metrics answers 404")
		return metricsLatency{row: &row}
	case status != http.StatusOK:
		row := Failed(metricsMeasure, targetMetrics, fmt.Errorf("GET /api/v1/metrics returned status %d: %.200s", status, body))
		return metricsLatency{row: &row}
	}

	latencies := make([]time.Duration, 0, metricsQueries)
	for range metricsQueries {
		start := time.Now()
		if _, _, err := probe(ctx, url); err != nil {
			row := Failed(metricsMeasure, targetMetrics, err)
			return metricsLatency{row: &row}
		}
		latencies = append(latencies, time.Since(start))
	}

	res := Result{Latencies: latencies}

	return metricsLatency{events: events, p50: res.Percentile(0.50), p95: res.Percentile(0.95)}
}

func metricsRows(small, large metricsLatency) []Row {
	if small.row != nil {
		return []Row{*small.row}
	}

	if large.row != nil {
		return []Row{*large.row}
	}

	rows := make([]Row, 0, 2)
	for _, m := range []metricsLatency{small, large} {
		rows = append(rows, Row{
			Measure: fmt.Sprintf("%s, %s events, %d sequential queries", metricsMeasure, thousands(m.events), metricsQueries),
			Result:  fmt.Sprintf("p50 %s, p95 %s", millis(m.p50), millis(m.p95)),
			Target:  targetMetrics,
			Ceiling: "p50 at " + thousands(small.events) + " events: " + millis(small.p50),
			Ratio:   ratio(float64(m.p50), float64(small.p50)),
		})
	}

	return rows
}

const replayMeasure = "replay of the `events` projection"

// measureReplay runs `eventpulse replay events` over the log built by the
// earlier steps and divides the rows of the events table by its duration.
func (r *runner) measureReplay(ctx context.Context) Row {
	help, _ := exec.CommandContext(ctx, r.config.Binary, "replay", "--help").CombinedOutput()
	if strings.Contains(string(help), "unknown command") {
		return NotBuilt(replayMeasure, targetReplay, "eventpulse has no replay command")
	}

	rows, err := r.countEvents(ctx)
	if err != nil {
		return Failed(replayMeasure, targetReplay, err)
	}

	var elapsed time.Duration
	var output []byte
	var replayErr error

	ceiling, err := r.insertBracket(ctx, 1, func() {
		r.logf("replaying the events projection over %d events", rows)
		cmd := exec.CommandContext(ctx, r.config.Binary, "replay", "events")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+r.env.DatabaseURL("eventpulse"), "REDIS_URL="+r.redisURL())

		start := time.Now()
		output, replayErr = cmd.CombinedOutput()
		elapsed = time.Since(start)
	})

	switch {
	case replayErr != nil:
		return Failed(replayMeasure, targetReplay, fmt.Errorf("eventpulse replay events: %w: %.300s", replayErr, output))
	case err != nil:
		return Failed(replayMeasure, targetReplay, err)
	}

	perSecond := float64(rows) / elapsed.Seconds()

	return Row{
		Measure: fmt.Sprintf("%s, %s events", replayMeasure, thousands(rows)),
		Result:  fmt.Sprintf("%s (%s)", rate(perSecond, "events"), elapsed.Round(10*time.Millisecond)),
		Target:  targetReplay,
		Ceiling: "multi-row INSERT, 500 rows, 1 connection: " + ceiling.String("rows"),
		Ratio:   ratio(perSecond, ceiling.mean()),
	}
}

const webSocketMeasure = "ingest → anomaly on a WebSocket client"

// measureWebSocket creates a rule that fires on every event of type
// bench.trigger, sends such events one at a time over a background of
// single events at backgroundRate per second, and times each POST until
// the anomaly of the rule arrives on /ws.
func (r *runner) measureWebSocket(ctx context.Context) Row {
	status, _, err := probe(ctx, r.server.URL+"/ws")
	switch {
	case err != nil:
		return Failed(webSocketMeasure, targetWebSocket, err)
	case status == http.StatusNotFound:
		return NotBuilt(webSocketMeasure, targetWebSocket, "GET /ws answers 404")
	}

	ruleID, err := r.createTriggerRule(ctx)
	if err != nil {
		return Failed(webSocketMeasure, targetWebSocket, err)
	}

	wsURL := "ws" + strings.TrimPrefix(r.server.URL, "http") + "/ws"
	conn, response, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		return Failed(webSocketMeasure, targetWebSocket, fmt.Errorf("error connecting to %s: %w", wsURL, err))
	}
	_ = response.Body.Close()
	defer func() { _ = conn.Close() }()

	arrivals := make(chan time.Time, webSocketTriggers*2)
	go readAnomalies(conn, ruleID, arrivals)

	backgroundCtx, stopBackground := context.WithCancel(ctx)
	var background Result
	var wg sync.WaitGroup
	wg.Go(func() {
		background = RunOpen(backgroundCtx, r.server.URL, backgroundRate, 256, time.Hour,
			func(i int) Request { return r.singleRequest(0, i) })
	})

	latencies, missed, err := r.sendTriggers(ctx, arrivals)
	stopBackground()
	wg.Wait()
	r.accepted += int64(background.Events)

	if err != nil {
		return Failed(webSocketMeasure, targetWebSocket, err)
	}

	res := Result{Latencies: latencies}

	return Row{
		Measure: fmt.Sprintf("%s, %d anomalies over %s background", webSocketMeasure, webSocketTriggers, rate(backgroundRate, "events")),
		Result: fmt.Sprintf("p50 %s, p95 %s, %d missed (background: %s, %d errors)",
			millis(res.Percentile(0.50)), millis(res.Percentile(0.95)), missed,
			rate(background.EventsPerSecond(), "events"), background.Errors),
		Target: targetWebSocket,
	}
}

func (r *runner) createTriggerRule(ctx context.Context) (string, error) {
	rule := map[string]any{
		"name":             "bench anomaly latency",
		"severity":         "info",
		"window_seconds":   10,
		"cooldown_seconds": 0,
		"condition": map[string]any{
			"type":     "threshold",
			"metric":   "count",
			"filters":  map[string]any{"event_type": "bench.trigger"},
			"operator": ">=",
			"value":    1,
		},
	}

	body, _ := json.Marshal(rule)
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, r.server.URL+"/api/v1/rules", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	request.Header.Set("Content-Type", "application/json")

	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return "", fmt.Errorf("error creating the trigger rule: %w", err)
	}

	var created struct {
		RuleID string `json:"rule_id"`
	}
	var answer bytes.Buffer
	_, _ = answer.ReadFrom(response.Body)
	_ = response.Body.Close()

	if response.StatusCode == http.StatusCreated && json.Unmarshal(answer.Bytes(), &created) == nil && created.RuleID != "" {
		return created.RuleID, nil
	}

	return "", fmt.Errorf("POST /api/v1/rules returned status %d: %.300s", response.StatusCode, answer.String())
}

func readAnomalies(conn *websocket.Conn, ruleID string, arrivals chan<- time.Time) {
	for {
		_, message, err := conn.ReadMessage()
		if err != nil {
			close(arrivals)
			return
		}

		var anomaly struct {
			RuleID string `json:"rule_id"`
		}
		if json.Unmarshal(message, &anomaly) == nil && anomaly.RuleID == ruleID {
			arrivals <- time.Now()
		}
	}
}

var errWebSocketClosed = errors.New("the WebSocket closed during the measurement")

// sendTriggers posts one trigger event at a time and waits up to a second
// for its anomaly; one that does not arrive in time is counted as missed.
func (r *runner) sendTriggers(ctx context.Context, arrivals <-chan time.Time) ([]time.Duration, int, error) {
	target, err := parseTarget(r.server.URL)
	if err != nil {
		return nil, 0, err
	}

	conn := newLoadConn(ctx, target)
	defer conn.close()

	trigger := []byte(`{"event_type":"bench.trigger","source":"bench/ws","payload":{"probe":true}}`)
	var latencies []time.Duration
	missed := 0

	for range webSocketTriggers {
		// A late anomaly of a missed trigger must not be taken for this one's.
		drain(arrivals)

		start := time.Now()
		o := conn.send(ctx, Request{Path: "/api/v1/events", Body: trigger, Events: 1})
		if o.err != nil {
			return nil, 0, o.err
		}
		r.accepted++

		select {
		case arrived, ok := <-arrivals:
			if !ok {
				return nil, 0, errWebSocketClosed
			}
			latencies = append(latencies, arrived.Sub(start))
		case <-time.After(time.Second):
			missed++
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}

		time.Sleep(100 * time.Millisecond)
	}

	return latencies, missed, nil
}

func drain(arrivals <-chan time.Time) {
	for {
		select {
		case _, ok := <-arrivals:
			if !ok {
				return
			}
		default:
			return
		}
	}
}
