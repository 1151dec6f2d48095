package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestCorrelationIDReachesTheLog(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	req, err := http.NewRequest(http.MethodPost, a.URL+"/api/v1/events/batch",
		bytes.NewBufferString(`[{"event_type":"e","source":"corr"},{"event_type":"e","source":"corr"}]`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Correlation-ID", "req-7f3a9")

	response, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, response.Body)
	response.Body.Close()
	require.Equal(t, http.StatusAccepted, response.StatusCode)
	require.Equal(t, "req-7f3a9", response.Header.Get("X-Correlation-ID"))

	testapp.WaitFor(t, 30*time.Second, "record appended", func() bool {
		return a.Count("SELECT count(*) FROM event_log") == 1
	})
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM event_log WHERE metadata->>'correlation_id' = 'req-7f3a9'`))
	require.Equal(t, 2, a.Count(`SELECT count(*) FROM event_log, json_array_elements(payload->'events') e
		WHERE e->>'correlation_id' = 'req-7f3a9'`))

	status, header, _ := postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"corr"}`)
	require.Equal(t, http.StatusAccepted, status)
	require.Len(t, header.Get("X-Correlation-ID"), 36, "a UUID is generated when the client sends none")
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.Write(p)
}

// lines returns the JSON log lines written so far, decoded.
func (b *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()

	var lines []map[string]any
	for _, raw := range bytes.Split(b.buf.Bytes(), []byte("\n")) {
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}

		var line map[string]any
		require.NoError(t, json.Unmarshal(raw, &line), "log line %s", raw)
		lines = append(lines, line)
	}

	return lines
}

func TestCorrelationIDReachesNotificationLogs(t *testing.T) {
	t.Parallel()

	logs := &lockedBuffer{}
	slack := newFakeSlack(t, slackAnswer{status: http.StatusTooManyRequests, retryAfter: "1"}, slackAnswer{status: http.StatusOK})
	a := startWithChannels(t, fastDelivery+"channels:\n"+slackChannel("ops", slack.URL(), ""), testapp.Options{Log: logs})
	appendRuleCreated(t, a.Pool, thresholdSpec("corr burst", &events.Filters{Source: "corr"}, nil, 2, 60, 60))

	now := time.Now().UTC().Format(time.RFC3339Nano)
	event := `{"event_type":"e","source":"corr","timestamp":"` + now + `"}`
	req, err := http.NewRequest(http.MethodPost, a.URL+"/api/v1/events/batch",
		bytes.NewBufferString("["+strings.Repeat(event+",", 3)+event+"]"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Correlation-ID", "req-anomaly-51c2")
	response, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, response.Body)
	response.Body.Close()
	require.Equal(t, http.StatusAccepted, response.StatusCode)

	testapp.WaitFor(t, 30*time.Second, "the anomaly to be recorded", func() bool {
		return a.Count(`SELECT count(*) FROM anomalies`) == 1
	})
	var anomalyID, recordID string
	require.NoError(t, a.Pool.QueryRow(background(), `SELECT anomaly_id::text FROM anomalies`).Scan(&anomalyID))
	require.NoError(t, a.Pool.QueryRow(background(), `SELECT uuid FROM event_log
		WHERE metadata->>'name' = 'EventsIngested'`).Scan(&recordID))
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM event_log WHERE metadata->>'name' = 'AnomalyDetected'
		AND metadata->>'correlation_id' = 'req-anomaly-51c2'`), "the anomaly record carries the id")
	waitForStatus(t, a, uuidOf(t, anomalyID), "ops", "sent")
	// The deliverer logs the send after it has stored the status.
	testapp.WaitFor(t, 10*time.Second, "the sent line", func() bool {
		for _, line := range logs.lines(t) {
			if line["anomaly_id"] == anomalyID && line["msg"] == "notify: sent" {
				return true
			}
		}

		return false
	})

	messages := map[string]bool{}
	for _, line := range logs.lines(t) {
		if line["anomaly_id"] != anomalyID && line["record_id"] != recordID {
			continue
		}

		require.Equal(t, "req-anomaly-51c2", line["correlation_id"], "log line %v", line)
		messages[line["msg"].(string)] = true
	}
	require.True(t, messages["detector: record evaluated"], "lines seen: %v", messages)
	require.True(t, messages["notify: send failed, retrying"], "lines seen: %v", messages)
	require.True(t, messages["notify: sent"], "lines seen: %v", messages)
}

func TestCorrelationIDOfGroupedSingleEvents(t *testing.T) {
	t.Parallel()

	logs := &lockedBuffer{}
	slack := newFakeSlack(t)
	a := startWithChannels(t, fastDelivery+"channels:\n"+slackChannel("ops", slack.URL(), ""), testapp.Options{Log: logs})
	appendRuleCreated(t, a.Pool, thresholdSpec("single burst", &events.Filters{Source: "single"}, nil, 7, 60, 60))

	// Eight requests sent at once are grouped into fewer commands, whose
	// records carry one correlation id each.
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, a.URL+"/api/v1/events",
				strings.NewReader(`{"event_type":"e","source":"single","timestamp":"`+now+`"}`))
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Correlation-ID", fmt.Sprintf("single-%d", i))
			if response, err := http.DefaultClient.Do(req); err == nil {
				_ = response.Body.Close()
			}
		})
	}
	wg.Wait()

	testapp.WaitFor(t, 30*time.Second, "the anomaly to be delivered", func() bool {
		return a.Count(`SELECT count(*) FROM notification_deliveries WHERE status = 'sent'`) == 1
	})
	// The notifier and the anomalies projector read the log apart, so the
	// delivery can come before the row.
	testapp.WaitFor(t, 30*time.Second, "the anomaly in the anomalies table", func() bool {
		return a.Count(`SELECT count(*) FROM anomalies`) == 1
	})

	var anomalyID, recorded, triggering string
	require.NoError(t, a.Pool.QueryRow(background(), `
		SELECT payload->>'anomaly_id', metadata->>'correlation_id' FROM event_log
		WHERE metadata->>'name' = 'AnomalyDetected'`).Scan(&anomalyID, &recorded))
	require.NoError(t, a.Pool.QueryRow(background(), `
		SELECT e->>'correlation_id' FROM event_log l, json_array_elements(l.payload->'events') e
		WHERE l.metadata->>'name' = 'EventsIngested'
			AND e->>'event_id' = (SELECT event_id::text FROM anomalies)`).Scan(&triggering))
	require.Regexp(t, `^single-[0-7]$`, triggering)
	require.Equal(t, triggering, recorded, "the anomaly carries the id of the request of its triggering event")

	sent := 0
	for _, line := range logs.lines(t) {
		if line["anomaly_id"] == anomalyID && line["msg"] == "notify: sent" {
			require.Equal(t, triggering, line["correlation_id"], "log line %v", line)
			sent++
		}
	}
	require.Equal(t, 1, sent)
}

func TestCorrelationIDOnRuleCommandLogs(t *testing.T) {
	t.Parallel()

	logs := &lockedBuffer{}
	a := testapp.Start(t, testapp.Options{Log: logs})

	req, err := http.NewRequest(http.MethodPost, a.URL+"/api/v1/rules", strings.NewReader(
		`{"name":"r","severity":"info","window_seconds":60,"condition":{"type":"threshold","metric":"count",`+
			`"filters":{},"operator":">","value":5}}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Correlation-ID", "rule-req-88")
	response, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, response.Body.Close())
	require.Equal(t, http.StatusCreated, response.StatusCode)

	appended := 0
	for _, line := range logs.lines(t) {
		if line["msg"] == "rules: change appended" {
			require.Equal(t, "rule-req-88", line["correlation_id"], "log line %v", line)
			appended++
		}
	}
	require.Equal(t, 1, appended)
}
