package metricrollups

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
)

func TestBucketStart(t *testing.T) {
	t.Parallel()

	cases := []struct {
		in, want string
	}{
		{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"},
		{"2024-01-01T00:00:09.999999Z", "2024-01-01T00:00:00Z"},
		{"2024-01-01T00:00:10Z", "2024-01-01T00:00:10Z"},
		{"2024-01-01T02:00:15+02:00", "2024-01-01T00:00:10Z"},
		{"1969-12-31T23:59:55Z", "1969-12-31T23:59:50Z"},
		{"1900-06-01T12:34:56.5Z", "1900-06-01T12:34:50Z"},
	}

	for _, tc := range cases {
		in, err := time.Parse(time.RFC3339Nano, tc.in)
		require.NoError(t, err)

		got := BucketStart(in)
		require.Equal(t, tc.want, got.Format(time.RFC3339Nano), tc.in)
		require.Zero(t, got.Unix()%10, tc.in)
		require.Equal(t, time.UTC, got.Location(), tc.in)
	}
}

func TestAggregateCountsAndSorts(t *testing.T) {
	t.Parallel()

	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	event := func(offset time.Duration, eventType, source string) events.IngestedEvent {
		return events.IngestedEvent{Timestamp: base.Add(offset), EventType: eventType, Source: source}
	}

	rows := Aggregate([]events.IngestedEvent{
		event(15*time.Second, "info", "api"),
		event(time.Second, "info", "db"),
		event(2*time.Second, "info", "api"),
		event(9*time.Second, "error", "api"),
		event(3*time.Second, "info", "api"),
		event(10*time.Second, "info", "api"),
	})

	require.Equal(t, []Row{
		{BucketStart: base, EventType: "error", Source: "api", Count: 1},
		{BucketStart: base, EventType: "info", Source: "api", Count: 2},
		{BucketStart: base, EventType: "info", Source: "db", Count: 1},
		{BucketStart: base.Add(10 * time.Second), EventType: "info", Source: "api", Count: 2},
	}, rows)
	require.Empty(t, Aggregate(nil))
}
