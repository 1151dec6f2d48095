package ingest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDecodeEventTimestampCase(t *testing.T) {
	t.Parallel()

	receivedAt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		timestamp string
		want      time.Time
	}{
		{"2024-05-01t12:00:00.5z", time.Date(2024, 5, 1, 12, 0, 0, 500_000_000, time.UTC)},
		{"2024-05-01t14:00:00+02:00", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)},
		{"2024-05-01T12:00:00z", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)},
	}

	for _, tc := range cases {
		event, _, err := DecodeEvent([]byte(`{"event_type":"e","source":"s","timestamp":"`+tc.timestamp+`"}`), receivedAt)
		require.NoError(t, err, tc.timestamp)
		require.Equal(t, tc.want, event.Timestamp, tc.timestamp)
	}

	for _, bad := range []string{"2024-05-01x12:00:00Z", "2024-05-01t12:00:00", "2024-05-01"} {
		_, _, err := DecodeEvent([]byte(`{"event_type":"e","source":"s","timestamp":"`+bad+`"}`), receivedAt)
		require.ErrorContains(t, err, "RFC 3339", bad)
	}
}

func TestDecodeEventTimestampOffsetRange(t *testing.T) {
	t.Parallel()

	receivedAt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, bad := range []string{"2024-05-01T12:00:00+24:00", "2024-05-01T12:00:00-24:00", "2024-05-01T12:00:00+05:60", "2024-05-01T12:00:00.25+23:60", "2024-05-01T12:00:00,5Z"} {
		_, _, err := DecodeEvent([]byte(`{"event_type":"e","source":"s","timestamp":"`+bad+`"}`), receivedAt)
		require.ErrorContains(t, err, "RFC 3339", bad)
	}

	cases := []struct {
		timestamp string
		want      time.Time
	}{
		{"2024-05-01T23:59:00+23:59", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"2024-05-01T00:00:00-23:00", time.Date(2024, 5, 1, 23, 0, 0, 0, time.UTC)},
		{"2024-05-01T12:00:00.123456+00:00", time.Date(2024, 5, 1, 12, 0, 0, 123_456_000, time.UTC)},
	}
	for _, tc := range cases {
		event, _, err := DecodeEvent([]byte(`{"event_type":"e","source":"s","timestamp":"`+tc.timestamp+`"}`), receivedAt)
		require.NoError(t, err, tc.timestamp)
		require.Equal(t, tc.want, event.Timestamp, tc.timestamp)
	}
}
