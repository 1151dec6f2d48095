package tests

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/app"
	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// createKey makes a key with scopes and waits until the API accepts it.
func createKey(t *testing.T, a *testapp.App, name string, scopes ...auth.Scope) (string, string) {
	t.Helper()

	id, key, err := auth.CreateKey(context.Background(), a.Pool, name, scopes, "test")
	require.NoError(t, err)
	testapp.RegisterSecret(key)

	testapp.WaitFor(t, 30*time.Second, "key projected", func() bool {
		return a.Count("SELECT count(*) FROM api_keys WHERE key_id = $1", id) == 1
	})

	return id.String(), key
}

// request sends a request with an optional key in the given header.
func request(t *testing.T, a *testapp.App, method, path, header, key, body string) (int, http.Header, string) {
	t.Helper()

	headers := http.Header{}
	switch header {
	case "bearer":
		headers.Set("Authorization", "Bearer "+key)
	case "x-api-key":
		headers.Set("X-API-Key", key)
	}

	return requestWithHeaders(t, a, method, path, headers, body)
}

// requestWithHeaders sends body as JSON with headers and returns the
// response's status, headers and body.
func requestWithHeaders(t *testing.T, a *testapp.App, method, path string, headers http.Header, body string) (int, http.Header, string) {
	t.Helper()

	req, err := http.NewRequest(method, a.URL+path, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header = headers.Clone()
	req.Header.Set("Content-Type", "application/json")

	response, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer response.Body.Close()

	var out bytes.Buffer
	_, err = out.ReadFrom(response.Body)
	require.NoError(t, err)

	return response.StatusCode, response.Header, out.String()
}

func TestAuthEndpointsByKeyAndScope(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	_, ingestKey := createKey(t, a, "ingest-only", auth.ScopeIngest)
	_, readKey := createKey(t, a, "read-only", auth.ScopeRead)
	_, adminKey := createKey(t, a, "admin", auth.ScopeAdmin)
	revokedID, revokedKey := createKey(t, a, "revoked", auth.ScopeAdmin, auth.ScopeRead, auth.ScopeIngest)
	require.NoError(t, auth.RevokeKey(context.Background(), a.Pool, uuidOf(t, revokedID), "test"))
	testapp.WaitFor(t, 30*time.Second, "revocation projected", func() bool {
		return a.Count("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL") == 1
	})
	time.Sleep(auth.CacheTTLDefault)

	event := `{"event_type":"e","source":"auth"}`
	endpoints := []struct {
		method, path, body string
		scope              auth.Scope
	}{
		{http.MethodPost, "/api/v1/events", event, auth.ScopeIngest},
		{http.MethodPost, "/api/v1/events/batch", "[" + event + "]", auth.ScopeIngest},
		{http.MethodGet, "/api/v1/events", "", auth.ScopeRead},
		{http.MethodGet, "/api/v1/events/" + newID().String(), "", auth.ScopeRead},
	}
	wrongScope := map[auth.Scope]string{auth.ScopeIngest: readKey, auth.ScopeRead: ingestKey}
	rightScope := map[auth.Scope]string{auth.ScopeIngest: ingestKey, auth.ScopeRead: readKey}

	for _, e := range endpoints {
		name := e.method + " " + e.path

		status, _, body := request(t, a, e.method, e.path, "", "", e.body)
		require.Equal(t, http.StatusUnauthorized, status, "%s without a key: %s", name, body)
		require.Contains(t, body, "missing API key", name)

		status, _, _ = request(t, a, e.method, e.path, "bearer", "ep_00000000000000000000000000000000_wrong", e.body)
		require.Equal(t, http.StatusUnauthorized, status, "%s with a wrong key", name)

		status, _, _ = request(t, a, e.method, e.path, "x-api-key", "not-a-key", e.body)
		require.Equal(t, http.StatusUnauthorized, status, "%s with a malformed key", name)

		status, _, _ = request(t, a, e.method, e.path, "bearer", revokedKey, e.body)
		require.Equal(t, http.StatusUnauthorized, status, "%s with a revoked key", name)

		status, _, body = request(t, a, e.method, e.path, "bearer", wrongScope[e.scope], e.body)
		require.Equal(t, http.StatusForbidden, status, "%s with the wrong scope: %s", name, body)
		require.Contains(t, body, string(e.scope), name)

		for _, header := range []string{"bearer", "x-api-key"} {
			status, _, body = request(t, a, e.method, e.path, header, rightScope[e.scope], e.body)
			require.Contains(t, []int{http.StatusOK, http.StatusAccepted, http.StatusNotFound}, status,
				"%s with the right scope in %s: %s", name, header, body)

			status, _, body = request(t, a, e.method, e.path, header, adminKey, e.body)
			require.Contains(t, []int{http.StatusOK, http.StatusAccepted, http.StatusNotFound}, status,
				"%s with an admin key in %s: %s", name, header, body)
		}
	}

	for _, path := range []string{"/healthz", "/readyz", "/api/v1/events/health", "/dashboard"} {
		status, _, _ := request(t, a, http.MethodGet, path, "", "", "")
		require.Equal(t, http.StatusOK, status, "%s needs no key", path)
	}
}

func TestAuthActorOnIngestCommands(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	keyID, key := createKey(t, a, "producer", auth.ScopeIngest)

	status, _, body := request(t, a, http.MethodPost, "/api/v1/events", "bearer", key, `{"event_type":"e","source":"actor"}`)
	require.Equal(t, http.StatusAccepted, status, body)

	testapp.WaitFor(t, 30*time.Second, "event stored", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'actor'") == 1
	})
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM event_log WHERE metadata->>'name' = 'EventsIngested' AND metadata->>'actor' = $1`, keyID))
}

func TestAuthIngestRateLimit(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{Config: func(c *config.Config) {
		c.IngestRate = 500
		c.IngestBurst = 1000
	}})
	_, key := createKey(t, a, "limited", auth.ScopeIngest)

	batch := "[" + repeatJoin(`{"event_type":"e","source":"rate"}`, 600) + "]"
	status, _, body := request(t, a, http.MethodPost, "/api/v1/events/batch", "bearer", key, batch)
	require.Equal(t, http.StatusAccepted, status, body)

	status, header, body := request(t, a, http.MethodPost, "/api/v1/events/batch", "bearer", key, batch)
	require.Equal(t, http.StatusTooManyRequests, status, body)
	retryAfter, err := strconv.Atoi(header.Get("Retry-After"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, retryAfter, 1)
	require.Contains(t, body, "rate limit")

	time.Sleep(time.Duration(retryAfter) * time.Second)
	status, _, body = request(t, a, http.MethodPost, "/api/v1/events/batch", "bearer", key, batch)
	require.Equal(t, http.StatusAccepted, status, "the bucket refills: %s", body)
}

// TestAuthRateLimitGeneratedClient checks that the generated client
// decodes the 429 of both ingest routes as the spec describes it, with
// Retry-After and the error body.
func TestAuthRateLimitGeneratedClient(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{Config: func(c *config.Config) {
		c.IngestRate = 0.01
		c.IngestBurst = 1000
	}})
	_, key := createKey(t, a, "limited-client", auth.ScopeIngest)
	client, err := oas.NewClient(a.URL, &testapp.KeySource{Key: key})
	require.NoError(t, err)

	const message = "ingest rate limit of this API key reached; retry after the Retry-After delay"
	batch := make([]oas.EventInput, 1000)
	for i := range batch {
		batch[i] = oas.EventInput{EventType: "e", Source: "rate-client"}
	}

	res, err := client.IngestEventBatch(background(), batch)
	require.NoError(t, err)
	require.IsType(t, &oas.BatchAccepted{}, res, "the first batch fits the burst")

	// At one event per 100 seconds the empty bucket needs 10,000 seconds
	// for a batch of 100, and Retry-After is capped at one hour.
	res, err = client.IngestEventBatch(background(), batch[:100])
	require.NoError(t, err)
	limited, ok := res.(*oas.RateLimitedHeaders)
	require.True(t, ok, "response %T", res)
	require.Equal(t, 3600, limited.RetryAfter)
	require.Equal(t, message, limited.Response.Error)

	single, err := client.IngestEvent(background(), &oas.EventInput{EventType: "e", Source: "rate-client"})
	require.NoError(t, err)
	limited, ok = single.(*oas.RateLimitedHeaders)
	require.True(t, ok, "response %T", single)
	require.GreaterOrEqual(t, limited.RetryAfter, 90, "one event needs up to 100 seconds")
	require.LessOrEqual(t, limited.RetryAfter, 100, "one event needs up to 100 seconds")
	require.Equal(t, message, limited.Response.Error)
}

func TestAuthRefusesExposedAddressWithoutKeys(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	api, err := app.NewAPI(a.Deps)
	require.NoError(t, err)

	listener, err := net.Listen("tcp", "0.0.0.0:0")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	err = api.Serve(ctx, listener)
	require.Error(t, err)
	require.Contains(t, err.Error(), "without API keys")
	listener.Close()
}

func TestAuthRefusalShowsConfiguredAddress(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	listener, err := net.Listen("tcp", "0.0.0.0:0")
	require.NoError(t, err)
	defer listener.Close()

	// Go opens a dual-stack socket for 0.0.0.0 where it can, and the
	// listener then reports its address as [::]:port.
	deps := *a.Deps
	deps.Config.HTTPAddr = "0.0.0.0:" + strconv.Itoa(listener.Addr().(*net.TCPAddr).Port)
	api, err := app.NewAPI(&deps)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	err = api.Serve(ctx, listener)
	require.EqualError(t, err, "refusing to listen on "+deps.Config.HTTPAddr+" without API keys: create one with "+
		"`eventpulse keys create --scope admin --name NAME`, or listen on 127.0.0.1")
}

func TestAuthCORSAllowsConfiguredOrigins(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true, Config: func(c *config.Config) {
		c.CORSOrigins = []string{"https://dash.example.com"}
	}})

	preflight := func(origin string) http.Header {
		req, err := http.NewRequest(http.MethodOptions, a.URL+"/api/v1/events", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		response, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		response.Body.Close()
		return response.Header
	}

	require.Equal(t, "https://dash.example.com", preflight("https://dash.example.com").Get("Access-Control-Allow-Origin"))
	require.Contains(t, preflight("https://dash.example.com").Get("Access-Control-Allow-Headers"), "Authorization")
	require.Contains(t, preflight("https://dash.example.com").Get("Access-Control-Allow-Headers"), "Content-Encoding")
	require.Empty(t, preflight("https://evil.example.com").Get("Access-Control-Allow-Origin"))
}

func TestAuthGeneratedClientSendsKey(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	_, key := createKey(t, a, "reader", auth.ScopeRead)

	_, err := a.Client.ListEvents(context.Background(), oas.ListEventsParams{})
	require.Error(t, err, "no key once keys exist")

	client, err := oas.NewClient(a.URL, &testapp.KeySource{Key: key})
	require.NoError(t, err)
	list, err := client.ListEvents(context.Background(), oas.ListEventsParams{})
	require.NoError(t, err)
	require.Equal(t, 0, list.Pagination.Count)
}

func repeatJoin(item string, n int) string {
	var b bytes.Buffer
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(item)
	}

	return b.String()
}

func TestSlowClientIsDisconnected(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true, Config: func(c *config.Config) {
		c.HTTPReadHeaderTimeout = 300 * time.Millisecond
	}})

	conn, err := net.Dial("tcp", a.URL[len("http://"):])
	require.NoError(t, err)
	defer conn.Close()

	_, err = conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n"))
	require.NoError(t, err)

	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	buffer := make([]byte, 512)
	n, err := conn.Read(buffer)
	require.Error(t, err, "the server closes a connection whose headers never end, read %q", buffer[:n])

	var netErr net.Error
	if errors.As(err, &netErr) {
		require.False(t, netErr.Timeout(), "the server, not the client deadline, ended the read")
	}
}

func TestAuthRuleChangesNeedAdmin(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	readerID, readKey := createKey(t, a, "reader", auth.ScopeRead)
	adminID, adminKey := createKey(t, a, "admin", auth.ScopeAdmin)
	rule := `{"name":"errors","severity":"warning","window_seconds":60,
		"condition":{"type":"threshold","metric":"count","filters":{"event_type":"error"},"operator":">","value":5}}`

	status, _, body := request(t, a, http.MethodPost, "/api/v1/rules", "bearer", readKey, rule)
	require.Equal(t, http.StatusForbidden, status, body)
	require.Contains(t, body, "admin")

	status, _, body = request(t, a, http.MethodPost, "/api/v1/rules", "", "", rule)
	require.Equal(t, http.StatusUnauthorized, status, body)

	status, _, body = request(t, a, http.MethodPost, "/api/v1/rules", "bearer", adminKey, rule)
	require.Equal(t, http.StatusCreated, status, body)
	ruleID := decodeJSON(t, []byte(body)).(map[string]any)["rule_id"].(string)

	status, _, body = request(t, a, http.MethodGet, "/api/v1/rules/"+ruleID, "x-api-key", readKey, "")
	require.Equal(t, http.StatusOK, status, body)

	for _, method := range []string{http.MethodPatch, http.MethodPut, http.MethodDelete} {
		status, _, body = request(t, a, method, "/api/v1/rules/"+ruleID, "bearer", readKey, `{"enabled":false}`)
		require.Equal(t, http.StatusForbidden, status, "%s with a read key: %s", method, body)
	}

	status, _, body = request(t, a, http.MethodPatch, "/api/v1/rules/"+ruleID, "bearer", adminKey, `{"enabled":false}`)
	require.Equal(t, http.StatusOK, status, body)

	status, _, body = request(t, a, http.MethodGet, "/api/v1/rules/"+ruleID+"/history", "bearer", readKey, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `"actor":"`+adminID+`"`, "history names the key behind each change")
	require.NotContains(t, body, readerID)
}

func TestAuthWebSocketKeyAndOrigin(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true, Config: func(c *config.Config) {
		c.CORSOrigins = []string{"https://dash.example.com"}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wsURL := "ws" + a.URL[len("http"):] + "/ws"

	dial := func(url string, header http.Header) (int, error) {
		conn, response, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header}) //nolint:bodyclose // Dial closes the handshake response body.
		if conn != nil {
			_ = conn.Close(websocket.StatusNormalClosure, "")
		}
		if response == nil {
			return 0, err
		}
		return response.StatusCode, err
	}

	status, err := dial(wsURL, http.Header{"Origin": {"https://evil.example.com"}})
	require.Error(t, err)
	require.Equal(t, http.StatusForbidden, status, "an origin that is not listed")

	status, err = dial(wsURL, http.Header{"Origin": {"https://dash.example.com"}})
	require.NoError(t, err, "a listed origin, before any key exists")
	require.Equal(t, http.StatusSwitchingProtocols, status)

	_, key := createKeyNoWorker(t, a, "dashboard", auth.ScopeRead)
	time.Sleep(auth.CacheTTLDefault)

	status, err = dial(wsURL, nil)
	require.Error(t, err)
	require.Equal(t, http.StatusUnauthorized, status, "no key once keys exist")

	status, err = dial(wsURL+"?api_key="+key, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, status)

	status, err = dial(wsURL, http.Header{"Authorization": {"Bearer " + key}})
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, status)
}

// createKeyNoWorker makes a key and projects it by hand, for Apps that run
// without a worker.
func createKeyNoWorker(t *testing.T, a *testapp.App, name string, scopes ...auth.Scope) (string, string) {
	t.Helper()

	id, key, err := auth.CreateKey(context.Background(), a.Pool, name, scopes, "test")
	require.NoError(t, err)
	testapp.RegisterSecret(key)

	names := make([]string, len(scopes))
	for i, scope := range scopes {
		names[i] = string(scope)
	}
	_, err = a.Pool.Exec(context.Background(), `
		INSERT INTO api_keys (key_id, name, scopes, secret_hash, created_at) VALUES ($1, $2, $3, $4, now())`,
		id, name, names, auth.HashSecret(secretOf(t, key)))
	require.NoError(t, err)

	return id.String(), key
}

func secretOf(t *testing.T, key string) string {
	t.Helper()

	_, secret, ok := auth.ParseKey(key)
	require.True(t, ok, "key has the EventPulse form")

	return secret
}

// TestAuthBearerSchemeAnyCase sends the key with the scheme in several
// cases to a hand-written route and to routes of the generated server.
func TestAuthBearerSchemeAnyCase(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	_, adminKey := createKey(t, a, "scheme-case", auth.ScopeAdmin)

	routes := []struct {
		method, path, body string
		status             int
	}{
		{http.MethodPost, "/api/v1/events", `{"event_type":"e","source":"scheme"}`, http.StatusAccepted},
		{http.MethodGet, "/api/v1/events", "", http.StatusOK},
		{http.MethodGet, "/api/v1/rules", "", http.StatusOK},
		{http.MethodGet, "/metrics", "", http.StatusOK},
	}

	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		for _, route := range routes {
			req, err := http.NewRequest(route.method, a.URL+route.path, bytes.NewBufferString(route.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", scheme+" "+adminKey)

			response, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			require.NoError(t, response.Body.Close())
			require.Equal(t, route.status, response.StatusCode, "%s %s with scheme %q", route.method, route.path, scheme)
		}
	}
}

func TestAuthRejectsTwoDifferentKeys(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	_, adminKey := createKey(t, a, "two-keys-admin", auth.ScopeAdmin)
	_, readKey := createKey(t, a, "two-keys-read", auth.ScopeRead)

	twoKeys := []struct {
		header http.Header
		where  string
	}{
		{http.Header{"Authorization": {"Bearer " + readKey}, "X-Api-Key": {adminKey}}, "its Authorization and X-API-Key headers"},
		{http.Header{"X-Api-Key": {readKey, adminKey}}, "two X-API-Key headers"},
		{http.Header{"Authorization": {"Bearer " + readKey, "Bearer " + adminKey}}, "two Authorization headers"},
	}
	for _, tc := range twoKeys {
		header := tc.header
		message := `{"error":"the request carries two different API keys in ` + tc.where + `; send one key"}`
		for _, route := range []struct{ method, path, body string }{
			{http.MethodPost, "/api/v1/events", `{"event_type":"e","source":"two-keys"}`},
			{http.MethodPost, "/api/v1/rules", `{"name":"two keys","severity":"info","window_seconds":60,` +
				`"condition":{"type":"threshold","metric":"count","operator":">","value":5}}`},
			{http.MethodGet, "/metrics", ""},
		} {
			status, _, body := requestWithHeaders(t, a, route.method, route.path, header, route.body)
			require.Equal(t, http.StatusBadRequest, status, "%s %s with %v: %s", route.method, route.path, header, body)
			require.JSONEq(t, message, body, "%s %s", route.method, route.path)
		}
	}

	status, _, body := requestWithHeaders(t, a, http.MethodGet, "/api/v1/rules", http.Header{
		"Authorization": {"Bearer " + adminKey}, "X-Api-Key": {adminKey},
	}, "")
	require.Equal(t, http.StatusOK, status, "the same key in both headers: %s", body)
}

func TestCreateKeyChecksNameAndScopes(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	_, _, err := auth.CreateKey(context.Background(), a.Pool, "\u3164", []auth.Scope{auth.ScopeRead}, "test")
	require.EqualError(t, err, `invalid key name "\u3164": must not be blank`)

	_, _, err = auth.CreateKey(context.Background(), a.Pool, "no scope", nil, "test")
	require.EqualError(t, err, "a key needs a name and at least one scope")

	id, _ := createKey(t, a, "twice", auth.ScopeRead, auth.ScopeIngest, auth.ScopeRead)
	var scopes []string
	require.NoError(t, a.Pool.QueryRow(context.Background(), `SELECT scopes FROM api_keys WHERE key_id = $1`, id).Scan(&scopes))
	require.Equal(t, []string{"read", "ingest"}, scopes)
}

// TestAuthMissingKeyMessageNamesQuery checks that the 401 to a request to
// /ws without a key names the api_key query parameter, which browsers
// need, and that the 401 of other routes names the two headers only.
func TestAuthMissingKeyMessageNamesQuery(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	createKeyNoWorker(t, a, "reader", auth.ScopeRead)
	time.Sleep(auth.CacheTTLDefault)

	const (
		wsMessage = "missing API key: send it in the api_key query parameter, which a browser's WebSocket API " +
			"needs because it cannot set headers, or as Authorization: Bearer <key> or in the X-API-Key header"
		headerMessage = "missing API key: send it as Authorization: Bearer <key> or in the X-API-Key header"
	)

	upgrade := http.Header{
		"Connection":            {"Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-WebSocket-Version": {"13"},
		"Sec-WebSocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
	}

	cases := []struct {
		name    string
		path    string
		header  http.Header
		message string
	}{
		{"WebSocket upgrade to /ws", "/ws", upgrade, wsMessage},
		{"plain GET of /ws", "/ws", http.Header{}, wsMessage},
		{"empty api_key on /ws", "/ws?api_key=", upgrade, wsMessage},
		{"list of events", "/api/v1/events", http.Header{}, headerMessage},
		{"api_key on a REST route", "/api/v1/anomalies?api_key=", http.Header{}, headerMessage},
	}

	for _, tc := range cases {
		status, body := sendRequest(t, http.MethodGet, a.URL+tc.path, "", tc.header)
		require.Equal(t, http.StatusUnauthorized, status, "%s: %s", tc.name, body)
		require.JSONEq(t, `{"error":"`+tc.message+`"}`, body, tc.name)
	}
}
