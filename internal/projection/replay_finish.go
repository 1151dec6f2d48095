package projection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// moveOffset sets the live projector's offset to the replay's last record,
// so the live projector continues after it. A replay that read no record,
// or of a projector that keeps its offset (OffsetKeeper), leaves the offset
// alone.
func (r *replay) moveOffset(ctx context.Context, tx pgx.Tx, group string) error {
	if keeper, ok := r.config.Projector.(OffsetKeeper); ok && keeper.KeepsOffset() {
		return nil
	}

	if r.state.RecordsRead == 0 {
		return nil
	}

	_, err := tx.Exec(ctx, `
		INSERT INTO event_log_offsets (consumer_group, offset_acked, last_processed_transaction_id)
		VALUES ($1, $2, $3::text::xid8)
		ON CONFLICT (consumer_group) DO UPDATE SET
			offset_acked = excluded.offset_acked,
			last_processed_transaction_id = excluded.last_processed_transaction_id`,
		group, r.state.Position.Offset, strconv.FormatUint(r.state.Position.TransactionID, 10))
	if err != nil {
		return fmt.Errorf("error moving the offset of %q to %d: %w", group, r.state.Position.Offset, err)
	}

	return nil
}

// finish records why the replay stopped. The position stays the one of
// the last committed batch, which is where the next run resumes.
func (r *replay) finish(ctx context.Context, pool *pgxpool.Pool, cause error) {
	status := ReplayFailed
	if ctx.Err() != nil && errors.Is(cause, ctx.Err()) {
		status = ReplayInterrupted
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()

	_, err := pool.Exec(ctx, `
		UPDATE projection_replays SET status = $3, error = $4, updated_at = now()
		WHERE projection = $1 AND job_id = $2`,
		r.name, r.state.JobID, status, cause.Error())
	if err != nil {
		r.config.Logger.ErrorContext(ctx, "replay: error saving the replay status",
			slog.String("projection", r.name), slog.Any("error", err))
	}

	stored, found, err := LoadReplayState(ctx, pool, r.name)
	if err == nil && found {
		r.state = stored
	}

	level := slog.LevelError
	if status == ReplayInterrupted {
		level = slog.LevelInfo
	}

	r.config.Logger.Log(ctx, level, "replay: stopped", slog.String("projection", r.name),
		slog.String("job_id", r.state.JobID.String()), slog.String("status", status),
		slog.Int64("position", r.state.Position.Offset), slog.Any("error", cause))
}

// progress returns the replay's state with the rate of this run.
func (r *replay) progress() ReplayProgress {
	progress := ReplayProgress{ReplayState: r.state}

	elapsed := time.Since(r.runStart).Seconds()
	read := r.state.RecordsRead - r.runFirst
	if elapsed <= 0 || read <= 0 {
		return progress
	}

	progress.Rate = float64(read) / elapsed
	left := r.state.RecordsTotal - r.state.RecordsRead
	if left > 0 {
		progress.Remaining = time.Duration(float64(left) / progress.Rate * float64(time.Second))
	}

	return progress
}
