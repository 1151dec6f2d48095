package tests

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
