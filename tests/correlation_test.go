package tests

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestCorrelationIDReachesTheLog(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	req, err := http.NewRequest(http.MethodPost, a.URL+"/api/v1/events/batch",
		bytes.NewBufferString(`[{"event_type":"e","source":"corr"},{"event_type":"e","source":"corr"}]`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Correlation-ID", "req-7f3a9")

	response, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, response.Body)
	response.Body.Close()
	require.Equal(t, http.StatusAccepted, response.StatusCode)
	require.Equal(t, "req-7f3a9", response.Header.Get("X-Correlation-ID"))

	testapp.WaitFor(t, 30*time.Second, "record appended", func() bool {
		return a.Count("SELECT count(*) FROM event_log") == 1
	})
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM event_log WHERE metadata->>'correlation_id' = 'req-7f3a9'`))
	require.Equal(t, 2, a.Count(`SELECT count(*) FROM event_log, jsonb_array_elements(payload->'events') e
		WHERE e->>'correlation_id' = 'req-7f3a9'`))

	status, header, _ := postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"corr"}`)
	require.Equal(t, http.StatusAccepted, status)
	require.Len(t, header.Get("X-Correlation-ID"), 36, "a UUID is generated when the client sends none")
}
