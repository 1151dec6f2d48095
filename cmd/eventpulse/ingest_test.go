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
	require.EqualError(t, err, "invalid start line 3: it needs exactly one input file, got 2")
}

func TestIngestCommandChecksMaxBodyBytes(t *testing.T) {
	t.Parallel()

	_, _, err := runCommand(t, "ingest", "--max-body-bytes", "0", "events.ndjson")
	require.EqualError(t, err, "invalid --max-body-bytes 0: must be at least 1024, the server's minimum")

	stdout, _, err := runCommand(t, "ingest", "--help")
	require.NoError(t, err)
	require.Contains(t, stdout, "A line may be up to --max-body-bytes minus 2 bytes long (8388606 bytes by")
	require.Contains(t, stdout, "--max-body-bytes int")
	require.Contains(t, stdout, "(default 8388608)")
}

func TestIngestCommandInvalidOptionsPrintNoSummary(t *testing.T) {
	t.Parallel()

	stdout, _, err := runCommand(t, "ingest", "--batch-size", "1001", "events.ndjson")
	require.ErrorContains(t, err, "invalid batch size 1001: must be from 1 to 1000")
	require.Empty(t, stdout)
}
