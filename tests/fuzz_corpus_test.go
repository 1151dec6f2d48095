package tests

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/ingest"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// readCorpus returns the inputs of the committed fuzz corpus of target.
func readCorpus(t *testing.T, target string) [][]byte {
	t.Helper()

	paths, err := filepath.Glob(filepath.Join("..", "internal", "ingest", "testdata", "fuzz", target, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "corpus of %s", target)

	inputs := make([][]byte, 0, len(paths))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		require.NoError(t, err)

		header, value, ok := strings.Cut(string(data), "\n")
		require.True(t, ok && header == "go test fuzz v1", "%s is not a fuzz corpus file", path)

		quoted, ok := strings.CutPrefix(strings.TrimSpace(value), "[]byte(")
		require.True(t, ok, "%s does not hold one []byte", path)

		input, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
		require.NoError(t, err, path)

		inputs = append(inputs, []byte(input))
	}

	return inputs
}

// TestFuzzCorpusFitsJSONB checks that PostgreSQL stores every event the
// decoder accepts from the fuzz corpus: payload and metadata as jsonb,
// names as text.
func TestFuzzCorpusFitsJSONB(t *testing.T) {
	t.Parallel()

	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testapp.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	receivedAt := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	var accepted []events.IngestedEvent

	for _, input := range readCorpus(t, "FuzzDecodeEvent") {
		if event, _, err := ingest.DecodeEvent(input, receivedAt); err == nil {
			accepted = append(accepted, event)
		}
	}

	for _, input := range readCorpus(t, "FuzzDecodeBatch") {
		if batch, _, err := ingest.DecodeBatch(input, receivedAt); err == nil {
			accepted = append(accepted, batch...)
		}
	}

	require.NotEmpty(t, accepted, "the corpus holds accepted events")

	for _, event := range accepted {
		var payload, metadata []byte
		var eventType, source string

		err := pool.QueryRow(ctx, `SELECT $1::jsonb::text, $2::jsonb::text, $3::text, $4::text`,
			string(event.Payload), string(event.Metadata), event.EventType, event.Source).
			Scan(&payload, &metadata, &eventType, &source)
		require.NoError(t, err, "payload %s, metadata %s", event.Payload, event.Metadata)
		require.Equal(t, event.EventType, eventType)
		require.Equal(t, event.Source, source)
		require.True(t, bytes.HasPrefix(payload, []byte("{")), "payload %s", payload)
	}
}
