package tests

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/app"
	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// wsMessage is the part of a WebSocket anomaly the tests check.
type wsMessage struct {
	AnomalyID  uuid.UUID `json:"anomaly_id"`
	RuleID     uuid.UUID `json:"rule_id"`
	RuleName   string    `json:"rule_name"`
	Severity   string    `json:"severity"`
	Message    string    `json:"message"`
	DetectedAt time.Time `json:"detected_at"`
	GroupKey   string    `json:"group_key"`
	Observed   float64   `json:"observed"`
}

// dialWS connects to /ws of baseURL with query.
func dialWS(t testing.TB, baseURL, query string) *websocket.Conn {
	t.Helper()

	ctx, cancel := context.WithTimeout(background(), 10*time.Second)
	defer cancel()

	url := "ws" + strings.TrimPrefix(baseURL, "http") + "/ws"
	if query != "" {
		url += "?" + query
	}

	conn, response, err := websocket.Dial(ctx, url, nil) //nolint:bodyclose // Dial closes the handshake response body.
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, response.StatusCode)
	t.Cleanup(func() { _ = conn.CloseNow() })

	return conn
}

// readAnomaly returns the next message, failing after timeout.
func readAnomaly(t *testing.T, conn *websocket.Conn, timeout time.Duration) wsMessage {
	t.Helper()

	ctx, cancel := context.WithTimeout(background(), timeout)
	defer cancel()

	kind, data, err := conn.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, websocket.MessageText, kind)

	var message wsMessage
	require.NoError(t, json.Unmarshal(data, &message), "message: %s", data)

	return message
}

// expectSilence fails when a message arrives within wait.
func expectSilence(t *testing.T, conn *websocket.Conn, wait time.Duration) {
	t.Helper()

	ctx, cancel := context.WithTimeout(background(), wait)
	defer cancel()

	_, data, err := conn.Read(ctx)
	require.Error(t, err, "unexpected message: %s", data)
}

// settle gives fresh connections time to be registered with the hub,
// which happens just after the handshake response is sent.
func settle() { time.Sleep(200 * time.Millisecond) }

func requireSameAnomaly(t *testing.T, want events.AnomalyDetected, got wsMessage) {
	t.Helper()

	require.Equal(t, want.AnomalyID, got.AnomalyID)
	require.Equal(t, want.RuleID, got.RuleID)
	require.Equal(t, want.RuleName, got.RuleName)
	require.Equal(t, want.Severity, got.Severity)
	require.Equal(t, want.Message, got.Message)
	require.Equal(t, want.DetectedAt, got.DetectedAt.UTC())
	require.Equal(t, want.GroupKey, got.GroupKey)
	require.InDelta(t, want.Observed, got.Observed, 0)
}

func TestWebSocketReceivesAnomaly(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	conn := dialWS(t, a.URL, "")
	settle()
	anomaly := newAnomaly("critical")

	appendAnomaly(t, a, anomaly)

	requireSameAnomaly(t, anomaly, readAnomaly(t, conn, 10*time.Second))
	expectSilence(t, conn, 300*time.Millisecond)
}

func TestWebSocketTwoAPIInstances(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	secondURL := a.StartAPI()
	first := dialWS(t, a.URL, "")
	second := dialWS(t, secondURL, "")
	alsoSecond := dialWS(t, secondURL, "")
	settle()
	anomaly := newAnomaly("critical")

	appendAnomaly(t, a, anomaly)

	for _, conn := range []*websocket.Conn{first, second, alsoSecond} {
		requireSameAnomaly(t, anomaly, readAnomaly(t, conn, 10*time.Second))
	}
}

func TestWebSocketFilters(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	info, critical := newAnomaly("info"), newAnomaly("critical")
	bySeverity := dialWS(t, a.URL, "severity=critical,warning")
	byRule := dialWS(t, a.URL, "rule_id="+info.RuleID.String())
	settle()

	appendAnomaly(t, a, info)
	appendAnomaly(t, a, critical)

	require.Equal(t, critical.AnomalyID, readAnomaly(t, bySeverity, 10*time.Second).AnomalyID)
	require.Equal(t, info.AnomalyID, readAnomaly(t, byRule, 10*time.Second).AnomalyID)
	expectSilence(t, bySeverity, 300*time.Millisecond)
	expectSilence(t, byRule, 300*time.Millisecond)
}

func TestWebSocketAfterSendsMissed(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	seen, missedOne, missedTwo, live := newAnomaly("info"), newAnomaly("critical"), newAnomaly("info"), newAnomaly("critical")
	appendAnomaly(t, a, seen)
	appendAnomaly(t, a, missedOne)
	appendAnomaly(t, a, missedTwo)

	conn := dialWS(t, a.URL, "after="+seen.AnomalyID.String())

	require.Equal(t, missedOne.AnomalyID, readAnomaly(t, conn, 10*time.Second).AnomalyID)
	require.Equal(t, missedTwo.AnomalyID, readAnomaly(t, conn, 10*time.Second).AnomalyID)

	appendAnomaly(t, a, live)
	require.Equal(t, live.AnomalyID, readAnomaly(t, conn, 10*time.Second).AnomalyID)
	expectSilence(t, conn, 300*time.Millisecond)
}

func TestWebSocketAfterAppliesFilters(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	seen := newAnomaly("info")
	appendAnomaly(t, a, seen)

	// The catch-up limit is half the default buffer of 1,024 messages.
	// After seen come 520 warnings alternating with 520 criticals, so the
	// newest 512 of any severity contain only 256 warnings. Three criticals
	// of one rule come first, older than all of them.
	const limit, pairs = 512, 520
	rule := uuid.New()
	var missed, warnings, ofRule []events.AnomalyDetected
	for range 3 {
		anomaly := newAnomaly("critical")
		anomaly.RuleID = rule
		missed = append(missed, anomaly)
		ofRule = append(ofRule, anomaly)
	}
	for range pairs {
		warning := newAnomaly("warning")
		missed = append(missed, warning, newAnomaly("critical"))
		warnings = append(warnings, warning)
	}
	appendAnomalies(t, a, missed...)

	// The feed publishes in log order, so once the marker arrives it has
	// published every missed anomaly and none waits for a catch-up.
	marker := newAnomaly("info")
	watcher := dialWS(t, a.URL, "rule_id="+marker.RuleID.String())
	settle()
	appendAnomaly(t, a, marker)
	require.Equal(t, marker.AnomalyID, readAnomaly(t, watcher, 10*time.Second).AnomalyID)

	after := "after=" + seen.AnomalyID.String()
	bySeverity := dialWS(t, a.URL, after+"&severity=warning")
	byRule := dialWS(t, a.URL, after+"&rule_id="+rule.String())
	unfiltered := dialWS(t, a.URL, after)

	for i, want := range warnings[pairs-limit:] {
		got := readAnomaly(t, bySeverity, 10*time.Second)
		require.Equal(t, want.AnomalyID, got.AnomalyID, "warning %d of the catch-up", i)
	}
	for i, want := range ofRule {
		got := readAnomaly(t, byRule, 10*time.Second)
		require.Equal(t, want.AnomalyID, got.AnomalyID, "anomaly %d of the rule", i)
	}

	newest := slices.Concat(missed[len(missed)-limit+1:], []events.AnomalyDetected{marker})
	for i, want := range newest {
		got := readAnomaly(t, unfiltered, 10*time.Second)
		require.Equal(t, want.AnomalyID, got.AnomalyID, "anomaly %d of the unfiltered catch-up", i)
	}

	// After the catch-up, each client gets the live anomalies it accepts.
	live := newAnomaly("warning")
	live.RuleID = rule
	appendAnomaly(t, a, live)

	for _, conn := range []*websocket.Conn{bySeverity, byRule, unfiltered} {
		require.Equal(t, live.AnomalyID, readAnomaly(t, conn, 10*time.Second).AnomalyID)
		expectSilence(t, conn, 300*time.Millisecond)
	}
}

func TestWebSocketRejectsBadQuery(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	for query, message := range map[string]string{
		"rule_id=abc":                 "rule_id must be a valid UUID",
		"after=abc":                   "after must be a valid UUID",
		"after=" + uuid.NewString():   "after must be the id of a known anomaly",
		"severity=high":               `severity must be one of critical, warning, info, got \"high\"`,
		"severity=critical,bogus":     `severity must be one of critical, warning, info, got \"bogus\"`,
		"severity=":                   `severity must be a comma-separated list of critical, warning, info without empty items, got \"\"`,
		"severity=critical,,info":     `severity must be a comma-separated list of critical, warning, info without empty items, got \"critical,,info\"`,
		"severity=critical&severity=": "severity must appear at most once in the query, got 2 values",
		"severity=%20info":            `severity must be one of critical, warning, info, got \" info\"`,
	} {
		status, body := get(t, a, "/ws?"+query)
		require.Equal(t, http.StatusBadRequest, status, query)
		require.JSONEq(t, `{"error":"`+message+`"}`, string(body), query)
	}
}

func TestWebSocketRejectsRepeatedParameters(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	known := newAnomaly("info")
	appendAnomaly(t, a, known)
	rule := uuid.NewString()

	// GET /api/v1/anomalies takes severity and rule_id, so /ws must reject
	// a repeated one with the same status and body.
	for _, query := range []string{
		"severity=critical&severity=info",
		"severity=critical&severity=bogus&severity=info",
		"severity=critical&severity=",
		"rule_id=" + rule + "&rule_id=" + uuid.NewString(),
		"rule_id=" + rule + "&rule_id=" + rule,
		"severity=warning&rule_id=abc&rule_id=" + rule,
	} {
		restStatus, restBody := get(t, a, "/api/v1/anomalies?"+query)
		wsStatus, wsBody := get(t, a, "/ws?"+query)

		require.Equal(t, http.StatusBadRequest, restStatus, query)
		require.Contains(t, string(restBody), "must appear at most once in the query", query)
		require.Equal(t, restStatus, wsStatus, query)
		require.JSONEq(t, string(restBody), string(wsBody), query)
	}

	after := "after=" + known.AnomalyID.String()
	status, body := get(t, a, "/ws?"+after+"&"+after)
	require.Equal(t, http.StatusBadRequest, status)
	require.JSONEq(t, `{"error":"after must appear at most once in the query, got 2 values"}`, string(body))
}

func TestWebSocketFeedFromDetectorPath(t *testing.T) {
	t.Parallel()

	// Anomalies appended in one transaction with other records arrive in
	// log order.
	a := testapp.Start(t, testapp.Options{NoWorker: true})
	conn := dialWS(t, a.URL, "")
	settle()
	batch := []events.AnomalyDetected{newAnomaly("info"), newAnomaly("warning"), newAnomaly("critical")}

	appendAnomalies(t, a, batch...)

	for _, want := range batch {
		require.Equal(t, want.AnomalyID, readAnomaly(t, conn, 10*time.Second).AnomalyID)
	}
}

// getWS sends GET /ws?query with header and returns the status, headers and
// body.
func getWS(t *testing.T, a *testapp.App, query string, header http.Header) (int, http.Header, []byte) {
	t.Helper()

	req, err := http.NewRequest(http.MethodGet, a.URL+"/ws?"+query, nil)
	require.NoError(t, err)
	for name, values := range header {
		req.Header[name] = values
	}

	response, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer response.Body.Close()

	body, err := io.ReadAll(response.Body)
	require.NoError(t, err)

	return response.StatusCode, response.Header, body
}

func TestWebSocketPlainGetGets426(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	const upgradeRequired = `{"error":"/ws is a WebSocket endpoint: send the request with the headers ` +
		`Connection: Upgrade and Upgrade: websocket, as WebSocket clients do"}`

	status, header, body := getWS(t, a, "", nil)
	require.Equal(t, http.StatusUpgradeRequired, status, "body: %s", body)
	require.Equal(t, "websocket", header.Get("Upgrade"))
	require.Equal(t, "Upgrade", header.Get("Connection"))
	require.Equal(t, "application/json; charset=utf-8", header.Get("Content-Type"))
	require.JSONEq(t, upgradeRequired, string(body))

	status, _, body = getWS(t, a, "severity=critical,warning", http.Header{"Upgrade": {"websocket"}})
	require.Equal(t, http.StatusUpgradeRequired, status, "Upgrade without Connection: %s", body)
	require.JSONEq(t, upgradeRequired, string(body))

	status, _, body = getWS(t, a, "severity=bogus", nil)
	require.Equal(t, http.StatusBadRequest, status, "a bad parameter is reported first")
	require.JSONEq(t, `{"error":"severity must be one of critical, warning, info, got \"bogus\""}`, string(body))

	status, header, body = getWS(t, a, "", http.Header{
		"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
	})
	require.Equal(t, http.StatusBadRequest, status, "handshake without Sec-WebSocket-Key: %s", body)
	require.Equal(t, "13", header.Get("Sec-WebSocket-Version"))
	require.Equal(t, "application/json; charset=utf-8", header.Get("Content-Type"))
	require.Contains(t, string(body), `"error":"websocket: not a websocket handshake: 'Sec-WebSocket-Key' header`)

	status, header, body = getWS(t, a, "", http.Header{
		"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"8"},
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="},
	})
	require.Equal(t, http.StatusBadRequest, status, "handshake with version 8: %s", body)
	require.Equal(t, "13", header.Get("Sec-WebSocket-Version"))
	require.Contains(t, string(body), "unsupported version")

	_, key := createKeyNoWorker(t, a, "dashboard", auth.ScopeRead)
	time.Sleep(auth.CacheTTLDefault)

	status, _, body = getWS(t, a, "", nil)
	require.Equal(t, http.StatusUnauthorized, status, "a missing key is reported first: %s", body)
	require.Contains(t, string(body), `"error":`)

	status, _, body = getWS(t, a, "", http.Header{"Authorization": {"Bearer " + key}})
	require.Equal(t, http.StatusUpgradeRequired, status, "with a key: %s", body)
	require.JSONEq(t, upgradeRequired, string(body))

	status, _, body = getWS(t, a, "api_key="+key, http.Header{"Upgrade": {"websocket"}})
	require.Equal(t, http.StatusUpgradeRequired, status, "with a key in the query: %s", body)
	require.JSONEq(t, upgradeRequired, string(body))

	status, _, body = getWS(t, a, "api_key="+key, nil)
	require.Equal(t, http.StatusUpgradeRequired, status, "with a key in the query and no Upgrade header: %s", body)
	require.JSONEq(t, upgradeRequired, string(body))

	status, _, body = getWS(t, a, "api_key=not-a-key", nil)
	require.Equal(t, http.StatusUnauthorized, status, "a wrong key in the query: %s", body)
	require.NotContains(t, string(body), "missing")
}

// TestGetOnlyRoutesRejectOtherMethods sends POST and DELETE to /ws and
// /metrics, which serve GET only. Each gets 405 with Allow: GET, and GET
// still works.
func TestGetOnlyRoutesRejectOtherMethods(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	for _, path := range []string{"/ws", "/metrics"} {
		for _, method := range []string{http.MethodPost, http.MethodDelete} {
			status, header, body := request(t, a, method, path, "", "", "")
			require.Equal(t, http.StatusMethodNotAllowed, status, "%s %s: %s", method, path, body)
			require.Equal(t, http.MethodGet, header.Get("Allow"), "%s %s", method, path)
			require.JSONEq(t, `{"error":"method `+method+` not allowed, use GET"}`, body, "%s %s", method, path)
		}
	}

	status, _ := get(t, a, "/metrics")
	require.Equal(t, http.StatusOK, status)
	status, _, _ = getWS(t, a, "", nil)
	require.Equal(t, http.StatusUpgradeRequired, status)
}

// TestWebSocketClosedAsGoingAwayOnShutdown stops an API instance with a
// client connected. The client gets close code 1001.
func TestWebSocketClosedAsGoingAwayOnShutdown(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	deps, err := app.Open(background(), a.Config, a.Deps.Logger)
	require.NoError(t, err)
	t.Cleanup(deps.Close)

	api, err := app.NewAPI(deps)
	require.NoError(t, err)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- api.Serve(ctx, listener) }()

	// The stop comes right after the handshake, while the hub may still be
	// registering the client.
	conn := dialWS(t, "http://"+listener.Addr().String(), "")
	cancel()

	readCtx, cancelRead := context.WithTimeout(background(), 10*time.Second)
	defer cancelRead()
	_, _, err = conn.Read(readCtx)
	require.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err), "read error: %v", err)
	require.NoError(t, <-done)
}

// TestWebSocketCountedAsSwitchingProtocols checks the request metrics of
// a WebSocket connection, which the server took over from net/http.
func TestWebSocketCountedAsSwitchingProtocols(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	conn := dialWS(t, a.URL, "")
	require.NoError(t, conn.Close(websocket.StatusNormalClosure, ""))

	testapp.WaitFor(t, 10*time.Second, "the WebSocket request in the metrics", func() bool {
		status, body := get(t, a, "/metrics")
		require.Equal(t, http.StatusOK, status)

		return strings.Contains(string(body), `eventpulse_http_requests_total{method="GET",route="/ws",status="101"} 1`)
	})
}
