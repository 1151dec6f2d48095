package projection

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Replay statuses, as stored in projection_replays.status.
const (
	ReplayRunning     = "running"
	ReplayInterrupted = "interrupted"
	ReplayFailed      = "failed"
	ReplayCompleted   = "completed"
)

// ReplayState is the stored state of a projection's latest replay.
type ReplayState struct {
	Projection string
	JobID      uuid.UUID
	// Status is ReplayRunning, ReplayInterrupted, ReplayFailed or
	// ReplayCompleted. A replay stored as running whose process died reads
	// as running until ReplayActive reports otherwise.
	Status string
	// FromOffset is the offset above which records are replayed.
	FromOffset int64
	// Position is the last record read into the copy.
	Position       Position
	RecordsRead    int64
	RecordsApplied int64
	// RecordsTotal is RecordsRead plus the records left to read, counted
	// when the replay last started or resumed.
	RecordsTotal int64
	Error        string
	StartedAt    time.Time
	UpdatedAt    time.Time
	FinishedAt   time.Time
}

// LoadReplayState returns the latest replay of projection, or ok false
// when it was never replayed.
func LoadReplayState(ctx context.Context, db Querier, projection string) (ReplayState, bool, error) {
	var state ReplayState
	var transactionID string
	var errorText *string
	var finishedAt *time.Time

	err := db.QueryRow(ctx, `
		SELECT projection, job_id, status, from_offset, position_offset,
			position_transaction_id::text, records_read, records_applied, records_total,
			error, started_at, updated_at, finished_at
		FROM projection_replays WHERE projection = $1`, projection).Scan(
		&state.Projection, &state.JobID, &state.Status, &state.FromOffset, &state.Position.Offset,
		&transactionID, &state.RecordsRead, &state.RecordsApplied, &state.RecordsTotal,
		&errorText, &state.StartedAt, &state.UpdatedAt, &finishedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return state, false, nil
	}
	if err != nil {
		return state, false, fmt.Errorf("error reading the replay state of %q: %w", projection, err)
	}

	state.Position.TransactionID, err = strconv.ParseUint(transactionID, 10, 64)
	if err != nil {
		return state, false, fmt.Errorf("error parsing the replay position of %q: %w", projection, err)
	}

	if errorText != nil {
		state.Error = *errorText
	}

	if finishedAt != nil {
		state.FinishedAt = *finishedAt
	}

	return state, true, nil
}

// Querier is what LoadReplayState needs: a pool, a connection or a
// transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// saveReplayState writes every field of state.
func saveReplayState(ctx context.Context, tx pgx.Tx, state ReplayState) error {
	var errorText *string
	if state.Error != "" {
		errorText = &state.Error
	}

	var finishedAt *time.Time
	if !state.FinishedAt.IsZero() {
		finishedAt = &state.FinishedAt
	}

	_, err := tx.Exec(ctx, `
		INSERT INTO projection_replays (projection, job_id, status, from_offset, position_offset,
			position_transaction_id, records_read, records_applied, records_total, error,
			started_at, updated_at, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6::text::xid8, $7, $8, $9, $10, $11, now(), $12)
		ON CONFLICT (projection) DO UPDATE SET
			job_id = excluded.job_id, status = excluded.status, from_offset = excluded.from_offset,
			position_offset = excluded.position_offset,
			position_transaction_id = excluded.position_transaction_id,
			records_read = excluded.records_read, records_applied = excluded.records_applied,
			records_total = excluded.records_total, error = excluded.error,
			started_at = excluded.started_at, updated_at = now(), finished_at = excluded.finished_at`,
		state.Projection, state.JobID, state.Status, state.FromOffset, state.Position.Offset,
		strconv.FormatUint(state.Position.TransactionID, 10), state.RecordsRead,
		state.RecordsApplied, state.RecordsTotal, errorText, state.StartedAt, finishedAt)
	if err != nil {
		return fmt.Errorf("error saving the replay state of %q: %w", state.Projection, err)
	}

	return nil
}

// replayLockNamespace is hashed into the first key of the advisory locks
// that keep replays of one projection from running at once. The second key
// is hashtext(projection).
const replayLockNamespace = "eventpulse.replay"

// ReplayActive reports whether a replay of projection holds its lock in
// any process.
func ReplayActive(ctx context.Context, db Querier, projection string) (bool, error) {
	var active bool

	err := db.QueryRow(ctx, `
		SELECT EXISTS (
			SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND objsubid = 2
				AND classid = hashtext($1)::oid AND objid = hashtext($2)::oid
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`,
		replayLockNamespace, projection).Scan(&active)
	if err != nil {
		return false, fmt.Errorf("error checking for a replay of %q: %w", projection, err)
	}

	return active, nil
}
