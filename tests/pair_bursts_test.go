package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/detect"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// Paired bursts: batch b belongs to pair b/2. Each batch of a pair contains
// pairBurstSize "burst" events in each of pairGroups groups of that pair,
// all at pairBase + pair seconds, among events the rule does not count.
// The pair rule fires once per group, on the 4th burst event of the group
// in the batch of the pair that comes second in the log. So the groups,
// times and counts that fire do not depend on the order of the batches,
// and the window of a group spans two log records.
const (
	pairGroups    = 8
	pairBurstSize = 6
	// pairBurstEvery spaces the burst events within a batch.
	pairBurstEvery = 10
	pairThreshold  = 2*pairBurstSize - 3
)

var pairBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// pairBatchEvent returns the event type, payload group and timestamp of
// event i of batch b.
func pairBatchEvent(b, i int) (string, string, time.Time) {
	pair := b / 2
	at := pairBase.Add(time.Duration(pair) * time.Second)
	n := i / pairBurstEvery
	if i%pairBurstEvery != 0 || n >= pairGroups*pairBurstSize {
		return "scaleout", "", at
	}

	return "burst", pairGroup(pair, n%pairGroups), at
}

func pairGroup(pair, group int) string { return fmt.Sprintf("p%d-g%d", pair, group) }

// pairRuleJSON is the pair rule as the rules API takes it.
var pairRuleJSON = fmt.Sprintf(`{"name":"paired bursts","severity":"critical","window_seconds":60,
	"cooldown_seconds":60,"allowed_lateness_seconds":3600,"condition":{"type":"threshold","metric":"count",
	"filters":{"event_type":"burst"},"operator":">","value":%d,"group_by":["payload.group"]}}`, pairThreshold)

// createPairRule creates the pair rule through the API at addr and returns
// it as the reference detector takes it.
func createPairRule(t *testing.T, addr string) referenceRule {
	t.Helper()

	response, err := http.Post("http://"+addr+"/api/v1/rules", "application/json", strings.NewReader(pairRuleJSON))
	require.NoError(t, err)
	defer response.Body.Close()

	data, err := io.ReadAll(response.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, response.StatusCode, "body: %s", data)

	var rule struct {
		RuleID  uuid.UUID `json:"rule_id"`
		Version int       `json:"version"`
	}
	require.NoError(t, json.Unmarshal(data, &rule))
	require.Equal(t, 1, rule.Version)

	return referenceRule{
		ID: rule.RuleID, EventType: "burst", GroupPath: "group", Value: pairThreshold,
		Window: time.Minute, Cooldown: time.Minute, Lateness: time.Hour,
	}
}

// burstKey is an anomaly without its triggering event, because that event
// depends on the order of the batches in the log.
type burstKey struct {
	GroupKey string
	At       time.Time
	Observed float64
}

// expectedPairBursts returns the anomalies that batches batches make the
// pair rule fire, whatever their order in the log.
func expectedPairBursts(batches int) map[burstKey]int {
	want := map[burstKey]int{}
	for pair := range batches / 2 {
		for group := range pairGroups {
			want[burstKey{
				GroupKey: referenceKey("group", json.RawMessage(fmt.Sprintf(`{"group":%q}`, pairGroup(pair, group)))),
				At:       pairBase.Add(time.Duration(pair) * time.Second),
				Observed: pairThreshold + 1,
			}]++
		}
	}

	return want
}

func keysOf(list []found) map[burstKey]int {
	keys := map[burstKey]int{}
	for _, f := range list {
		keys[burstKey{GroupKey: f.GroupKey, At: f.At, Observed: f.Observed}]++
	}

	return keys
}

// anomalyIDs returns the ids of the anomalies that version 1 of rule
// fires, as a set.
func anomalyIDs(rule referenceRule, list []found) map[uuid.UUID]bool {
	ids := map[uuid.UUID]bool{}
	for _, f := range list {
		ids[detect.AnomalyID(rule.ID, 1, f.GroupKey, f.EventID)] = true
	}

	return ids
}

// storedAnomalyIDs returns the anomaly ids of the anomalies table as a set,
// failing on a repeated id.
func storedAnomalyIDs(t *testing.T, pool *pgxpool.Pool) map[uuid.UUID]bool {
	t.Helper()

	rows, err := pool.Query(background(), `SELECT anomaly_id FROM anomalies`)
	require.NoError(t, err)
	list, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	require.NoError(t, err)

	ids := map[uuid.UUID]bool{}
	for _, id := range list {
		require.False(t, ids[id], "anomaly %s stored twice", id)
		ids[id] = true
	}

	return ids
}

// wsCollector reads the anomalies sent to one WebSocket client until the
// test ends. When the connection drops it connects again with ?after= the
// last anomaly it got, and it keeps each anomaly id once.
type wsCollector struct {
	baseURL string

	mu         sync.Mutex
	conn       *websocket.Conn
	seen       map[uuid.UUID]bool
	messages   int
	last       uuid.UUID
	reconnects int
	lastErr    error
}

// collectWS connects a client to baseURL and reads from it in the
// background.
func collectWS(t *testing.T, baseURL string) *wsCollector {
	t.Helper()

	conn := dialWS(t, baseURL, "")
	c := &wsCollector{baseURL: baseURL, conn: conn, seen: map[uuid.UUID]bool{}}

	ctx, cancel := context.WithCancel(background())
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-done
	})

	go func() {
		defer close(done)
		c.run(ctx, conn)
	}()

	return c
}

func (c *wsCollector) run(ctx context.Context, conn *websocket.Conn) {
	for {
		err := c.read(ctx, conn)
		_ = conn.CloseNow()
		if ctx.Err() != nil {
			return
		}

		c.mu.Lock()
		c.lastErr = err
		c.reconnects++
		c.mu.Unlock()

		for conn = nil; conn == nil; {
			if ctx.Err() != nil {
				return
			}
			conn = c.redial(ctx)
			if conn == nil {
				time.Sleep(100 * time.Millisecond)
			}
		}

		c.mu.Lock()
		c.conn = conn
		c.mu.Unlock()
	}
}

// drop closes the connection without a close handshake, as a network
// failure would, once the client has received an anomaly. The client then
// connects again with ?after=.
func (c *wsCollector) drop(t *testing.T) {
	t.Helper()

	testapp.WaitFor(t, time.Minute, "an anomaly sent to "+c.baseURL, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()

		return len(c.seen) > 0
	})

	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.conn.CloseNow()
}

// reconnected returns how many times the client connected again.
func (c *wsCollector) reconnected() int {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.reconnects
}

func (c *wsCollector) read(ctx context.Context, conn *websocket.Conn) error {
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return err
		}

		var message wsMessage
		if err := json.Unmarshal(data, &message); err != nil {
			return fmt.Errorf("invalid WebSocket message %s: %w", data, err)
		}

		c.mu.Lock()
		c.messages++
		c.seen[message.AnomalyID] = true
		c.last = message.AnomalyID
		c.mu.Unlock()
	}
}

// redial connects again after the last anomaly received, or returns nil.
func (c *wsCollector) redial(ctx context.Context) *websocket.Conn {
	c.mu.Lock()
	url := "ws" + strings.TrimPrefix(c.baseURL, "http") + "/ws"
	if c.last != uuid.Nil {
		url += "?after=" + c.last.String()
	}
	c.mu.Unlock()

	dialCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()

	conn, _, err := websocket.Dial(dialCtx, url, nil) //nolint:bodyclose // Dial closes the handshake response body.
	if err != nil {
		c.mu.Lock()
		c.lastErr = errors.Join(c.lastErr, err)
		c.mu.Unlock()

		return nil
	}

	return conn
}

// waitForAll waits until the client has received every id in want, and
// fails when it received an id not in want.
func (c *wsCollector) waitForAll(t *testing.T, want map[uuid.UUID]bool, timeout time.Duration) {
	t.Helper()

	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		missing := 0
		for id := range want {
			if !c.seen[id] {
				missing++
			}
		}
		var unexpected []uuid.UUID
		for id := range c.seen {
			if !want[id] {
				unexpected = append(unexpected, id)
			}
		}
		c.mu.Unlock()

		require.Empty(t, unexpected, "anomalies sent to %s that were not expected", c.baseURL)

		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf("%d of %d anomalies never reached the client of %s: %s",
				missing, len(want), c.baseURL, c))
		}

		time.Sleep(100 * time.Millisecond)
	}
}

func (c *wsCollector) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()

	return fmt.Sprintf("%d messages, %d distinct anomalies, %d reconnects (last error: %v)",
		c.messages, len(c.seen), c.reconnects, c.lastErr)
}
