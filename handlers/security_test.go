package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsLoopbackAddresses(t *testing.T) {
	t.Parallel()

	cases := map[string]bool{
		"127.0.0.1:8080":          true,
		"127.8.9.10":              true,
		"[::1]:443":               true,
		"::1":                     true,
		"[::ffff:127.0.0.1]:8080": true,
		"localhost:8080":          true,
		"localhost":               true,
		"10.0.0.1:8080":           false,
		"[::2]:80":                false,
		"[::1%lo]:80":             false,
		"example.com:80":          false,
		"":                        false,
		"127.0.0.1.5:80":          false,
	}

	for addr, want := range cases {
		require.Equal(t, want, IsLoopback(addr), "IsLoopback(%q)", addr)
	}
}

func TestGuardUnavailableMessages(t *testing.T) {
	t.Parallel()

	guard := &Guard{logger: slog.New(slog.DiscardHandler)}
	cases := map[string]string{
		http.MethodPost: guardUnavailable,
		http.MethodGet:  "the database is unavailable, so the API key could not be checked; retry later",
	}

	for method, message := range cases {
		recorder := httptest.NewRecorder()
		request := httptest.NewRequest(method, "/api/v1/events", nil)

		guard.writeError(recorder, request, fmt.Errorf("error checking for keys: %w", syscall.ECONNREFUSED))

		require.Equal(t, http.StatusServiceUnavailable, recorder.Code, method)
		require.JSONEq(t, `{"error":"`+message+`"}`, recorder.Body.String(), method)
	}
}

func TestRejectTwoKeysQueryParameter(t *testing.T) {
	t.Parallel()

	const (
		first  = "ep_first"
		second = "ep_second"
	)

	cases := []struct {
		name   string
		path   string
		header http.Header
		query  url.Values
		where  string
	}{
		{"bearer and other query key", "/ws", http.Header{"Authorization": {"Bearer " + first}},
			url.Values{"api_key": {second}}, "its Authorization header and the api_key query parameter"},
		{"bearer and invalid query key", "/ws", http.Header{"Authorization": {"Bearer " + first}},
			url.Values{"api_key": {"wrong"}}, "its Authorization header and the api_key query parameter"},
		{"X-API-Key and query key", "/ws", http.Header{"X-Api-Key": {first}},
			url.Values{"api_key": {second}}, "its X-API-Key header and the api_key query parameter"},
		{"both headers and query key", "/ws", http.Header{"Authorization": {"Bearer " + first}, "X-Api-Key": {first}},
			url.Values{"api_key": {second}}, "its Authorization and X-API-Key headers and the api_key query parameter"},
		{"two query keys", "/ws", http.Header{},
			url.Values{"api_key": {first, second}}, "two api_key query parameters"},
		{"query key on an upgrade to another path", "/api/v1/anomalies",
			http.Header{"Authorization": {"Bearer " + first}, "Upgrade": {"websocket"}},
			url.Values{"api_key": {second}}, "its Authorization header and the api_key query parameter"},
	}

	for _, tc := range cases {
		recorder := httptest.NewRecorder()
		request := httptest.NewRequest(http.MethodGet, tc.path+"?"+tc.query.Encode(), nil)
		request.Header = tc.header

		RejectTwoKeys(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			t.Errorf("%s: request passed", tc.name)
		})).ServeHTTP(recorder, request)

		require.Equal(t, http.StatusBadRequest, recorder.Code, tc.name)
		require.JSONEq(t, `{"error":"the request carries two different API keys in `+tc.where+`; send one key"}`,
			recorder.Body.String(), tc.name)
	}
}

func TestRejectTwoKeysPassesOneKey(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name   string
		path   string
		header http.Header
	}{
		{"same key in header and query", "/ws?api_key=ep_first", http.Header{"Authorization": {"Bearer ep_first"}}},
		{"empty query key", "/ws?api_key=", http.Header{"Authorization": {"Bearer ep_first"}}},
		{"same query key twice", "/ws?api_key=ep_first&api_key=ep_first", http.Header{}},
		{"query key on a REST route", "/api/v1/anomalies?api_key=ep_second", http.Header{"Authorization": {"Bearer ep_first"}}},
	}

	for _, tc := range cases {
		recorder := httptest.NewRecorder()
		request := httptest.NewRequest(http.MethodGet, tc.path, nil)
		request.Header = tc.header

		passed := false
		RejectTwoKeys(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			passed = true
		})).ServeHTTP(recorder, request)

		require.True(t, passed, "%s: %s", tc.name, recorder.Body.String())
	}
}
