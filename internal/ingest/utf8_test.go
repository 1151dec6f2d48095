package ingest_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/ingest"
)

// utf8Issue is the issue of a string with invalid UTF-8 whose first
// invalid byte b is at offset in its event.
func utf8Issue(path []any, b byte, offset int) ingest.Issue {
	return ingest.Issue{
		Path:    path,
		Message: fmt.Sprintf("is not valid UTF-8 (byte 0x%02X at offset %d of the event)", b, offset),
		Code:    ingest.CodeInvalidJSON,
	}
}

func utf8KeyIssue(path []any, b byte, offset int) ingest.Issue {
	issue := utf8Issue(path, b, offset)
	issue.Message = "key " + issue.Message

	return issue
}

func wholeBodyUTF8Issue(b byte, offset int) ingest.Issue {
	return ingest.Issue{
		Path:    []any{},
		Message: fmt.Sprintf("body is not valid UTF-8 (byte 0x%02X at offset %d)", b, offset),
		Code:    ingest.CodeInvalidJSON,
	}
}

func validationIssues(t *testing.T, err error) []ingest.Issue {
	t.Helper()

	var validationErr *ingest.ValidationError
	require.True(t, errors.As(err, &validationErr), "error %v is not a *ValidationError", err)

	return validationErr.Issues
}

const validItem = `{"event_type":"e","source":"s"}`

func TestDecodeBatchInvalidUTF8Issues(t *testing.T) {
	t.Parallel()

	now := time.Now().UTC()

	cases := []struct {
		name   string
		body   string
		issues []ingest.Issue
	}{
		{
			name:   "payload string of the second item",
			body:   "[" + validItem + ",{\"event_type\":\"a\",\"source\":\"b\",\"payload\":{\"x\":\"\xff\"}}]",
			issues: []ingest.Issue{utf8Issue([]any{1, "payload", "x"}, 0xFF, len(`{"event_type":"a","source":"b","payload":{"x":"`))},
		},
		{
			name: "every bad item named",
			body: "[{\"event_type\":\"caf\xe9\",\"source\":\"s\"}," + validItem + "," +
				"{\"event_type\":\"e\",\"source\":\"s\",\"metadata\":{\"host\":\"w\xfeb\"}}]",
			issues: []ingest.Issue{
				utf8Issue([]any{0, "event_type"}, 0xE9, len(`{"event_type":"caf`)),
				utf8Issue([]any{2, "metadata", "host"}, 0xFE, len(`{"event_type":"e","source":"s","metadata":{"host":"w`)),
			},
		},
		{
			name:   "member name in payload",
			body:   "[" + validItem + ",{\"event_type\":\"e\",\"source\":\"s\",\"payload\":{\"k\xc0\":1}}]",
			issues: []ingest.Issue{utf8KeyIssue([]any{1, "payload", "k\uFFFD"}, 0xC0, len(`{"event_type":"e","source":"s","payload":{"k`))},
		},
		{
			name: "string in a nested array",
			body: "[{\"event_type\":\"e\",\"source\":\"s\",\"payload\":{\"l\":[1,{\"k\":[\"ok\",\"\xc3\x28\"]}]}}]",
			issues: []ingest.Issue{
				utf8Issue([]any{0, "payload", "l", 1, "k", 1}, 0xC3, len(`{"event_type":"e","source":"s","payload":{"l":[1,{"k":["ok","`)),
			},
		},
		{
			name: "first of two bad strings in one item",
			body: "[" + validItem + ",{\"event_type\":\"e\",\"source\":\"s\",\"payload\":{\"a\":\"\xff\",\"b\":\"\xfe\"}}]",
			issues: []ingest.Issue{
				utf8Issue([]any{1, "payload", "a"}, 0xFF, len(`{"event_type":"e","source":"s","payload":{"a":"`)),
			},
		},
		{
			name: "truncated sequence",
			body: "[{\"event_type\":\"e\",\"source\":\"s\",\"payload\":{\"euro\":\"\xe2\x82\"}}]",
			issues: []ingest.Issue{
				utf8Issue([]any{0, "payload", "euro"}, 0xE2, len(`{"event_type":"e","source":"s","payload":{"euro":"`)),
			},
		},
		{
			name: "offset counted from the item after white space",
			body: "[ \n " + validItem + ",\n  {\"event_type\":\"e\",\"source\":\"\xff\"}]",
			issues: []ingest.Issue{
				utf8Issue([]any{1, "source"}, 0xFF, len(`{"event_type":"e","source":"`)),
			},
		},
		{
			name: "other issues of the batch listed in item order",
			body: "[{\"event_type\":\"e\"}," + "{\"event_type\":\"\xff\"}]",
			issues: []ingest.Issue{
				{Path: []any{0, "source"}, Message: "is required", Code: ingest.CodeRequired},
				utf8Issue([]any{1, "event_type"}, 0xFF, len(`{"event_type":"`)),
				{Path: []any{1, "source"}, Message: "is required", Code: ingest.CodeRequired},
			},
		},
		{
			name: "misspelt member name is also missing",
			body: "[{\"event_type\":\"e\",\"sour\xffce\":\"s\"}]",
			issues: []ingest.Issue{
				utf8KeyIssue([]any{0, "sour\uFFFDce"}, 0xFF, len(`{"event_type":"e","sour`)),
				{Path: []any{0, "source"}, Message: "is required", Code: ingest.CodeRequired},
			},
		},
		{
			name:   "byte between items",
			body:   "[" + validItem + "\xff," + validItem + "]",
			issues: []ingest.Issue{wholeBodyUTF8Issue(0xFF, len("["+validItem))},
		},
		{
			name: "body that is not an array",
			body: "{\"event_type\":\"\xff\",\"source\":\"s\"}",
			issues: []ingest.Issue{
				wholeBodyUTF8Issue(0xFF, len(`{"event_type":"`)),
				{Path: []any{}, Message: "must be a JSON array of events", Code: ingest.CodeInvalidType},
			},
		},
		{
			name:   "malformed JSON besides",
			body:   "[{\"event_type\":\"\xff\",\"source\":\"s\"",
			issues: []ingest.Issue{wholeBodyUTF8Issue(0xFF, len(`[{"event_type":"`))},
		},
		{
			name:   "byte after a backslash",
			body:   "[{\"event_type\":\"\\\xff\",\"source\":\"s\"}]",
			issues: []ingest.Issue{wholeBodyUTF8Issue(0xFF, len(`[{"event_type":"\`))},
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			batch, ignored, err := ingest.DecodeBatch([]byte(tc.body), now)
			require.Error(t, err)
			require.Nil(t, batch)
			require.Nil(t, ignored)
			require.Equal(t, tc.issues, validationIssues(t, err))
		})
	}
}

func TestDecodeEventInvalidUTF8Issues(t *testing.T) {
	t.Parallel()

	now := time.Now().UTC()

	cases := []struct {
		name   string
		body   string
		issues []ingest.Issue
	}{
		{
			name:   "payload string",
			body:   "{\"event_type\":\"a\",\"source\":\"b\",\"payload\":{\"x\":\"\xff\"}}",
			issues: []ingest.Issue{utf8Issue([]any{"payload", "x"}, 0xFF, len(`{"event_type":"a","source":"b","payload":{"x":"`))},
		},
		{
			name:   "event_type",
			body:   "{\"event_type\":\"caf\xe9\",\"source\":\"s\"}",
			issues: []ingest.Issue{utf8Issue([]any{"event_type"}, 0xE9, len(`{"event_type":"caf`))},
		},
		{
			name: "metadata string in a nested array",
			body: "{\"event_type\":\"e\",\"source\":\"s\",\"metadata\":{\"tags\":[\"a\",[\"\xa0\"]]}}",
			issues: []ingest.Issue{
				utf8Issue([]any{"metadata", "tags", 1, 0}, 0xA0, len(`{"event_type":"e","source":"s","metadata":{"tags":["a",["`)),
			},
		},
		{
			name: "member name of the event",
			body: "{\"event_type\":\"e\",\"sour\xffce\":\"s\"}",
			issues: []ingest.Issue{
				utf8KeyIssue([]any{"sour\uFFFDce"}, 0xFF, len(`{"event_type":"e","sour`)),
				{Path: []any{"source"}, Message: "is required", Code: ingest.CodeRequired},
			},
		},
		{
			name:   "offset counted from the opening brace",
			body:   "  {\"event_type\":\"e\",\"source\":\"s\",\"payload\":{\"k\":\"\xff\"}}",
			issues: []ingest.Issue{utf8Issue([]any{"payload", "k"}, 0xFF, len(`{"event_type":"e","source":"s","payload":{"k":"`))},
		},
		{
			name:   "byte after the event",
			body:   validItem + "\xff",
			issues: []ingest.Issue{wholeBodyUTF8Issue(0xFF, len(validItem))},
		},
		{
			name: "body that is not an object",
			body: "[\"\xff\"]",
			issues: []ingest.Issue{
				wholeBodyUTF8Issue(0xFF, 2),
				{Path: []any{}, Message: "must be a JSON object", Code: ingest.CodeInvalidType},
			},
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			_, ignored, err := ingest.DecodeEvent([]byte(tc.body), now)
			require.Error(t, err)
			require.Nil(t, ignored)
			require.Equal(t, tc.issues, validationIssues(t, err))
		})
	}
}

// TestDecodeValidUTF8Unchanged checks that multi-byte characters and
// escapes of them decode as before, byte for byte.
func TestDecodeValidUTF8Unchanged(t *testing.T) {
	t.Parallel()

	now := time.Now().UTC()
	event := `{"event_type":"café","source":"東京","payload":{"city":"Zürich 🚀","escaped":"caf\u00e9 \ud83d\ude80"}}`

	single, ignored, err := ingest.DecodeEvent([]byte(event), now)
	require.NoError(t, err)
	require.Nil(t, ignored)
	require.Equal(t, "café", single.EventType)
	require.Equal(t, "東京", single.Source)
	require.Equal(t, `{"city":"Zürich 🚀","escaped":"caf\u00e9 \ud83d\ude80"}`, string(single.Payload))

	batch, batchIgnored, err := ingest.DecodeBatch([]byte("["+validItem+","+event+"]"), now)
	require.NoError(t, err)
	require.Nil(t, batchIgnored)
	require.Len(t, batch, 2)
	require.Equal(t, "café", batch[1].EventType)
	require.Equal(t, single.Payload, batch[1].Payload)
}
