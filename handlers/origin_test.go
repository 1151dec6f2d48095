package handlers

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// configuredOrigins are EVENTPULSE_CORS_ORIGINS entries as written, before
// config.FromEnv normalizes them.
var configuredOrigins = []string{"https://ops.example.com/", "HTTPS://DASH.EXAMPLE.COM", "http://localhost:5173"}

func preflight(t *testing.T, origins []string, origin string) *httptest.ResponseRecorder {
	t.Helper()

	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusMethodNotAllowed)
	})
	request := httptest.NewRequest(http.MethodOptions, "/api/v1/events", nil)
	request.Header.Set("Origin", origin)
	request.Header.Set("Access-Control-Request-Method", http.MethodPost)
	recorder := httptest.NewRecorder()
	CORS(origins)(next).ServeHTTP(recorder, request)

	return recorder
}

func TestCORSMatchesNormalizedOrigins(t *testing.T) {
	t.Parallel()

	for _, origin := range []string{"https://ops.example.com", "https://dash.example.com", "http://localhost:5173", "https://ops.example.com:443"} {
		recorder := preflight(t, configuredOrigins, origin)
		require.Equal(t, http.StatusNoContent, recorder.Code, origin)
		require.Equal(t, origin, recorder.Header().Get("Access-Control-Allow-Origin"), origin)
	}

	for _, origin := range []string{"https://evil.example.com", "http://ops.example.com", "https://ops.example.com:8443", "null", "*"} {
		recorder := preflight(t, configuredOrigins, origin)
		require.Equal(t, http.StatusMethodNotAllowed, recorder.Code, origin)
		require.Empty(t, recorder.Header().Get("Access-Control-Allow-Origin"), origin)
	}
}

func TestCORSIgnoresInvalidEntries(t *testing.T) {
	t.Parallel()

	recorder := preflight(t, []string{"*", "not an origin"}, "https://ops.example.com")
	require.Equal(t, http.StatusMethodNotAllowed, recorder.Code)
	require.Empty(t, recorder.Header().Get("Access-Control-Allow-Origin"))
}

func TestCheckOriginMatchesNormalizedOrigins(t *testing.T) {
	t.Parallel()

	status := func(origin, host string) int {
		next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusSwitchingProtocols)
		})
		request := httptest.NewRequest(http.MethodGet, "/ws", nil)
		request.Host = host
		request.Header.Set("Origin", origin)
		recorder := httptest.NewRecorder()
		CheckOrigin(configuredOrigins)(next).ServeHTTP(recorder, request)

		return recorder.Code
	}

	require.Equal(t, http.StatusSwitchingProtocols, status("https://ops.example.com", "api.example.com"))
	require.Equal(t, http.StatusSwitchingProtocols, status("https://dash.example.com", "api.example.com"))
	require.Equal(t, http.StatusSwitchingProtocols, status("", "api.example.com"), "no Origin header")
	require.Equal(t, http.StatusSwitchingProtocols, status("https://api.example.com", "API.example.com"), "same origin, host in another case")
	require.Equal(t, http.StatusForbidden, status("https://evil.example.com", "api.example.com"))
	require.Equal(t, http.StatusForbidden, status("http://ops.example.com", "api.example.com"), "another scheme")
}
