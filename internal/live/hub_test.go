package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestHubDropsSlowClient(t *testing.T) {
	t.Parallel()

	hub := NewHub(nil, HubConfig{BufferSize: 64, WriteWait: 2 * time.Second}, slog.New(slog.DiscardHandler))
	server := httptest.NewServer(hub)
	t.Cleanup(server.Close)
	t.Cleanup(hub.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	url := "ws" + strings.TrimPrefix(server.URL, "http")
	fast, _, err := websocket.Dial(ctx, url, nil) //nolint:bodyclose // Dial closes the handshake response body.
	require.NoError(t, err)
	fast.SetReadLimit(1 << 20)
	slow, _, err := websocket.Dial(ctx, url, nil) //nolint:bodyclose // Dial closes the handshake response body.
	require.NoError(t, err)
	slow.SetReadLimit(1 << 20)

	require.Eventually(t, func() bool { return hub.Clients() == 2 }, 5*time.Second, 10*time.Millisecond)

	// 6,000 messages of 8 KiB are more than loopback socket buffers take
	// (up to 32 MiB received plus 4 MiB sent here), so the client that never
	// reads fills its queue. The publisher stays at most 32 messages ahead
	// of the reading client, whatever the speed of the machine.
	const count = 6000
	var read atomic.Int64
	type result struct {
		ids []uuid.UUID
		err error
	}
	received := make(chan result, 1)
	go func() {
		var ids []uuid.UUID
		for len(ids) < count {
			_, data, err := fast.Read(ctx)
			if err != nil {
				received <- result{ids, err}
				return
			}
			var a Anomaly
			if json.Unmarshal(data, &a) == nil {
				ids = append(ids, a.AnomalyID)
			}
			read.Add(1)
		}
		received <- result{ids, nil}
	}()

	sent := make([]uuid.UUID, count)
	padding := strings.Repeat("x", 8<<10)
	for i := range sent {
		sent[i] = uuid.New()
		hub.publish(record{
			position: position{transactionID: 1, offset: int64(i)},
			anomaly:  Anomaly{AnomalyID: sent[i], Severity: "critical", Message: padding},
		})
		for int64(i)-read.Load() > 32 && ctx.Err() == nil {
			time.Sleep(100 * time.Microsecond)
		}
	}

	got := <-received
	require.NoError(t, got.err, "the reading client got %d of %d", len(got.ids), count)
	require.True(t, slices.Equal(sent, got.ids), "the reading client missed or reordered anomalies")

	var slowCount int
	var slowErr error
	for slowErr == nil {
		_, _, slowErr = slow.Read(ctx)
		slowCount++
	}

	// The drop shows as a close frame (1008) when the queue drains in time,
	// or as a cut connection when a write times out first.
	require.Less(t, slowCount, count, "the slow client was not dropped: %v", slowErr)
	require.NoError(t, ctx.Err(), "the slow client was never disconnected")
	require.Eventually(t, func() bool { return hub.Clients() == 1 }, 5*time.Second, 10*time.Millisecond)
}

func TestHubFilters(t *testing.T) {
	t.Parallel()

	rule := uuid.New()
	c := &client{severities: []string{"critical", "warning"}, ruleID: rule}

	require.True(t, c.accepts(Anomaly{RuleID: rule, Severity: "warning"}))
	require.False(t, c.accepts(Anomaly{RuleID: rule, Severity: "info"}))
	require.False(t, c.accepts(Anomaly{RuleID: uuid.New(), Severity: "critical"}))
	require.True(t, (&client{}).accepts(Anomaly{RuleID: uuid.New(), Severity: "info"}))
}

func TestHubParsesSeverityFilter(t *testing.T) {
	t.Parallel()

	hub := NewHub(nil, HubConfig{}, slog.New(slog.DiscardHandler))
	t.Cleanup(hub.Close)

	cases := []struct {
		query   string
		want    []string
		message string
	}{
		{query: "", want: nil},
		{query: "severity=critical,warning", want: []string{"critical", "warning"}},
		{query: "severity=critical&severity=info", message: "severity must appear at most once in the query, got 2 values"},
		{query: "severity=critical&severity=bogus&severity=info", message: "severity must appear at most once in the query, got 3 values"},
		{query: "severity=%20info", message: `severity must be one of critical, warning, info, got " info"`},
		{query: "severity=info,,", message: `severity must be a comma-separated list of critical, warning, info without empty items, got "info,,"`},
		{query: "severity=", message: `severity must be a comma-separated list of critical, warning, info without empty items, got ""`},
		{query: "severity=high", message: `severity must be one of critical, warning, info, got "high"`},
		{query: "severity=critical,bogus", message: `severity must be one of critical, warning, info, got "bogus"`},
		{query: "severity=info,low", message: `severity must be one of critical, warning, info, got "low"`},
		{query: "severity=Critical", message: `severity must be one of critical, warning, info, got "Critical"`},
	}

	for _, tc := range cases {
		c, status, message := hub.parseClient(httptest.NewRequest(http.MethodGet, "/ws?"+tc.query, nil))

		if tc.message != "" {
			require.Equal(t, http.StatusBadRequest, status, tc.query)
			require.Equal(t, tc.message, message, tc.query)
			require.Nil(t, c, tc.query)
			continue
		}

		require.Zero(t, status, "%s: %s", tc.query, message)
		require.Equal(t, tc.want, c.severities, tc.query)
	}
}

func TestHubRejectsRepeatedParameters(t *testing.T) {
	t.Parallel()

	// The hub has no pool, so a repeated after passes only if it is
	// rejected before its anomaly is looked up.
	hub := NewHub(nil, HubConfig{}, slog.New(slog.DiscardHandler))
	t.Cleanup(hub.Close)

	first, second := uuid.NewString(), uuid.NewString()
	cases := map[string]string{
		"rule_id=" + first + "&rule_id=" + second:              "rule_id must appear at most once in the query, got 2 values",
		"rule_id=" + first + "&rule_id=" + first:               "rule_id must appear at most once in the query, got 2 values",
		"rule_id=abc&rule_id=" + first:                         "rule_id must appear at most once in the query, got 2 values",
		"after=" + first + "&after=" + second + "&after=abc":   "after must appear at most once in the query, got 3 values",
		"severity=info&rule_id=" + first + "&rule_id=" + first: "rule_id must appear at most once in the query, got 2 values",
		"severity=high&severity=info&rule_id=abc&rule_id=abc":  "severity must appear at most once in the query, got 2 values",
	}

	for query, want := range cases {
		c, status, message := hub.parseClient(httptest.NewRequest(http.MethodGet, "/ws?"+query, nil))

		require.Equal(t, http.StatusBadRequest, status, query)
		require.Equal(t, want, message, query)
		require.Nil(t, c, query)
	}
}

func TestPositionOrder(t *testing.T) {
	t.Parallel()

	require.True(t, position{1, 9}.before(position{2, 1}))
	require.True(t, position{2, 1}.before(position{2, 2}))
	require.False(t, position{2, 2}.before(position{2, 2}))
	require.False(t, position{3, 0}.before(position{2, 7}))
}

func TestHubPingKeepsIdleClients(t *testing.T) {
	t.Parallel()

	hub := NewHub(nil, HubConfig{PingPeriod: 50 * time.Millisecond, PongWait: 200 * time.Millisecond},
		slog.New(slog.DiscardHandler))
	server := httptest.NewServer(hub)
	t.Cleanup(server.Close)
	t.Cleanup(hub.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	url := "ws" + strings.TrimPrefix(server.URL, "http")
	// coder/websocket responds to pings only while a Read is in progress,
	// so the reading client responds and the other one stays silent.
	idle, _, err := websocket.Dial(ctx, url, nil) //nolint:bodyclose // Dial closes the handshake response body.
	require.NoError(t, err)
	silent, _, err := websocket.Dial(ctx, url, nil) //nolint:bodyclose // Dial closes the handshake response body.
	require.NoError(t, err)
	t.Cleanup(func() { _ = silent.CloseNow() })

	messages := make(chan []byte, 1)
	go func() {
		_, data, err := idle.Read(ctx)
		if err == nil {
			messages <- data
		}
	}()

	require.Eventually(t, func() bool { return hub.Clients() == 1 }, 5*time.Second, 10*time.Millisecond,
		"the client that never responds to pings was not dropped")
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, 1, hub.Clients(), "the idle client that responds to pings was dropped")

	id := uuid.New()
	hub.publish(record{position: position{transactionID: 1, offset: 1}, anomaly: Anomaly{AnomalyID: id}})

	select {
	case data := <-messages:
		var got Anomaly
		require.NoError(t, json.Unmarshal(data, &got))
		require.Equal(t, id, got.AnomalyID)
	case <-ctx.Done():
		require.FailNow(t, "the idle client received nothing")
	}
}
