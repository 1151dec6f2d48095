package tests

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestIngestEventNamesIgnoredFields(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	status, _, body := postJSON(t, a, "/api/v1/events",
		`{"event_type":"info","source":"typo","paylod":{"order_id":42},"Metadata":{},"paylod":1}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	var accepted struct {
		Status        string   `json:"status"`
		EventID       string   `json:"event_id"`
		IgnoredFields []string `json:"ignored_fields"`
	}
	require.NoError(t, json.Unmarshal(body, &accepted))
	require.Equal(t, "accepted", accepted.Status)
	require.Equal(t, []string{"paylod", "Metadata"}, accepted.IgnoredFields)

	waitForEvents(t, a, 1)
	event, err := a.Client.GetEvent(background(), oas.GetEventParams{EventID: uuidOf(t, accepted.EventID)})
	require.NoError(t, err)
	require.JSONEq(t, `{}`, string(event.Payload), "the misspelt payload is not stored")
	require.JSONEq(t, `{}`, string(event.Metadata))

	status, _, body = postJSON(t, a, "/api/v1/events", `{"event_type":"info","source":"typo"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	require.NotContains(t, members(t, body), "ignored_fields", "body: %s", body)
}

func TestIngestBatchNamesIgnoredFields(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	status, _, body := postJSON(t, a, "/api/v1/events/batch", `[
		{"event_type":"info","source":"typo"},
		{"event_type":"info","source":"typo"},
		{"event_type":"info","source":"typo","sorce":"x"},
		{"event_type":"info","source":"typo","paylod":{},"timestmp":"2024-05-01T12:00:00Z"}]`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	var accepted struct {
		Count         int `json:"count"`
		IgnoredFields []struct {
			Index int    `json:"index"`
			Field string `json:"field"`
		} `json:"ignored_fields"`
	}
	require.NoError(t, json.Unmarshal(body, &accepted))
	require.Equal(t, 4, accepted.Count)
	require.Len(t, accepted.IgnoredFields, 3, "body: %s", body)
	require.Equal(t, 2, accepted.IgnoredFields[0].Index)
	require.Equal(t, "sorce", accepted.IgnoredFields[0].Field)
	require.Equal(t, 3, accepted.IgnoredFields[1].Index)
	require.Equal(t, "paylod", accepted.IgnoredFields[1].Field)
	require.Equal(t, 3, accepted.IgnoredFields[2].Index)
	require.Equal(t, "timestmp", accepted.IgnoredFields[2].Field)
	waitForEvents(t, a, 4)

	status, _, body = postJSON(t, a, "/api/v1/events/batch", `[{"event_type":"info","source":"typo"}]`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	require.NotContains(t, members(t, body), "ignored_fields", "body: %s", body)
}

// members returns the members of the JSON object in body.
func members(t *testing.T, body []byte) map[string]json.RawMessage {
	t.Helper()

	var object map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &object), "body: %s", body)

	return object
}
