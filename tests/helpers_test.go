package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/testapp"
)

// postJSON sends body to path and returns the status, headers and body.
func postJSON(t *testing.T, a *testapp.App, path string, body string) (int, http.Header, []byte) {
	t.Helper()

	return post(t, a, path, "application/json", []byte(body))
}

// post sends body to path with contentType, or with no Content-Type header
// when contentType is empty.
func post(t *testing.T, a *testapp.App, path, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()

	request, err := http.NewRequest(http.MethodPost, a.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		request.Header.Set("Content-Type", contentType)
	}

	response, err := http.DefaultClient.Do(request)
	require.NoError(t, err)
	defer response.Body.Close()

	data, err := io.ReadAll(response.Body)
	require.NoError(t, err)

	return response.StatusCode, response.Header, data
}

func get(t *testing.T, a *testapp.App, path string) (int, []byte) {
	t.Helper()

	response, err := http.Get(a.URL + path)
	require.NoError(t, err)
	defer response.Body.Close()

	data, err := io.ReadAll(response.Body)
	require.NoError(t, err)

	return response.StatusCode, data
}

// sendRequest sends a request with header, exactly as given, and returns the
// response's status and body.
func sendRequest(t *testing.T, method, url, body string, header http.Header) (int, string) {
	t.Helper()

	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header = header

	response, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer response.Body.Close()

	data, err := io.ReadAll(response.Body)
	require.NoError(t, err)

	return response.StatusCode, string(data)
}

// decodeJSON decodes data keeping numbers exact.
func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()

	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()

	var v any
	require.NoError(t, decoder.Decode(&v), "body: %s", data)

	return v
}

// waitForEvents waits until the events table holds n rows.
func waitForEvents(t *testing.T, a *testapp.App, n int) {
	t.Helper()

	testapp.WaitFor(t, 30*time.Second, "events table to hold the accepted events", func() bool {
		return a.Count("SELECT count(*) FROM events") >= n
	})
	require.Equal(t, n, a.Count("SELECT count(*) FROM events"))
}

// dataDir returns the directory of the real log samples, skipping the test
// when they are not next to the repository.
func dataDir(t testing.TB) string {
	t.Helper()

	dir := os.Getenv("EVENTPULSE_TEST_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}

	if _, err := os.Stat(filepath.Join(dir, "loghub-apache.ndjson")); err != nil {
		t.Skipf("real log samples not found in %s (set EVENTPULSE_TEST_DATA): %v", dir, err)
	}

	return dir
}

func newID() uuid.UUID { return uuid.New() }

func background() context.Context { return context.Background() }

func uuidOf(t *testing.T, s string) uuid.UUID {
	t.Helper()

	id, err := uuid.Parse(s)
	require.NoError(t, err)

	return id
}
