package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/ingestclient"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestIngestCLIRealLogs(t *testing.T) {
	t.Parallel()

	dir := dataDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	require.NoError(t, err)
	require.Len(t, files, 5)

	a := testapp.Start(t, testapp.Options{})
	var progress bytes.Buffer

	summary, err := ingestclient.Run(context.Background(), ingestclient.Options{URL: a.URL, Files: files, Progress: &progress})
	require.NoError(t, err)
	require.True(t, summary.OK(), "rejections: %v", summary.Rejections)
	require.Equal(t, 10000, summary.Accepted)
	waitForEvents(t, a, 10000)

	list, err := a.Client.ListEvents(context.Background(), oas.ListEventsParams{
		Source: oas.NewOptString("apache/apache"),
		Limit:  oas.NewOptInt(5),
	})
	require.NoError(t, err)
	require.Len(t, list.Data, 5)

	newest := time.Date(2005, 12, 5, 19, 15, 57, 0, time.UTC)
	require.Equal(t, newest, list.Data[0].Timestamp.UTC(), "original timestamps are kept")
	for i := 1; i < len(list.Data); i++ {
		require.False(t, list.Data[i].Timestamp.After(list.Data[i-1].Timestamp), "newest first")
	}
	require.Equal(t, list.Data[0].Timestamp, list.Data[0].Timestamp.UTC())

	summary, err = ingestclient.Run(context.Background(), ingestclient.Options{URL: a.URL, Files: files, Progress: &progress})
	require.NoError(t, err)
	require.Equal(t, 10000, summary.Accepted)

	time.Sleep(time.Second)
	testapp.WaitFor(t, 30*time.Second, "projection to catch up", func() bool {
		return a.Count(`SELECT count(*) FROM event_log_offsets o
			WHERE (o.last_processed_transaction_id, o.offset_acked) < (
				SELECT transaction_id, "offset" FROM event_log
				ORDER BY transaction_id DESC, "offset" DESC LIMIT 1)`) == 0
	})
	require.Equal(t, 10000, a.Count("SELECT count(*) FROM events"), "sending the files again stores nothing new")
}

// TestIngestCLIKeepsFileOrder checks that the default options append every
// file's events to the log in file order, even with several files in flight.
func TestIngestCLIKeepsFileOrder(t *testing.T) {
	t.Parallel()

	files, err := filepath.Glob(filepath.Join(dataDir(t), "*.ndjson"))
	require.NoError(t, err)
	require.Len(t, files, 5)

	a := testapp.Start(t, testapp.Options{})

	summary, err := ingestclient.Run(context.Background(), ingestclient.Options{URL: a.URL, Files: files})
	require.NoError(t, err)
	require.True(t, summary.OK(), "rejections: %v", summary.Rejections)
	waitForEvents(t, a, 10000)

	fileOf := map[uuid.UUID]string{}
	expected := map[string][]uuid.UUID{}
	for _, file := range files {
		for _, id := range eventIDsOfFile(t, file) {
			fileOf[id] = file
			expected[file] = append(expected[file], id)
		}
	}

	logged := map[string][]uuid.UUID{}
	for _, id := range loggedEventIDs(t, a) {
		file, ok := fileOf[id]
		require.True(t, ok, "event %s of the log is in no input file", id)
		logged[file] = append(logged[file], id)
	}

	for _, file := range files {
		require.Equal(t, expected[file], logged[file], "log order of %s", filepath.Base(file))
	}
}

// eventIDsOfFile returns the event_id of each line of an NDJSON file, in
// file order.
func eventIDsOfFile(t *testing.T, file string) []uuid.UUID {
	t.Helper()

	data, err := os.ReadFile(file)
	require.NoError(t, err)

	var ids []uuid.UUID
	for line := range bytes.Lines(data) {
		var event struct {
			EventID uuid.UUID `json:"event_id"`
		}
		require.NoError(t, json.Unmarshal(line, &event), "line of %s", file)
		require.NotEqual(t, uuid.Nil, event.EventID, "every line of %s has an event_id", file)
		ids = append(ids, event.EventID)
	}

	return ids
}

// loggedEventIDs returns the ids of the events of every EventsIngested
// record, in log order.
func loggedEventIDs(t *testing.T, a *testapp.App) []uuid.UUID {
	t.Helper()

	rows, err := a.Pool.Query(context.Background(), `
		SELECT payload FROM event_log
		WHERE metadata->>'name' = $1
		ORDER BY transaction_id, "offset"`, events.EventsIngestedName)
	require.NoError(t, err)

	payloads, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	require.NoError(t, err)

	var ids []uuid.UUID
	for _, payload := range payloads {
		var record events.EventsIngested
		require.NoError(t, json.Unmarshal(payload, &record))

		for _, event := range record.Events {
			ids = append(ids, event.EventID)
		}
	}

	return ids
}

// TestIngestCLIListsIgnoredMembers sends a file with a misspelt member.
// The line is stored, and the summary lists the member as a warning.
func TestIngestCLIListsIgnoredMembers(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	file := filepath.Join(t.TempDir(), "typo.ndjson")
	require.NoError(t, os.WriteFile(file, []byte(
		`{"event_type":"e","source":"s"}`+"\n"+
			`{"event_type":"e","source":"s","paylod":{"a":1},"sorce":"x"}`+"\n"), 0o600))

	summary, err := ingestclient.Run(context.Background(), ingestclient.Options{URL: a.URL, Files: []string{file}})
	require.NoError(t, err)
	require.True(t, summary.OK())
	require.Equal(t, 2, summary.Accepted)
	require.Equal(t, []ingestclient.Rejection{
		{File: file, Line: 2, Reason: `member "paylod" was ignored`},
		{File: file, Line: 2, Reason: `member "sorce" was ignored`},
	}, summary.Ignored)

	var out bytes.Buffer
	summary.Write(&out)
	require.Contains(t, out.String(), file+`:2: warning: member "paylod" was ignored`)
}

// TestIngestCLIRejectsInvalidUTF8Line sends a file of five events, one of
// which has a payload string in Latin-1. Only that line is rejected, with
// the field that contains the bytes, and the other four are stored.
func TestIngestCLIRejectsInvalidUTF8Line(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	lines := make([]string, 5)
	for i := range lines {
		lines[i] = fmt.Sprintf(`{"event_type":"e","source":"utf8-cli","payload":{"n":%d}}`, i)
	}
	lines[2] = "{\"event_type\":\"e\",\"source\":\"utf8-cli\",\"payload\":{\"city\":\"Z\xfcrich\"}}"

	file := filepath.Join(t.TempDir(), "latin1.ndjson")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600))

	summary, err := ingestclient.Run(context.Background(), ingestclient.Options{URL: a.URL, Files: []string{file}})
	require.NoError(t, err)

	offset := len(`{"event_type":"e","source":"utf8-cli","payload":{"city":"Z`)
	reason := fmt.Sprintf("payload.city: is not valid UTF-8 (byte 0xFC at offset %d of the event)", offset)
	require.Equal(t, []ingestclient.Rejection{{File: file, Line: 3, Reason: reason}}, summary.Rejections)
	require.Equal(t, 5, summary.Sent)
	require.Equal(t, 4, summary.Accepted)
	require.Equal(t, 1, summary.Rejected)

	waitForEvents(t, a, 4)
	require.Equal(t, 4, a.Count("SELECT count(*) FROM events WHERE source = 'utf8-cli' AND payload::jsonb ? 'n'"))
	require.Equal(t, 0, a.Count("SELECT count(*) FROM events WHERE payload::jsonb ? 'city'"))
}

// ingestLineOfSize returns an event line of exactly size bytes.
func ingestLineOfSize(t *testing.T, source string, size int) string {
	t.Helper()

	head, tail := `{"event_type":"big","source":"`+source+`","payload":{"text":"`, `"}}`
	require.GreaterOrEqual(t, size, len(head)+len(tail))

	return head + strings.Repeat("x", size-len(head)-len(tail)) + tail
}

// TestIngestCLILineLimitMatchesServer sends the longest line that
// eventpulse ingest accepts to a server with the default body limit and to
// one with a lower limit. The server stores each, and the line one byte
// longer is rejected without being sent.
func TestIngestCLILineLimitMatchesServer(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name         string
		maxBodyBytes int64
	}{
		{name: "default", maxBodyBytes: config.MaxBodyBytesDefault},
		{name: "lowered", maxBodyBytes: 4096},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			a := testapp.Start(t, testapp.Options{Config: func(c *config.Config) { c.MaxBodyBytes = tc.maxBodyBytes }})
			longest := int(tc.maxBodyBytes) - 2
			file := filepath.Join(t.TempDir(), "long.ndjson")
			content := ingestLineOfSize(t, "too-long", longest+1) + "\n" + ingestLineOfSize(t, "longest", longest) + "\n"
			require.NoError(t, os.WriteFile(file, []byte(content), 0o600))

			summary, err := ingestclient.Run(context.Background(), ingestclient.Options{
				URL: a.URL, Files: []string{file}, MaxBodyBytes: tc.maxBodyBytes,
			})
			require.NoError(t, err)

			require.Equal(t, 1, summary.Accepted)
			require.Equal(t, 1, summary.Sent)
			require.Len(t, summary.Rejections, 1)
			require.Equal(t, 1, summary.Rejections[0].Line)
			require.Contains(t, summary.Rejections[0].Reason, "line is longer than "+strconv.Itoa(longest)+" bytes")

			waitForEvents(t, a, 1)
			require.Equal(t, 1, a.Count(`SELECT count(*) FROM events WHERE source = 'longest'`))
		})
	}
}
