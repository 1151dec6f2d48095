package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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

// runIngestCommand runs the ingest command with stdin as its standard input
// and returns its standard output, standard error and error.
func runIngestCommand(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()

	var stdout, stderr bytes.Buffer
	root := newRootCommand()
	root.SetArgs(append([]string{"ingest"}, args...))
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&stdout)
	root.SetErr(&stderr)

	err := root.ExecuteContext(context.Background())

	return stdout.String(), stderr.String(), err
}

// withoutTiming replaces the duration and the events per second of ingest
// output, which depend on timing, with D and N.
func withoutTiming(output string) string {
	output = regexp.MustCompile(` in \S+ \(\d+ events/s\)`).ReplaceAllString(output, " in D (N events/s)")

	return regexp.MustCompile(`, \d+ events/s`).ReplaceAllString(output, ", N events/s")
}

// TestIngestCommandSplitsRejections sends, from the standard input, 4 valid
// lines (line 10 with a member that events do not have), 2 lines that are
// not JSON objects, 2 events that the server rejects and 2 blank lines.
func TestIngestCommandSplitsRejections(t *testing.T) {
	a := testapp.Start(t, testapp.Options{})

	input := strings.Join([]string{
		`{"event_type":"login","source":"cli"}`,
		`not json`,
		``,
		`{"event_type":"login","source":"cli"}`,
		`{"event_type":"login"}`,
		`[1, 2]`,
		`   `,
		`{"event_type":"login","source":"cli"}`,
		`{"event_type":"","source":"cli"}`,
		`{"event_type":"login","source":"cli","paylod":{}}`,
	}, "\n") + "\n"

	stdout, stderr, err := runIngestCommand(t, input, "--url", a.URL, "-")
	require.EqualError(t, err, "2 events were rejected by the server and 2 lines were rejected before sending")

	require.Equal(t, "ingest: 6 events sent in D (N events/s): 4 accepted, 2 rejected; "+
		"2 more lines rejected before sending, 2 blank lines skipped\n"+
		"-:2: invalid JSON: invalid character 'o' in literal null (expecting 'u')\n"+
		"-:5: source: is required\n"+
		"-:6: not a JSON object\n"+
		"-:9: event_type: must not be empty\n"+
		"ingest: 1 member of an accepted event was ignored, because events have no such member\n"+
		`-:10: warning: member "paylod" was ignored`+"\n",
		withoutTiming(stdout))

	progress := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	require.Equal(t, "ingest: 6 events sent, 4 accepted, 2 rejected, 2 lines rejected before sending, N events/s",
		withoutTiming(progress[len(progress)-1]))
}

func TestIngestCommandErrorNamesOneLine(t *testing.T) {
	t.Parallel()

	_, _, err := runIngestCommand(t, "not json\n", "--url", "http://127.0.0.1:1", "-")
	require.EqualError(t, err, "1 line was rejected before sending")
}

func TestIngestCommandStartLinePastEnd(t *testing.T) {
	t.Parallel()

	file := filepath.Join(t.TempDir(), "events.ndjson")
	lines := strings.Repeat(`{"event_type":"login","source":"cli"}`+"\n", 10)
	require.NoError(t, os.WriteFile(file, []byte(lines), 0o600))

	// Nothing is sent, so no server listens on the URL.
	stdout, stderr, err := runIngestCommand(t, "", "--url", "http://127.0.0.1:1", "--start-line", "99", file)
	require.EqualError(t, err, fmt.Sprintf("error reading file %q: it has 10 lines, so it has no start line 99", file))
	require.Equal(t, "ingest: 0 events sent in D (N events/s): 0 accepted, 0 rejected\n", withoutTiming(stdout))
	require.Equal(t, "ingest: 0 events sent, 0 accepted, 0 rejected, N events/s, 0% of input done\n", withoutTiming(stderr))
}
