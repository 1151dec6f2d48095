package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/stretchr/testify/require"
)

// logLines decodes the JSON lines in buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()

	var lines []map[string]any
	for line := range bytes.Lines(buf.Bytes()) {
		var record map[string]any
		require.NoError(t, json.Unmarshal(line, &record))
		lines = append(lines, record)
	}

	return lines
}

func TestWatermillLevels(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	adapter := Watermill(New(&buf, slog.LevelDebug))

	adapter.Trace("trace line", watermill.LogFields{"n": 1})
	adapter.Debug("debug line", watermill.LogFields{"topic": "events"})
	adapter.Info("info line", nil)
	adapter.Error("error line", errors.New("broken pipe"), watermill.LogFields{"handler": "h"})

	lines := logLines(t, &buf)
	require.Len(t, lines, 3, "the Trace line is below Debug")

	require.Equal(t, "debug line", lines[0]["msg"])
	require.Equal(t, "DEBUG", lines[0]["level"])
	require.Equal(t, "events", lines[0]["topic"])
	require.Equal(t, "watermill", lines[0]["component"])

	require.Equal(t, "info line", lines[1]["msg"])
	require.Equal(t, "DEBUG", lines[1]["level"], "Info is lowered to Debug")

	require.Equal(t, "error line", lines[2]["msg"])
	require.Equal(t, "ERROR", lines[2]["level"])
	require.Equal(t, "broken pipe", lines[2]["error"])
	require.Equal(t, "h", lines[2]["handler"])
}

func TestWatermillWithFields(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	adapter := Watermill(New(&buf, slog.LevelInfo)).With(watermill.LogFields{"subscriber": "s1"})

	adapter.Debug("dropped", nil)
	adapter.Error("failed", errors.New("timeout"), nil)

	lines := logLines(t, &buf)
	require.Len(t, lines, 1, "Debug is below Info")
	require.Equal(t, "s1", lines[0]["subscriber"])
	require.Equal(t, "timeout", lines[0]["error"])
}

func BenchmarkWatermillTrace(b *testing.B) {
	adapter := Watermill(New(&bytes.Buffer{}, slog.LevelInfo))
	fields := watermill.LogFields{"message_uuid": "0b5d", "topic": "event_log"}
	b.ReportAllocs()

	for b.Loop() {
		adapter.Trace("message received", fields)
	}
}

func TestWatermillDropsRepeatedErrors(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	adapter := Watermill(New(&buf, slog.LevelDebug))
	child := adapter.With(watermill.LogFields{"consumer_group": "g"})
	refused := errors.New("connection refused")

	adapter.Error("read fail", refused, nil)
	child.Error("read fail", refused, nil)
	adapter.Error("read fail", refused, nil)
	adapter.Error("read fail", errors.New("timeout"), nil)
	adapter.Error("ack fail", refused, nil)

	lines := logLines(t, &buf)
	require.Len(t, lines, 3, "the two repeats of the first line are dropped")
	require.Equal(t, "connection refused", lines[0]["error"])
	require.Equal(t, "timeout", lines[1]["error"])
	require.Equal(t, "ack fail", lines[2]["msg"])
}

func TestRepeatsCountsDroppedLines(t *testing.T) {
	t.Parallel()

	r := newRepeats()
	start := time.Unix(1000, 0)

	write, dropped := r.admit("k", start)
	require.True(t, write)
	require.Zero(t, dropped)

	for i := range 3 {
		write, _ = r.admit("k", start.Add(time.Duration(i+1)*time.Second))
		require.False(t, write)
	}

	write, dropped = r.admit("k", start.Add(repeatWindow))
	require.True(t, write)
	require.Equal(t, 3, dropped)
}
