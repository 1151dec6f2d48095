package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIngestCommandRejectsZeroFlags(t *testing.T) {
	t.Parallel()

	_, _, err := runCommand(t, "ingest", "--batch-size", "0", "events.ndjson")
	require.EqualError(t, err, "invalid --batch-size 0: must be from 1 to 1000")

	_, _, err = runCommand(t, "ingest", "--concurrency", "0", "events.ndjson")
	require.EqualError(t, err, "invalid --concurrency 0: must be at least 1")
}

func TestIngestCommandRejectsNegativeRetries(t *testing.T) {
	t.Parallel()

	_, _, err := runCommand(t, "ingest", "--retries", "-1", "events.ndjson")
	require.EqualError(t, err, "invalid --retries -1: must be at least 0")
}

func TestIngestCommandChecksStartLine(t *testing.T) {
	t.Parallel()

	_, _, err := runCommand(t, "ingest", "--start-line", "0", "events.ndjson")
	require.EqualError(t, err, "invalid --start-line 0: must be at least 1")

	_, _, err = runCommand(t, "ingest", "--start-line", "3", "a.ndjson", "b.ndjson")
	require.EqualError(t, err, "invalid --start-line 3: it applies to one FILE, got 2")
}
