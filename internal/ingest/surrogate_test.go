package ingest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDecodeEventLoneSurrogatePath(t *testing.T) {
	t.Parallel()

	receivedAt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		field  string
		path   []any
		escape string
	}{
		{"payload member", `"payload":{"a":1,"msg":"x\ud800y"}`, []any{"payload", "msg"}, `\ud800`},
		{"nested array", `"payload":{"list":[1,{"k":["ok","\udc00"]}]}`, []any{"payload", "list", 1, "k", 1}, `\udc00`},
		{"second of two", `"payload":{"a":"\ud83d\ude00","b":"\ud83d"}`, []any{"payload", "b"}, `\ud83d`},
		{"member name", `"payload":{"ok":1,"k\udbff":2}`, []any{"payload", "k\ufffd"}, `\udbff`},
		{"metadata", `"metadata":{"trace":"\ud800"}`, []any{"metadata", "trace"}, `\ud800`},
	}

	for _, tc := range cases {
		_, _, err := DecodeEvent([]byte(`{"event_type":"e","source":"s",`+tc.field+`}`), receivedAt)

		var validation *ValidationError
		require.True(t, errors.As(err, &validation), "%s: %v", tc.name, err)
		require.Len(t, validation.Issues, 1, tc.name)
		require.Equal(t, tc.path, validation.Issues[0].Path, tc.name)
		require.Equal(t, "contains the escape "+tc.escape+", half of a UTF-16 surrogate pair, which PostgreSQL rejects",
			validation.Issues[0].Message, tc.name)
	}
}
