package ingest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/ingest"
)

func firstIssuePath(t *testing.T, err error) []any {
	t.Helper()

	var validationErr *ingest.ValidationError
	require.True(t, errors.As(err, &validationErr), "error %v is not a *ValidationError", err)
	require.NotEmpty(t, validationErr.Issues)

	return validationErr.Issues[0].Path
}

func TestDecodeBatchNestedIssuePaths(t *testing.T) {
	t.Parallel()

	now := time.Now().UTC()
	deep := strings.Repeat(`{"d":`, ingest.MaxDepth+1) + `1` + strings.Repeat(`}`, ingest.MaxDepth+1)

	cases := []struct {
		name string
		body string
		path []any
	}{
		{"NUL inside array in payload", `[{"event_type":"e","source":"s"},` +
			`{"event_type":"e","source":"s","payload":{"a":[1,{"k":"x\u0000"}]}}]`, []any{1, "payload", "a", 1, "k"}},
		{"NUL in nested metadata key", `[{"event_type":"e","source":"s","metadata":{"o":{"b\u0000":true}}}]`,
			[]any{0, "metadata", "o", "b\x00"}},
		{"number in array too large", `[{"event_type":"e","source":"s","payload":{"n":[0,1e200000]}}]`,
			[]any{0, "payload", "n", 1}},
		{"too deep", `[{"event_type":"e","source":"s","payload":` + deep + `}]`,
			append([]any{0, "payload"}, repeat("d", ingest.MaxDepth)...)},
		{"bad source of second item", `[{"event_type":"e","source":"s"},{"event_type":"e","source":""}]`,
			[]any{1, "source"}},
	}

	for _, tc := range cases {
		_, _, err := ingest.DecodeBatch([]byte(tc.body), now)
		require.Error(t, err, tc.name)
		require.Equal(t, tc.path, firstIssuePath(t, err), tc.name)
	}
}

func TestDecodeEventNestedIssuePath(t *testing.T) {
	t.Parallel()

	_, _, err := ingest.DecodeEvent([]byte(`{"event_type":"e","source":"s","payload":{"a":{"b":["ok","\u0000"]}}}`), time.Now())
	require.Error(t, err)
	require.Equal(t, []any{"payload", "a", "b", 1}, firstIssuePath(t, err))
}

func TestDecodeEventValidKeepsPayload(t *testing.T) {
	t.Parallel()

	event, _, err := ingest.DecodeEvent([]byte(`{"event_type":"e","source":"s","payload":{"a":[1,{"k":"v"}]}}`), time.Now())
	require.NoError(t, err)
	require.JSONEq(t, `{"a":[1,{"k":"v"}]}`, string(event.Payload))
	require.Equal(t, "e", event.EventType)
	require.Equal(t, "s", event.Source)
}

func repeat(element any, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = element
	}

	return out
}
