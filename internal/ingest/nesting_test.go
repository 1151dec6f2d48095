package ingest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/ingest"
)

// nestedObjects returns levels objects nested in one another under the
// member name key, with 1 at the bottom.
func nestedObjects(key string, levels int) string {
	return strings.Repeat(`{"`+key+`":`, levels) + "1" + strings.Repeat("}", levels)
}

// nestedArrays returns levels arrays nested in one another, with 1 at the
// bottom.
func nestedArrays(levels int) string {
	return strings.Repeat("[", levels) + "1" + strings.Repeat("]", levels)
}

func onlyIssue(t *testing.T, err error) ingest.Issue {
	t.Helper()

	var validationErr *ingest.ValidationError
	require.True(t, errors.As(err, &validationErr), "error %v is not a *ValidationError", err)
	require.Len(t, validationErr.Issues, 1, "issues: %+v", validationErr.Issues)

	return validationErr.Issues[0]
}

func TestDecodeDeepNestingIsTooBig(t *testing.T) {
	t.Parallel()

	now := time.Now().UTC()
	event := func(fields string) string {
		return `{"event_type":"e","source":"s",` + fields + `}`
	}
	const tooDeep = "nests objects and arrays deeper than 32 levels"
	const pastDecoder = "nests objects and arrays deeper than 10000 levels, counted from the start of the body"

	cases := []struct {
		name    string
		batch   bool
		body    string
		path    []any
		message string
	}{
		{"payload 100000 levels", false, event(`"payload":` + nestedObjects("a", 100_000)),
			append([]any{"payload"}, repeat("a", ingest.MaxDepth)...), tooDeep},
		{"payload 10001 levels", false, event(`"payload":` + nestedObjects("a", 10_001)),
			append([]any{"payload"}, repeat("a", ingest.MaxDepth)...), tooDeep},
		{"metadata arrays in a batch item", true,
			`[` + event(`"payload":{}`) + `,` + event(`"metadata":{"list":`+nestedArrays(20_000)+`}`) + `]`,
			append([]any{1, "metadata", "list"}, repeat(0, ingest.MaxDepth-1)...), tooDeep},
		{"escaped quotes and brackets in names", false,
			event(`"payload":{"s":"[{\"[","k\"[{":` + nestedObjects(`b\"]`, 30_000) + `}`),
			append([]any{"payload", "k\"[{"}, repeat("b\"]", ingest.MaxDepth-1)...), tooDeep},
		{"second element of an array", false, event(`"payload":{"l":[1,` + nestedArrays(20_000) + `]}`),
			append([]any{"payload", "l", 1}, repeat(0, ingest.MaxDepth-2)...), tooDeep},
		{"member that is not a field", false, event(`"extra":` + nestedArrays(20_000)), []any{"extra"}, pastDecoder},
		{"member that is not a field in a batch", true, `[` + event(`"x":`+nestedArrays(20_000)) + `]`,
			[]any{0, "x"}, pastDecoder},
		{"batch item that is an array", true, `[` + event(`"payload":{}`) + `,` + nestedArrays(20_000) + `]`,
			[]any{1}, pastDecoder},
		{"batch that is an object", true, nestedObjects("a", 20_000), []any{}, pastDecoder},
		{"body that is an array", false, nestedArrays(20_000), []any{}, pastDecoder},
	}

	for _, tc := range cases {
		var err error
		if tc.batch {
			_, _, err = ingest.DecodeBatch([]byte(tc.body), now)
		} else {
			_, _, err = ingest.DecodeEvent([]byte(tc.body), now)
		}

		issue := onlyIssue(t, err)
		require.Equal(t, tc.path, issue.Path, tc.name)
		require.Equal(t, tc.message, issue.Message, tc.name)
		require.Equal(t, ingest.CodeTooBig, issue.Code, tc.name)
	}
}

func TestDecodeDeepNestingMatchesShallow(t *testing.T) {
	t.Parallel()

	now := time.Now().UTC()
	body := func(levels int) []byte {
		return []byte(`{"event_type":"e","source":"s","payload":` + nestedObjects("a", levels) + `}`)
	}

	_, _, shallowErr := ingest.DecodeEvent(body(ingest.MaxDepth+1), now)
	_, _, deepErr := ingest.DecodeEvent(body(100_000), now)

	require.Equal(t, onlyIssue(t, shallowErr), onlyIssue(t, deepErr))
}

func TestDecodeDeepNestingAfterSyntaxError(t *testing.T) {
	t.Parallel()

	body := `{"event_type":"e","source":"s",,"payload":` + nestedObjects("a", 20_000) + `}`
	_, _, err := ingest.DecodeEvent([]byte(body), time.Now())

	issue := onlyIssue(t, err)
	require.Equal(t, []any{}, issue.Path)
	require.Equal(t, ingest.CodeInvalidJSON, issue.Code)
	require.Equal(t, "malformed JSON at byte 32: invalid character ',' looking for beginning of object key string",
		issue.Message)
}
