package ingest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDecodeEventTimestampCase(t *testing.T) {
	t.Parallel()

	requireTimestamps(t, []timestampCase{
		{"2024-05-01t12:00:00.5z", time.Date(2024, 5, 1, 12, 0, 0, 500_000_000, time.UTC)},
		{"2024-05-01t14:00:00+02:00", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)},
		{"2024-05-01T12:00:00z", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)},
	}, []string{"2024-05-01x12:00:00Z", "2024-05-01t12:00:00", "2024-05-01"})
}

func TestDecodeEventTimestampOffsetRange(t *testing.T) {
	t.Parallel()

	requireTimestamps(t, []timestampCase{
		{"2024-05-01T23:59:00+23:59", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"2024-05-01T00:00:00-23:00", time.Date(2024, 5, 1, 23, 0, 0, 0, time.UTC)},
		{"2024-05-01T12:00:00.123456+00:00", time.Date(2024, 5, 1, 12, 0, 0, 123_456_000, time.UTC)},
	}, []string{
		"2024-05-01T12:00:00+24:00", "2024-05-01T12:00:00-24:00", "2024-05-01T12:00:00+05:60",
		"2024-05-01T12:00:00.25+23:60", "2024-05-01T12:00:00,5Z",
	})
}

// timestampCase is an event timestamp and the time it decodes to.
type timestampCase struct {
	timestamp string
	want      time.Time
}

// requireTimestamps decodes an event with each timestamp of valid and of
// invalid, and checks the time of each valid one and the RFC 3339 error
// of each invalid one.
func requireTimestamps(t *testing.T, valid []timestampCase, invalid []string) {
	t.Helper()

	receivedAt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	decode := func(timestamp string) (time.Time, error) {
		event, _, err := DecodeEvent([]byte(`{"event_type":"e","source":"s","timestamp":"`+timestamp+`"}`), receivedAt)
		return event.Timestamp, err
	}

	for _, tc := range valid {
		got, err := decode(tc.timestamp)
		require.NoError(t, err, tc.timestamp)
		require.Equal(t, tc.want, got, tc.timestamp)
	}

	for _, timestamp := range invalid {
		_, err := decode(timestamp)
		require.ErrorContains(t, err, "RFC 3339", timestamp)
	}
}
