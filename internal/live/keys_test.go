package live

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/logging"
)

// fakeKeys reads the key from api_key and counts the checks per key.
type fakeKeys struct {
	mu      sync.Mutex
	reasons map[string]string
	failing map[string]bool
	checks  map[string]int
}

func (k *fakeKeys) KeyOf(r *http.Request) string { return r.URL.Query().Get("api_key") }

func (k *fakeKeys) CheckKey(_ context.Context, key string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()

	k.checks[key]++
	if k.failing[key] {
		return "", errors.New("database unavailable")
	}

	return k.reasons[key], nil
}

func (k *fakeKeys) set(key, reason string, failing bool) {
	k.mu.Lock()
	defer k.mu.Unlock()

	k.reasons[key] = reason
	k.failing[key] = failing
}

func (k *fakeKeys) checked() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()

	checks := map[string]int{}
	for key, n := range k.checks {
		checks[key] = n
	}

	return checks
}

func TestHubClosesSessionsOfRevokedKey(t *testing.T) {
	t.Parallel()

	keys := &fakeKeys{reasons: map[string]string{}, failing: map[string]bool{}, checks: map[string]int{}}
	// The period is longer than the test, so only the calls below check.
	hub := NewHub(nil, HubConfig{Keys: keys, KeyCheckPeriod: time.Hour}, slog.New(slog.DiscardHandler))
	server := httptest.NewServer(hub)
	t.Cleanup(server.Close)
	t.Cleanup(hub.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	dial := func(key string) *websocket.Conn {
		url := "ws" + strings.TrimPrefix(server.URL, "http") + "?api_key=" + key
		conn, _, err := websocket.Dial(ctx, url, nil) //nolint:bodyclose // Dial closes the handshake response body.
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.CloseNow() })

		return conn
	}

	revoked := []*websocket.Conn{dial("a"), dial("a"), dial("a")}
	valid := dial("b")
	uncheckable := dial("c")
	require.Eventually(t, func() bool { return hub.Clients() == 5 }, 5*time.Second, 10*time.Millisecond)

	keys.set("a", "API key revoked or invalid", false)
	keys.set("c", "", true)
	var outage logging.Outage
	hub.checkKeysOnce(&outage)

	require.Equal(t, map[string]int{"a": 1, "b": 1, "c": 1}, keys.checked(), "one check per key, not per session")

	for i, conn := range revoked {
		_, _, err := conn.Read(ctx)
		var closeErr websocket.CloseError
		require.ErrorAs(t, err, &closeErr, "session %d", i)
		require.Equal(t, websocket.StatusPolicyViolation, closeErr.Code, "session %d", i)
		require.Equal(t, "API key revoked or invalid", closeErr.Reason, "session %d", i)
	}

	require.Eventually(t, func() bool { return hub.Clients() == 2 }, 5*time.Second, 10*time.Millisecond)

	hub.publish(record{position: position{transactionID: 1, offset: 1}, anomaly: Anomaly{Severity: "info"}})
	for name, conn := range map[string]*websocket.Conn{"valid": valid, "uncheckable": uncheckable} {
		readCtx, cancelRead := context.WithTimeout(ctx, 5*time.Second)
		_, data, err := conn.Read(readCtx)
		cancelRead()
		require.NoError(t, err, name)
		require.Contains(t, string(data), `"severity":"info"`, name)
	}
}
