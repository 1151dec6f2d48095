package tests

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// stallingProxy forwards TCP connections to a target until stall is
// called. After that it reads from both sides and forwards nothing, like a
// server that stopped responding.
type stallingProxy struct {
	listener net.Listener
	target   string
	stalled  atomic.Bool
	mu       sync.Mutex
	conns    []net.Conn
}

func newStallingProxy(t *testing.T, target string) *stallingProxy {
	t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	p := &stallingProxy{listener: listener, target: target}
	go p.accept()
	t.Cleanup(p.close)

	return p
}

func (p *stallingProxy) addr() string { return p.listener.Addr().String() }

func (p *stallingProxy) stall() { p.stalled.Store(true) }

func (p *stallingProxy) accept() {
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return
		}

		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}

		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()

		go p.pipe(server, client)
		go p.pipe(client, server)
	}
}

// pipe copies from src to dst while the proxy is not stalled.
func (p *stallingProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.stalled.Load() {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *stallingProxy) close() {
	_ = p.listener.Close()

	p.mu.Lock()
	defer p.mu.Unlock()

	for _, conn := range p.conns {
		_ = conn.Close()
	}
}

func TestReadyzNamesStalledRedis(t *testing.T) {
	t.Parallel()

	proxy := newStallingProxy(t, testapp.Env(t).RedisAddr())
	a := testapp.Start(t, testapp.Options{NoWorker: true, Config: func(c *config.Config) {
		c.RedisURL = "redis://" + proxy.addr() + "/0"
	}})

	status, body := get(t, a, "/readyz")
	require.Equal(t, http.StatusOK, status, "body: %s", body)

	proxy.stall()
	response, err := http.Get(a.URL + "/readyz")
	require.NoError(t, err)
	raw, err := io.ReadAll(response.Body)
	require.NoError(t, err)
	require.NoError(t, response.Body.Close())
	require.Equal(t, http.StatusServiceUnavailable, response.StatusCode, "body: %s", raw)

	var ready struct {
		Status   string `json:"status"`
		Postgres string `json:"postgres"`
		Redis    string `json:"redis"`
	}
	require.NoError(t, json.Unmarshal(raw, &ready))
	require.Equal(t, "degraded", ready.Status)
	require.Equal(t, "ok", ready.Postgres, "PostgreSQL answers while Redis stalls")
	require.Equal(t, "unavailable", ready.Redis, "the error itself goes to the log")
}

// TestReadyzLagCountsRecords appends three rule records while the worker
// is stopped and reads from /readyz the lag of a consumer group that
// applied no record: lag_records and its deprecated alias lag_events both
// count every record of the log, the three included.
func TestReadyzLagCountsRecords(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	a.StopWorker()

	_, err := a.Pool.Exec(background(), `INSERT INTO event_log_offsets
		(consumer_group, offset_acked, last_processed_transaction_id) VALUES ('lag.test', 0, '0')`)
	require.NoError(t, err)
	before := a.Count("SELECT count(*) FROM event_log")
	for i := range 3 {
		appendRuleCreated(t, a.Pool, thresholdSpec("lag "+strconv.Itoa(i), nil, nil, 1, 60, 60))
	}
	records := int64(before + 3)

	status, body := get(t, a, "/readyz")
	require.Equal(t, http.StatusOK, status, "body: %s", body)

	var ready struct {
		Projections []map[string]any `json:"projections"`
	}
	require.NoError(t, json.Unmarshal(body, &ready))

	var found map[string]any
	for _, projection := range ready.Projections {
		if projection["name"] == "lag.test" {
			found = projection
		}
	}
	require.NotNil(t, found, "body: %s", body)
	require.InDelta(t, records, found["lag_records"], 0)
	require.InDelta(t, records, found["lag_events"], 0)
}

// TestReadyzListsEveryCommandStream checks that /readyz lists each command
// handler with its stream at 0 before any dead letter exists, as the
// eventpulse_command_dead_letters gauge of /metrics does.
func TestReadyzListsEveryCommandStream(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	prefix := a.Config.StreamPrefix

	status, body := get(t, a, "/readyz")
	require.Equal(t, http.StatusOK, status, "body: %s", body)

	var ready struct {
		Commands []map[string]any `json:"commands"`
	}
	require.NoError(t, json.Unmarshal(body, &ready))

	want := []map[string]any{
		{"handler": "CreateRule", "stream": bus.CommandStream(prefix, "CreateRule"), "dead_letters": float64(0)},
		{"handler": "DeleteRule", "stream": bus.CommandStream(prefix, "DeleteRule"), "dead_letters": float64(0)},
		{"handler": "IngestEvents", "stream": bus.CommandStream(prefix, "IngestEvents"), "dead_letters": float64(0)},
		{"handler": "PatchRule", "stream": bus.CommandStream(prefix, "PatchRule"), "dead_letters": float64(0)},
		{"handler": "ReplaceRule", "stream": bus.CommandStream(prefix, "ReplaceRule"), "dead_letters": float64(0)},
	}
	require.Equal(t, want, ready.Commands)

	for _, command := range want {
		series := `eventpulse_command_dead_letters{handler="` + command["handler"].(string) +
			`",stream="` + command["stream"].(string) + `"}`
		require.Equal(t, "0", metricValue(t, a, series), series)
	}
}
