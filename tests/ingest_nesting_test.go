package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/ingest"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// TestIngestDeepNestingSameIssue sends payloads nested 33 and 100,000
// levels deep, past the limit of 32 and past the JSON decoder's limit of
// 10,000, and expects the same issue for both.
func TestIngestDeepNestingSameIssue(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	path := []any{"payload"}
	for range ingest.MaxDepth {
		path = append(path, "a")
	}

	issue, err := json.Marshal(map[string]any{
		"path":    path,
		"message": "nests objects and arrays deeper than 32 levels",
		"code":    "too_big",
	})
	require.NoError(t, err)

	want := `{"error":"Validation failed","issues":[` + string(issue) + `]}`
	wantBatch := strings.Replace(want, `"path":["payload"`, `"path":[0,"payload"`, 1)

	for _, levels := range []int{ingest.MaxDepth + 1, 100_000} {
		event := `{"event_type":"deep","source":"test","payload":` +
			strings.Repeat(`{"a":`, levels) + "1" + strings.Repeat("}", levels) + `}`

		status, _, body := postJSON(t, a, "/api/v1/events", event)
		require.Equal(t, http.StatusBadRequest, status, "%d levels: %.300s", levels, body)
		require.JSONEq(t, want, string(body), "%d levels", levels)

		status, _, body = postJSON(t, a, "/api/v1/events/batch", "["+event+"]")
		require.Equal(t, http.StatusBadRequest, status, "%d levels in a batch: %.300s", levels, body)
		require.JSONEq(t, wantBatch, string(body), "%d levels in a batch", levels)
	}

	status, _, body := postJSON(t, a, "/api/v1/events",
		`{"event_type":"deep","source":"test","extra":`+strings.Repeat("[", 20_000)+strings.Repeat("]", 20_000)+`}`)
	require.Equal(t, http.StatusBadRequest, status, "body: %.300s", body)
	require.JSONEq(t, `{"error":"Validation failed","issues":[{"path":["extra"],"code":"too_big",`+
		`"message":"nests objects and arrays deeper than 10000 levels, counted from the start of the body"}]}`, string(body))
}
