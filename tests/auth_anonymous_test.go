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
