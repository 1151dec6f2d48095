package tests

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// anonymousRoutes are routes behind each kind of guard: the hand-written
// ingest route, two routes of the generated server and /metrics. served is
// the status of a request that the guard lets through.
var anonymousRoutes = []struct {
	method, path, body string
	served             int
}{
	{http.MethodPost, "/api/v1/events", `{"event_type":"e","source":"anonymous"}`, http.StatusAccepted},
	{http.MethodGet, "/api/v1/events?limit=1", "", http.StatusOK},
	{http.MethodGet, "/api/v1/rules", "", http.StatusOK},
	{http.MethodGet, "/metrics", "", http.StatusOK},
}

// requestWithHost sends a request to baseURL+path with host as its Host
// header and key, when not empty, as a bearer token. It returns the
// response's status, headers and body.
func requestWithHost(t *testing.T, baseURL, method, path, host, key, body string) (int, http.Header, string) {
	t.Helper()

	req, err := http.NewRequest(method, baseURL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}

	response, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer response.Body.Close()

	data, err := io.ReadAll(response.Body)
	require.NoError(t, err)

	return response.StatusCode, response.Header, string(data)
}

func TestAnonymousAccessEndsWhenAllKeysRevoked(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	host := strings.TrimPrefix(a.URL, "http://")

	for _, route := range anonymousRoutes {
		status, _, body := requestWithHost(t, a.URL, route.method, route.path, host, "", route.body)
		require.Equal(t, route.served, status, "%s %s before any key is created: %s", route.method, route.path, body)
	}

	id, _ := createKey(t, a, "only-key", auth.ScopeAdmin)
	require.NoError(t, auth.RevokeKey(context.Background(), a.Pool, uuidOf(t, id), "test"))
	testapp.WaitFor(t, 30*time.Second, "revocation projected", func() bool {
		return a.Count("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL") == 1
	})
	time.Sleep(auth.CacheTTLDefault)

	// The second API starts after the revocation, as a restarted process
	// would, with an empty cache.
	for _, baseURL := range []string{a.URL, a.StartAPI()} {
		host := strings.TrimPrefix(baseURL, "http://")
		for _, route := range anonymousRoutes {
			name := route.method + " " + baseURL + route.path

			status, header, body := requestWithHost(t, baseURL, route.method, route.path, host, "", route.body)
			require.Equal(t, http.StatusUnauthorized, status, "%s after every key was revoked: %s", name, body)
			require.JSONEq(t,
				`{"error":"missing API key: send it as Authorization: Bearer <key> or in the X-API-Key header"}`,
				body, name)
			require.Equal(t, `Bearer realm="eventpulse"`, header.Get("WWW-Authenticate"), name)
		}
	}

	created, err := auth.KeyCreatedInLog(context.Background(), a.Pool)
	require.NoError(t, err)
	require.True(t, created, "the log holds a created key although it was revoked")

	created, err = auth.NewAuthenticator(a.Pool).AnyKeyCreated(context.Background())
	require.NoError(t, err)
	require.True(t, created, "api_keys holds a created key although it was revoked")
}

func TestAnonymousAccessNeedsLoopbackHost(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	port := a.URL[strings.LastIndexByte(a.URL, ':')+1:]

	loopbackHosts := []string{
		"127.0.0.1:" + port,
		"127.0.0.1",
		"127.9.8.7:" + port,
		"localhost:" + port,
		"LocalHost",
		"localhost.:" + port,
		"[::1]:" + port,
		"[::1]",
	}
	for _, host := range loopbackHosts {
		for _, route := range anonymousRoutes {
			status, _, body := requestWithHost(t, a.URL, route.method, route.path, host, "", route.body)
			require.Equal(t, route.served, status, "%s %s with Host %q: %s", route.method, route.path, host, body)
		}
	}

	foreignHosts := []string{
		"evil.example",
		"evil.example:" + port,
		"localhost.evil.example",
		"127.0.0.1.evil.example:" + port,
		"10.0.0.1:" + port,
		"[::2]:" + port,
		"127.1:" + port,
		"localhost:http",
	}
	for _, host := range foreignHosts {
		message := `{"error":"the Host header \"` + host + `\" is not a loopback name ` +
			`such as localhost, 127.0.0.1 or [::1], so the request needs an API key; create one with eventpulse keys create"}`
		for _, route := range anonymousRoutes {
			status, header, body := requestWithHost(t, a.URL, route.method, route.path, host, "", route.body)
			require.Equal(t, http.StatusForbidden, status, "%s %s with Host %q: %s", route.method, route.path, host, body)
			require.JSONEq(t, message, body, "%s %s with Host %q", route.method, route.path, host)
			require.Empty(t, header.Get("WWW-Authenticate"), "%s %s with Host %q", route.method, route.path, host)
		}

		status, _, body := requestWithHost(t, a.URL, http.MethodGet, "/ws", host, "", "")
		require.Equal(t, http.StatusForbidden, status, "/ws with Host %q: %s", host, body)
		require.JSONEq(t, message, body, "/ws with Host %q", host)
	}
}

func TestAuthKeyServedWithForeignHost(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	_, adminKey := createKey(t, a, "host-check", auth.ScopeAdmin)
	readID, readKey := createKey(t, a, "host-check-read", auth.ScopeRead)

	for _, route := range anonymousRoutes {
		status, _, body := requestWithHost(t, a.URL, route.method, route.path, "evil.example", adminKey, route.body)
		require.Equal(t, route.served, status, "%s %s with a key and a foreign Host: %s", route.method, route.path, body)
	}

	status, _, body := requestWithHost(t, a.URL, http.MethodPost, "/api/v1/events", "evil.example", readKey,
		`{"event_type":"e","source":"anonymous"}`)
	require.Equal(t, http.StatusForbidden, status, body)
	require.JSONEq(t, `{"error":"API key `+readID+` lacks the \"ingest\" scope"}`, body)

	status, _, body = requestWithHost(t, a.URL, http.MethodGet, "/api/v1/events?limit=1", "evil.example",
		"ep_00000000000000000000000000000000_wrong", "")
	require.Equal(t, http.StatusUnauthorized, status, body)
	require.JSONEq(t, `{"error":"invalid or revoked API key"}`, body)
}
