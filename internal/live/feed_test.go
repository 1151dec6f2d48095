package live

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
)

func TestNewAnomalyCutsTimesToMicroseconds(t *testing.T) {
	t.Parallel()

	at := time.Date(2026, 12, 5, 6, 30, 0, 123456789, time.FixedZone("CET", 3600))
	message := newAnomaly(events.AnomalyDetected{DetectedAt: at, WindowStart: at.Add(-time.Minute), WindowEnd: at})

	want := time.Date(2026, 12, 5, 5, 30, 0, 123456000, time.UTC)
	require.Equal(t, want, message.DetectedAt)
	require.Equal(t, want.Add(-time.Minute), message.WindowStart)
	require.Equal(t, want, message.WindowEnd)
}
