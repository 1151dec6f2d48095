package tests

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/live"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// keyCheckDeadline bounds the time from a change of a key in api_keys to
// the close frame of its sessions. It is the authenticator's cache TTL plus
// one period of the hub's key checks, with 3 seconds of slack for a loaded
// machine.
const keyCheckDeadline = auth.CacheTTLDefault + live.KeyCheckPeriodDefault + 3*time.Second

// dialWSWithHeader connects to /ws of baseURL with query and header.
func dialWSWithHeader(t *testing.T, baseURL, query string, header http.Header) *websocket.Conn {
	t.Helper()

	ctx, cancel := context.WithTimeout(background(), 10*time.Second)
	defer cancel()

	address := "ws" + strings.TrimPrefix(baseURL, "http") + "/ws"
	if query != "" {
		address += "?" + query
	}

	conn, response, err := websocket.Dial(ctx, address, &websocket.DialOptions{HTTPHeader: header}) //nolint:bodyclose // Dial closes the handshake response body.
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, response.StatusCode)
	t.Cleanup(func() { _ = conn.CloseNow() })

	return conn
}

// requireClosed reads from conn until deadline and fails unless the server
// closed it with code and reason.
func requireClosed(t *testing.T, conn *websocket.Conn, deadline time.Duration, code websocket.StatusCode, reason string) {
	t.Helper()

	ctx, cancel := context.WithTimeout(background(), deadline)
	defer cancel()

	_, data, err := conn.Read(ctx)
	require.Error(t, err, "message instead of a close frame: %s", data)

	var closeErr websocket.CloseError
	require.ErrorAs(t, err, &closeErr, "no close frame within %s", deadline)
	require.Equal(t, code, closeErr.Code)
	require.Equal(t, reason, closeErr.Reason)
}

func TestWebSocketClosedWhenKeyRevoked(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	id, key := createKey(t, a, "revoked-reader", auth.ScopeRead)
	_, otherKey := createKey(t, a, "other-reader", auth.ScopeRead)
	revoked := dialWS(t, a.URL, "api_key="+url.QueryEscape(key))
	alsoRevoked := dialWS(t, a.URL, "api_key="+url.QueryEscape(key))
	other := dialWS(t, a.URL, "api_key="+url.QueryEscape(otherKey))
	settle()

	before := newAnomaly("critical")
	appendAnomaly(t, a, before)
	for _, conn := range []*websocket.Conn{revoked, alsoRevoked, other} {
		require.Equal(t, before.AnomalyID, readAnomaly(t, conn, 10*time.Second).AnomalyID)
	}

	require.NoError(t, auth.RevokeKey(background(), a.Pool, uuid.MustParse(id), "test"))
	testapp.WaitFor(t, 30*time.Second, "revocation projected", func() bool {
		return a.Count("SELECT count(*) FROM api_keys WHERE key_id = $1 AND revoked_at IS NOT NULL", id) == 1
	})

	requireClosed(t, revoked, keyCheckDeadline, websocket.StatusPolicyViolation, "API key revoked or invalid")
	requireClosed(t, alsoRevoked, keyCheckDeadline, websocket.StatusPolicyViolation, "API key revoked or invalid")

	after := newAnomaly("critical")
	appendAnomaly(t, a, after)
	require.Equal(t, after.AnomalyID, readAnomaly(t, other, 10*time.Second).AnomalyID,
		"the session of a key in use stays open")
}

func TestWebSocketClosedWhenKeyLosesReadScope(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	id, key := createKeyNoWorker(t, a, "narrowed", auth.ScopeRead, auth.ScopeIngest)
	conn := dialWSWithHeader(t, a.URL, "", http.Header{"Authorization": {"Bearer " + key}})
	settle()

	_, err := a.Pool.Exec(background(), `UPDATE api_keys SET scopes = '{ingest}' WHERE key_id = $1`, id)
	require.NoError(t, err)

	requireClosed(t, conn, keyCheckDeadline, websocket.StatusPolicyViolation, "API key lacks the read scope")
}

func TestWebSocketWithoutKeyClosedOnceKeyCreated(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	conn := dialWS(t, a.URL, "")
	settle()

	createKeyNoWorker(t, a, "first", auth.ScopeRead)

	requireClosed(t, conn, keyCheckDeadline, websocket.StatusPolicyViolation, "an API key is now required")
}

func TestWebSocketRejectsTwoDifferentKeys(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	_, readKey := createKeyNoWorker(t, a, "ws-read", auth.ScopeRead)
	_, otherKey := createKeyNoWorker(t, a, "ws-other", auth.ScopeRead)
	time.Sleep(auth.CacheTTLDefault)

	const (
		bearerAndQuery = `{"error":"the request carries two different API keys in its Authorization header ` +
			`and the api_key query parameter; send one key"}`
		headerAndQuery = `{"error":"the request carries two different API keys in its X-API-Key header ` +
			`and the api_key query parameter; send one key"}`
	)

	cases := []struct {
		name   string
		query  string
		header http.Header
		body   string
	}{
		{"bearer and another key", "api_key=" + url.QueryEscape(otherKey),
			http.Header{"Authorization": {"Bearer " + readKey}}, bearerAndQuery},
		{"bearer and an invalid key", "api_key=wrong",
			http.Header{"Authorization": {"Bearer " + readKey}}, bearerAndQuery},
		{"X-API-Key and another key", "api_key=" + url.QueryEscape(otherKey),
			http.Header{"X-Api-Key": {readKey}}, headerAndQuery},
	}

	for _, tc := range cases {
		header := tc.header.Clone()
		header.Set("Connection", "Upgrade")
		header.Set("Upgrade", "websocket")
		header.Set("Sec-WebSocket-Version", "13")
		header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")

		status, _, body := getWS(t, a, tc.query, header)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", tc.name, body)
		require.JSONEq(t, tc.body, string(body), tc.name)
	}

	conn := dialWSWithHeader(t, a.URL, "api_key="+url.QueryEscape(readKey), http.Header{"Authorization": {"Bearer " + readKey}})
	require.NoError(t, conn.Close(websocket.StatusNormalClosure, ""), "the same key in the header and the query")
}

// TestWebSocketIgnoresUnknownParameters checks that parameters other than
// severity, rule_id, after and api_key neither filter nor reject, so older
// clients that send them keep receiving every anomaly.
func TestWebSocketIgnoresUnknownParameters(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	conn := dialWS(t, a.URL, "source=elsewhere&bogus=1")
	settle()
	anomaly := newAnomaly("info")

	appendAnomaly(t, a, anomaly)

	requireSameAnomaly(t, anomaly, readAnomaly(t, conn, 10*time.Second))
}
