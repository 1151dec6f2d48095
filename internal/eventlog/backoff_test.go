package eventlog

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
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

func TestBackoffCanceledQueryLogsInfo(t *testing.T) {
	backoff := stopAwareBackoff{wsql.NewDefaultBackoffManager(25*time.Millisecond, time.Second)}
	logger := &levelRecorder{}

	wait := backoff.HandleError(logger, false,
		fmt.Errorf("could not get args for acking the message: %w", fmt.Errorf("timeout: %w", context.Canceled)))
	require.Zero(t, wait)
	require.Equal(t, []string{"info"}, logger.levels)

	wait = backoff.HandleError(logger, false, errors.New("connection refused"))
	require.Equal(t, time.Second, wait, "other errors keep the retry interval")
	require.Equal(t, []string{"info", "error"}, logger.levels)
}
