package ingest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/ingest"
)

func TestDecodeEventIgnoredFields(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name string
		body string
		want []string
	}{
		{"none", `{"event_type":"e","source":"s","payload":{"paylod":1}}`, nil},
		{"misspelt payload", `{"event_type":"e","source":"s","paylod":{"a":1}}`, []string{"paylod"}},
		{"case differs", `{"Event_Type":"x","event_type":"e","source":"s"}`, []string{"Event_Type"}},
		{"order of appearance", `{"zeta":1,"event_type":"e","alpha":[],"source":"s"}`, []string{"zeta", "alpha"}},
		{"repeated once", `{"extra":1,"event_type":"e","extra":2,"source":"s","extra":3}`, []string{"extra"}},
		{"escaped name decoded", `{"event_type":"e","source":"s","\u00e9t\u00e9":true}`, []string{"été"}},
		{"escaped known field", `{"event_type":"e","\u0073ource":"s"}`, nil},
	}

	for _, tc := range cases {
		event, ignored, err := ingest.DecodeEvent([]byte(tc.body), time.Now())
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, ignored, tc.name)
		require.Equal(t, "e", event.EventType, tc.name)
	}
}

func TestDecodeEventIgnoredFieldKeepsDefaults(t *testing.T) {
	t.Parallel()

	event, ignored, err := ingest.DecodeEvent([]byte(`{"event_type":"e","source":"s","paylod":{"a":1}}`), time.Now())
	require.NoError(t, err)
	require.Equal(t, []string{"paylod"}, ignored)
	require.JSONEq(t, `{}`, string(event.Payload), "the misspelt member is not the payload")
}

func TestDecodeEventInvalidReportsNoIgnored(t *testing.T) {
	t.Parallel()

	_, ignored, err := ingest.DecodeEvent([]byte(`{"event_type":"e","paylod":{}}`), time.Now())
	require.ErrorContains(t, err, "is required")
	require.Nil(t, ignored)
}

func TestDecodeBatchIgnoredFields(t *testing.T) {
	t.Parallel()

	body := `[{"event_type":"e","source":"s"},` +
		`{"event_type":"e","source":"s","paylod":{},"metdata":{},"paylod":1},` +
		`{"event_type":"e","source":"s"},` +
		`{"event_type":"e","source":"s","timestmp":"2024-05-01T12:00:00Z"}]`

	batch, ignored, err := ingest.DecodeBatch([]byte(body), time.Now())
	require.NoError(t, err)
	require.Len(t, batch, 4)
	require.Equal(t, []ingest.IgnoredField{
		{Index: 1, Field: "paylod"},
		{Index: 1, Field: "metdata"},
		{Index: 3, Field: "timestmp"},
	}, ignored)
}

func TestDecodeBatchWithoutIgnoredFields(t *testing.T) {
	t.Parallel()

	batch, ignored, err := ingest.DecodeBatch([]byte(`[{"event_type":"e","source":"s"},{"event_type":"f","source":"s"}]`), time.Now())
	require.NoError(t, err)
	require.Len(t, batch, 2)
	require.Nil(t, ignored)
}

func TestDecodeBatchInvalidReportsNoIgnored(t *testing.T) {
	t.Parallel()

	_, ignored, err := ingest.DecodeBatch([]byte(`[{"event_type":"e","source":"s","paylod":1},{"event_type":""}]`), time.Now())
	require.Error(t, err)
	require.Nil(t, ignored)
}
