package main

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestMain(m *testing.M) { testapp.Main(m) }

// runCommand runs the eventpulse command line with args and returns its
// standard output and error.
func runCommand(t *testing.T, args ...string) (string, string, error) {
	t.Helper()

	var stdout, stderr bytes.Buffer
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(&stdout)
	root.SetErr(&stderr)

	err := root.ExecuteContext(context.Background())

	return stdout.String(), stderr.String(), err
}

func TestReplayCommand(t *testing.T) {
	a := testapp.Start(t, testapp.Options{})
	t.Setenv("DATABASE_URL", a.Config.DatabaseURL)
	t.Setenv("REDIS_URL", a.Config.RedisURL)
	t.Setenv("EVENTPULSE_LOG_LEVEL", "warn")

	body := `[{"event_type":"info","source":"a"},{"event_type":"error","source":"b"}]`
	response, err := http.Post(a.URL+"/api/v1/events/batch", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	require.NoError(t, response.Body.Close())
	require.Equal(t, http.StatusAccepted, response.StatusCode)
	testapp.WaitFor(t, 30*time.Second, "events to be projected", func() bool {
		return a.Count("SELECT count(*) FROM events") == 2
	})

	stdout, stderr, err := runCommand(t, "replay", "events")
	require.NoError(t, err, "stderr: %s", stderr)
	require.Contains(t, stdout, "replayed events: 1 records read, 1 applied")
	require.Contains(t, stderr, "replay events: completed", "plain progress lines off a terminal")
	require.Equal(t, 2, a.Count("SELECT count(*) FROM events"))
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM projection_replays WHERE projection = 'events' AND status = 'completed'`))

	for _, name := range []string{"rules", "anomalies", "metric_rollups", "detector"} {
		stdout, stderr, err := runCommand(t, "replay", name)
		require.NoError(t, err, "stderr: %s", stderr)
		require.Contains(t, stdout, "replayed "+name+": 1 records read")
		require.Equal(t, 1, a.Count(`SELECT count(*) FROM projection_replays WHERE projection = $1 AND status = 'completed'`,
			name))
	}
	require.Equal(t, 2, a.Count(`SELECT sum(count) FROM metric_rollups`), "the rollups count both events")

	_, _, err = runCommand(t, "replay", "nothing")
	require.ErrorContains(t, err, `unknown projection "nothing"`)

	_, _, err = runCommand(t, "replay", "events", "--from", "5")
	require.ErrorContains(t, err, "past the end of the log", "a start after the last record would empty the table")

	head := a.Count(`SELECT max("offset") FROM event_log`)
	_, _, err = runCommand(t, "replay", "events", "--from", strconv.Itoa(head))
	require.ErrorContains(t, err, "at or past the end of the log", "a start at the last record would empty the table")

	for _, name := range []string{"api_keys", "rules"} {
		_, _, err = runCommand(t, "replay", name, "--from", "1")
		require.ErrorContains(t, err, "only replayed from the start of the log", name)
	}
	require.Equal(t, 4, a.Count(`SELECT count(*) FROM projection_replays WHERE projection IN ('rules', 'anomalies', 'metric_rollups', 'detector')`),
		"rejected replays store no state")
	require.Equal(t, 2, a.Count("SELECT count(*) FROM events"), "the live table is untouched")
}

func TestReplayRejectsNegativeFrom(t *testing.T) {
	t.Parallel()

	_, _, err := runCommand(t, "replay", "events", "--from", "-5")
	require.EqualError(t, err, "invalid --from -5: must be a log offset of 0 or more")
}

// TestReplayListsReplayableProjections checks that an unknown name,
// the notifier and the help text list the projections a replay can
// rebuild, and name the notifier only as one it cannot.
func TestReplayListsReplayableProjections(t *testing.T) {
	t.Parallel()

	const replayable = "anomalies, api_keys, detector, events, metric_rollups, rules"
	const notifierReason = "notifier cannot be replayed, because the notifications it records are sent out of the system"

	_, _, err := runCommand(t, "replay", "bogus")
	require.ErrorContains(t, err, `unknown projection "bogus" (replayable projections: `+replayable+"; ")
	require.ErrorContains(t, err, notifierReason)

	_, _, err = runCommand(t, "replay", "notifier")
	require.ErrorContains(t, err, `projection cannot be replayed: "notifier", because the notifications it records`)
	require.ErrorContains(t, err, "(replayable projections: "+replayable+")")

	stdout, _, err := runCommand(t, "replay", "--help")
	require.NoError(t, err)
	require.Contains(t, stdout, "NAME is one of "+replayable+".")
	require.Contains(t, stdout, "The "+notifierReason)
}
