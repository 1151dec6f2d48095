package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/testapp"
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

func TestIngestCommandUnauthorizedNamesVariable(t *testing.T) {
	a := testapp.Start(t, testapp.Options{})
	t.Setenv("EVENTPULSE_URL", a.URL)

	id, key, err := auth.CreateKey(context.Background(), a.Pool, "ingest-cli", []auth.Scope{auth.ScopeIngest}, "test")
	require.NoError(t, err)
	testapp.RegisterSecret(key)
	testapp.WaitFor(t, 30*time.Second, "key projected", func() bool {
		return a.Count("SELECT count(*) FROM api_keys WHERE key_id = $1", id) == 1
	})
	time.Sleep(auth.CacheTTLDefault)

	file := filepath.Join(t.TempDir(), "events.ndjson")
	require.NoError(t, os.WriteFile(file, []byte(`{"event_type":"login","source":"cli"}`+"\n"), 0o600))
	endpoint := a.URL + "/api/v1/events/batch"

	t.Setenv("EVENTPULSE_API_KEY", "")
	_, _, err = runCommand(t, "ingest", file)
	require.EqualError(t, err, fmt.Sprintf("error sending batch to %q: the server requires an API key "+
		"(401 Unauthorized): set EVENTPULSE_API_KEY to a key with the ingest scope", endpoint))

	t.Setenv("EVENTPULSE_API_KEY", "ep_00000000000000000000000000000000_wrong")
	_, _, err = runCommand(t, "ingest", file)
	require.EqualError(t, err, fmt.Sprintf("error sending batch to %q: the server rejected the key in "+
		"EVENTPULSE_API_KEY with 401 Unauthorized (invalid or revoked API key): "+
		"set EVENTPULSE_API_KEY to a key with the ingest scope", endpoint))

	t.Setenv("EVENTPULSE_API_KEY", key)
	stdout, stderr, err := runCommand(t, "ingest", file)
	require.NoError(t, err, "stderr: %s", stderr)
	require.NotContains(t, stdout+stderr, key)
}
