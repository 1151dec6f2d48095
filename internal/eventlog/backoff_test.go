package eventlog

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// levelRecorder records the level of each line logged through it.
type levelRecorder struct {
	watermill.NopLogger
	levels []string
}

func (r *levelRecorder) Error(string, error, watermill.LogFields) {
	r.levels = append(r.levels, "error")
}
func (r *levelRecorder) Info(string, watermill.LogFields) { r.levels = append(r.levels, "info") }

func newTestBackoff(batch *batchCount) *gatheringBackoff {
	return &gatheringBackoff{
		closed:         make(chan struct{}),
		BackoffManager: wsql.NewDefaultBackoffManager(25*time.Millisecond, time.Second),
		batch:          batch,
		batchSize:      100,
		batchBytes:     SubscribeBatchBytes,
		pollInterval:   25 * time.Millisecond,
	}
}

func TestBackoffCanceledQueryLogsInfo(t *testing.T) {
	backoff := newTestBackoff(&batchCount{})
	logger := &levelRecorder{}

	wait := backoff.HandleError(logger, false,
		fmt.Errorf("could not get args for acking the message: %w", fmt.Errorf("timeout: %w", context.Canceled)))
	require.Zero(t, wait)
	require.Equal(t, []string{"info"}, logger.levels)

	wait = backoff.HandleError(logger, false, errors.New("connection refused"))
	require.Equal(t, time.Second, wait, "other errors keep the retry interval")
	require.Equal(t, []string{"info", "error"}, logger.levels)
}

func TestBackoffWaitsAfterShortBatch(t *testing.T) {
	batch := &batchCount{}
	backoff := newTestBackoff(batch)
	logger := &levelRecorder{}

	for range 3 {
		batch.add(1000)
	}
	require.Equal(t, 25*time.Millisecond, backoff.HandleError(logger, false, nil),
		"a batch of 3 small records held every record there was")

	for range 100 {
		batch.add(1000)
	}
	require.Zero(t, backoff.HandleError(logger, false, nil), "a full batch is followed at once")

	for range 10 {
		batch.add(SubscribeBatchBytes / 8)
	}
	require.Zero(t, backoff.HandleError(logger, false, nil), "a batch that may have been cut by size is followed at once")

	require.Equal(t, 25*time.Millisecond, backoff.HandleError(logger, true, nil), "an empty query waits the poll interval")

	batch.add(10)
	require.Equal(t, time.Second, backoff.HandleError(logger, false, errors.New("connection refused")),
		"a failed query waits the retry interval")

	records, bytes := batch.take()
	require.Zero(t, records, "each call starts the count of the next batch")
	require.Zero(t, bytes)
	require.Empty(t, logger.levels[:len(logger.levels)-1])
}

func TestClosedConnLoggerLowersClosedConnection(t *testing.T) {
	recorder := &levelRecorder{}
	logger := closedConnLogger{recorder}

	logger.Error("could not commit tx for querying message", fmt.Errorf("commit: %w", pgconn.ErrConnClosed), nil)
	require.Equal(t, []string{"info"}, recorder.levels)

	logger.Error("could not commit tx for querying message", context.Canceled, nil)
	require.Equal(t, []string{"info", "info"}, recorder.levels)

	logger.Error("could not commit tx for querying message", errors.New("connection refused"), nil)
	require.Equal(t, []string{"info", "info", "error"}, recorder.levels, "other errors stay errors")

	with := logger.With(watermill.LogFields{"consumer_group": "projection.events"})
	require.IsType(t, closedConnLogger{}, with, "loggers derived with fields keep the lowering")
}

func TestBackoffWaitsForWake(t *testing.T) {
	batch := &batchCount{}
	wake := make(chan struct{}, 1)
	backoff := newTestBackoff(batch)
	backoff.wake = wake
	backoff.idlePoll = time.Hour
	logger := &levelRecorder{}

	for range 100 {
		batch.add(1000)
	}
	require.Zero(t, backoff.HandleError(logger, false, nil), "a full batch is followed at once")

	waited := make(chan time.Duration, 1)
	go func() { waited <- backoff.HandleError(logger, true, nil) }()

	select {
	case <-waited:
		t.Fatal("an empty query returned before a wake")
	case <-time.After(100 * time.Millisecond):
	}

	wake <- struct{}{}
	require.Zero(t, <-waited, "a wake starts the next query at once")

	for i := range quickPollsAfterWake {
		require.Equal(t, 25*time.Millisecond, backoff.HandleError(logger, true, nil),
			"query %d after a wake waits the poll interval", i)
	}

	backoff.idlePoll = 20 * time.Millisecond
	start := time.Now()
	require.Zero(t, backoff.HandleError(logger, true, nil), "the idle poll interval ends the wait")
	require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
	require.Empty(t, logger.levels)
}
