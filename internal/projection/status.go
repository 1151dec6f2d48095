package projection

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// statusFailureTimeout bounds the write of a projector's last error.
const statusFailureTimeout = 30 * time.Second

// recordAdvanced stores in tx that group applied a record now, so the time
// commits with the offset. Both this time and a failure's come from the
// process clock, not from now(), which is when the transaction began and
// may precede the failures retried within it.
func recordAdvanced(ctx context.Context, tx pgx.Tx, group string) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO projection_status (consumer_group, last_advanced_at) VALUES ($1, $2)
		ON CONFLICT (consumer_group) DO UPDATE SET last_advanced_at = excluded.last_advanced_at`,
		group, time.Now())
	if err != nil {
		return fmt.Errorf("error recording the progress of %q: %w", group, err)
	}

	return nil
}

// recordFailure stores cause as group's last error outside the failed
// transaction, which rolls back. It writes projection_errors, which the
// projector's transaction never writes, so the two cannot conflict.
func recordFailure(pool *pgxpool.Pool, group string, cause error, logger *slog.Logger) {
	failedAt := time.Now()

	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), statusFailureTimeout)
		defer cancel()

		_, err := pool.Exec(ctx, `
			INSERT INTO projection_errors (consumer_group, last_error, last_error_at) VALUES ($1, $2, $3)
			ON CONFLICT (consumer_group) DO UPDATE SET
				last_error = excluded.last_error, last_error_at = excluded.last_error_at
			WHERE projection_errors.last_error_at < excluded.last_error_at`,
			group, cause.Error(), failedAt)
		if err != nil {
			logger.Warn("projection: error recording a failure", slog.Any("error", err))
		}
	}()
}
